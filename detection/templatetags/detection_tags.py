"""The detection panel of the document page: start a run, follow its progress, download its outputs."""

from django import template
from django.conf import settings

from annotations.access import ROLE_RANK, corpus_role
from annotations.models import CorpusRole
from detection.selectors import model_listing

register = template.Library()


@register.inclusion_tag("detection/run_panel.html", takes_context=True)
def detection_panel(context, document):
    """The "Detect faces" form (curators only) and the document's latest runs, updated live by runs.js."""
    user = context["request"].user
    role = corpus_role(user, document.corpus)
    listing = model_listing(user=user)
    default = next(
        (d for d in listing["detectors"] if d["name"] == listing["default_detector"]), listing["detectors"][0]
    )
    return {
        "document": document,
        "can_curate": role is not None and ROLE_RANK[role] >= ROLE_RANK[CorpusRole.CURATOR],
        "detection_enabled": settings.DETECTION_ENABLED,
        "detectors": listing["detectors"],
        "default_detector": default,
        "csrf_token": context.get("csrf_token"),
    }

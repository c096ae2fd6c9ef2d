"""The detection panel of the document page: start a run, follow its progress, download its outputs."""

from django import template
from django.conf import settings

from annotations.access import corpus_role, role_at_least
from annotations.models import CorpusRole
from detection.selectors import model_listing

register = template.Library()


@register.inclusion_tag("detection/run_panel.html", takes_context=True)
def detection_panel(context, document):
    """The "Detect faces" form (curators only) and the document's latest runs, updated live by runs.js."""
    from detection.model_loop.training import trained_models_register

    user = context["request"].user
    role = corpus_role(user, document.corpus)
    # Models activated since this process started are offered too.
    trained_models_register()
    listing = model_listing(user=user)
    default = next(
        (d for d in listing["detectors"] if d["name"] == listing["default_detector"]), listing["detectors"][0]
    )
    return {
        "document": document,
        "can_curate": role_at_least(role, CorpusRole.CURATOR),
        "detection_enabled": settings.DETECTION_ENABLED,
        "detectors": listing["detectors"],
        "default_detector": default,
        "attribute_models": listing["attribute_models"],
        "default_attribute_model": listing["default_attribute_model"],
        "default_max_face_share": settings.DETECTION_MAX_FACE_SHARE,
        "csrf_token": context.get("csrf_token"),
    }

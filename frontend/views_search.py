"""Search and statistics pages: the form and the results are driven by the query string, read by JS."""

from django.shortcuts import render
from django.utils.translation import gettext_lazy as _

from annotations.access import corpora_visible_to
from annotations.models import CURATOR_SOURCE, ReviewStatus
from annotations.search.params import PAGE_ORDERINGS, SOURCE_MODEL


def _form_context(request) -> dict:
    return {
        "corpora": corpora_visible_to(request.user).order_by("name"),
        "review_statuses": ReviewStatus.choices,
        "sources": [(CURATOR_SOURCE, _("Curated")), (SOURCE_MODEL, _("Model only"))],
        "orderings": list(PAGE_ORDERINGS),
    }


def search(request):
    return render(request, "frontend/search.html", _form_context(request))


def stats(request):
    return render(request, "frontend/stats.html", _form_context(request))

"""Exports page: request an export (a plain form POST) and follow the user's exports as they build."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.core.exceptions import ValidationError as DjangoValidationError
from django.http import Http404
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from rest_framework.exceptions import ValidationError

from annotations import selectors
from annotations.access import corpora_visible_to, dataset_imports_of_user, exports_visible_to
from annotations.exports.api import ExportInputSerializer, export_scope_from
from annotations.exports.services import export_create
from annotations.models import ExportKind, ReviewStatus
from frontend.query import DocumentQuery, page_takes_query
from webapp.exceptions import validation_error_text
from webapp.throttling import throttle_writes

# The exports listed on the page; older ones stay reachable through GET /api/exports/.
EXPORTS_LISTED = 50
# The user's dataset imports listed on the page, so that a report outlives the page that started it.
DATASET_IMPORTS_LISTED = 10


@login_required
@throttle_writes("expensive")
@page_takes_query(DocumentQuery)
def exports(request, query):
    if request.method == "POST":
        return _request_export(request)
    return render(
        request,
        "frontend/exports.html",
        {
            "exports": exports_visible_to(request.user).order_by("-created_at", "-id")[:EXPORTS_LISTED],
            "dataset_imports": dataset_imports_of_user(request.user, limit=DATASET_IMPORTS_LISTED),
            "corpora": corpora_visible_to(request.user).order_by("name"),
            "documents": selectors.document_list(user=request.user),
            "kinds": ExportKind.choices,
            "review_statuses": ReviewStatus.choices,
            "selected_document": query["document"],
        },
    )


def _request_export(request):
    payload = ExportInputSerializer(data=request.POST)
    try:
        payload.is_valid(raise_exception=True)
        export = export_create(
            user=request.user,
            kind=payload.validated_data["kind"],
            scope=export_scope_from(request.POST),
            options=payload.options(),
            base_url=request.build_absolute_uri("/"),
        )
    except ValidationError as exc:
        messages.error(request, _("Export refused: %(reason)s") % {"reason": validation_error_text(exc.detail)})
    except DjangoValidationError as exc:
        messages.error(request, _("Export refused: %(reason)s") % {"reason": "; ".join(exc.messages)})
    except (PermissionDenied, Http404) as exc:
        messages.error(request, _("Export refused: %(reason)s") % {"reason": exc})
    else:
        messages.info(request, _("Export %(id)s queued: this page follows its progress.") % {"id": export.pk})
    return redirect("exports")

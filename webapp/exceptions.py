"""The API's exception handler: DRF's, plus the version conflicts of a face write, a page's review status
or a corpus's settings and members answered as 409."""

from django.utils.translation import gettext as _
from rest_framework import status
from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_exception_handler

from annotations.serializers import CorpusSerializer, PageDetailSerializer, curator_names_context, face_representation
from annotations.services import CorpusAccessConflict, FaceConflict, PageReviewConflict


def exception_handler(exc: Exception, context: dict) -> Response | None:
    """FaceConflict: 409 with a message and the face as it is now; a view may word the message
    (`face_conflict_detail`). Anything else: DRF's own handling."""
    if isinstance(exc, FaceConflict):
        detail = getattr(context.get("view"), "face_conflict_detail", None) or _(
            "This face was changed by someone else; reload it before editing."
        )
        return Response(
            {
                "detail": str(detail),
                "face": face_representation(exc.face),
            },
            status=status.HTTP_409_CONFLICT,
        )
    if isinstance(exc, PageReviewConflict):
        return Response(
            {
                "detail": _("This page's review status was changed by someone else; it is shown as it is now."),
                "page": PageDetailSerializer(exc.page, context=curator_names_context(context["request"].user)).data,
            },
            status=status.HTTP_409_CONFLICT,
        )
    if isinstance(exc, CorpusAccessConflict):
        return Response(
            {
                "detail": _("This corpus's settings or members were changed by someone else; reload them."),
                "corpus": CorpusSerializer(exc.corpus).data,
            },
            status=status.HTTP_409_CONFLICT,
        )
    return drf_exception_handler(exc, context)


def validation_error_text(detail) -> str:
    """A DRF ValidationError's detail as one line for a web page's message: "field: message; ..."."""
    if isinstance(detail, dict):
        return "; ".join(f"{field}: {validation_error_text(value)}" for field, value in detail.items())
    if isinstance(detail, list):
        return ", ".join(validation_error_text(item) for item in detail)
    return str(detail)

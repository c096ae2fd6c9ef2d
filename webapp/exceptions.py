"""The API's exception handler: DRF's, plus a face write's version conflict answered as 409."""

from django.utils.translation import gettext as _
from rest_framework import status
from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_exception_handler

from annotations.serializers import face_representation
from annotations.services import FaceConflict


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
    return drf_exception_handler(exc, context)

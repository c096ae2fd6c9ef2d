"""Annotation import API: LabelMe, COCO, W3C or IIIF annotation files onto a document's pages."""

from __future__ import annotations

from django.utils.translation import gettext as _
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema
from rest_framework import serializers, status
from rest_framework.parsers import FormParser, MultiPartParser
from rest_framework.permissions import IsAuthenticated
from rest_framework.response import Response
from rest_framework.views import APIView

from annotations.access import get_document_for_user
from annotations.ingest.annotation_files import FACE_SOURCE_PATTERN, IMPORT_FORMATS, annotations_import
from annotations.models import CURATOR_SOURCE, CorpusRole
from annotations.serializers import StrictInputSerializer
from webapp.ids import IdField

# Uploaded annotation files are read into memory whole; zips of LabelMe JSON + JPEGs stay below this.
IMPORT_MAX_BYTES = 512 * 1024 * 1024


class AnnotationImportInputSerializer(StrictInputSerializer):
    file = serializers.FileField()
    document = IdField()
    format = serializers.ChoiceField(choices=IMPORT_FORMATS, default="auto")
    source = serializers.RegexField(
        rf"^{FACE_SOURCE_PATTERN}$",
        default=CURATOR_SOURCE,
        help_text="`curator` (corrections) or the name of the model that produced the faces",
    )

    def validate_file(self, upload):
        if upload.size > IMPORT_MAX_BYTES:
            raise serializers.ValidationError(
                _("The file is over the %(limit)s bytes limit") % {"limit": IMPORT_MAX_BYTES}
            )
        return upload


class AnnotationImportApi(APIView):
    """Import faces from LabelMe / COCO / W3C / IIIF files; 200 when every file went in, 400 with the report if not."""

    throttle_scope = "expensive"

    permission_classes = [IsAuthenticated]
    parser_classes = [MultiPartParser, FormParser]

    @extend_schema(
        request={"multipart/form-data": AnnotationImportInputSerializer},
        responses={200: OpenApiTypes.OBJECT, 400: OpenApiTypes.OBJECT},
    )
    def post(self, request):
        payload = AnnotationImportInputSerializer(data=request.data)
        payload.is_valid(raise_exception=True)
        upload = payload.validated_data["file"]
        report = annotations_import(
            document=get_document_for_user(request.user, payload.validated_data["document"], CorpusRole.CURATOR),
            user=request.user,
            name=upload.name,
            content=upload.read(),
            fmt=payload.validated_data["format"],
            source=payload.validated_data["source"],
        )
        return Response(report.as_dict(), status=status.HTTP_200_OK if report.ok else status.HTTP_400_BAD_REQUEST)

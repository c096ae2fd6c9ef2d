"""Annotation import API: LabelMe, COCO, W3C or IIIF annotation files onto a document's pages, or a dataset
(a zip of LabelMe or COCO files and their images) as new documents of a corpus, imported by a worker."""

from __future__ import annotations

import zipfile

from django.urls import reverse
from django.utils.translation import get_language
from django.utils.translation import gettext as _
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema
from rest_framework import serializers, status
from rest_framework.parsers import FormParser, MultiPartParser
from rest_framework.permissions import IsAuthenticated
from rest_framework.response import Response
from rest_framework.views import APIView

from annotations.access import get_corpus_for_user, get_dataset_import_for_user, get_document_for_user
from annotations.ingest.annotation_files import FACE_SOURCE_PATTERN, IMPORT_FORMATS, annotations_import
from annotations.ingest.dataset_uploads import dataset_upload_queue
from annotations.models import CURATOR_SOURCE, CorpusRole, DatasetImport
from annotations.serializers import StrictInputSerializer
from webapp.ids import IdField
from webapp.query import StrictQueryParameters

# Uploaded annotation files are read into memory whole; zips of LabelMe JSON + JPEGs stay below this.
IMPORT_MAX_BYTES = 512 * 1024 * 1024


class AnnotationImportInputSerializer(StrictInputSerializer):
    file = serializers.FileField()
    document = IdField(required=False, help_text="The document whose pages the files annotate")
    corpus = IdField(
        required=False,
        help_text="Instead of a document: the corpus a dataset (a zip of LabelMe files or COCO files and their images) "
        "comes into as new documents",
    )
    boxes_only = serializers.BooleanField(
        required=False,
        help_text="With corpus: leave out the dataset's gender, child and age (a blind check)",
    )
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

    def validate(self, data):
        if ("document" in data) == ("corpus" in data):
            raise serializers.ValidationError(
                {"document": [_("Name a document or a corpus to import into (one of them).")]}
            )
        if data.get("boxes_only") and "corpus" not in data:
            raise serializers.ValidationError(
                {"boxes_only": [_("Only new documents from a dataset come in without their labels.")]}
            )
        if "corpus" in data:
            if data["format"] not in ("auto", "labelme", "coco"):
                raise serializers.ValidationError(
                    {"format": [_("New documents come from a dataset of LabelMe or COCO files.")]}
                )
            if not data["file"].name.lower().endswith(".zip"):
                raise serializers.ValidationError(
                    {"file": [_("New documents come from a zip of LabelMe or COCO files and their images.")]}
                )
            # Refused here rather than by the worker: a file that is no zip at all is stored and queued for nothing.
            readable = zipfile.is_zipfile(data["file"])
            data["file"].seek(0)
            if not readable:
                raise serializers.ValidationError({"file": [_("not a valid zip file")]})
        return data


class DatasetImportSerializer(serializers.ModelSerializer):
    """A dataset import: its status, and once done the report (`ok`, `documents`, `files`) in the uploader's
    language; a failed one's error in the reader's."""

    error = serializers.SerializerMethodField()
    url = serializers.SerializerMethodField()

    class Meta:
        model = DatasetImport
        fields = [
            "id",
            "corpus",
            "name",
            "source",
            "boxes_only",
            "status",
            "error",
            "report",
            "created_at",
            "finished_at",
            "url",
        ]

    def get_error(self, job: DatasetImport) -> str:
        return job.error_translated()

    def get_url(self, job: DatasetImport) -> str:
        return reverse("api-dataset-import", args=[job.pk])


class AnnotationImportApi(APIView):
    """Import faces from LabelMe / COCO / W3C / IIIF files into a document (200 when every file went in, 400 with
    the report if not), or queue a dataset zip (LabelMe or COCO files and their images) as new documents of a
    corpus (202 with the dataset import to follow at its `url`)."""

    throttle_scope = "expensive"

    permission_classes = [IsAuthenticated]
    parser_classes = [MultiPartParser, FormParser]

    @extend_schema(
        request={"multipart/form-data": AnnotationImportInputSerializer},
        responses={200: OpenApiTypes.OBJECT, 202: DatasetImportSerializer, 400: OpenApiTypes.OBJECT},
    )
    def post(self, request):
        payload = AnnotationImportInputSerializer(data=request.data)
        payload.is_valid(raise_exception=True)
        upload = payload.validated_data["file"]
        if "corpus" in payload.validated_data:
            corpus = get_corpus_for_user(request.user, payload.validated_data["corpus"], CorpusRole.CURATOR)
            job = dataset_upload_queue(
                upload=upload,
                corpus=corpus,
                user=request.user,
                source=payload.validated_data["source"],
                boxes_only=payload.validated_data.get("boxes_only", False),
                language=get_language(),
            )
            return Response(DatasetImportSerializer(job).data, status=status.HTTP_202_ACCEPTED)
        document = get_document_for_user(request.user, payload.validated_data["document"], CorpusRole.CURATOR)
        report = annotations_import(
            document=document,
            user=request.user,
            name=upload.name,
            content=upload.read(),
            fmt=payload.validated_data["format"],
            source=payload.validated_data["source"],
        )
        return Response(report.as_dict(), status=status.HTTP_200_OK if report.ok else status.HTTP_400_BAD_REQUEST)


class DatasetImportApi(StrictQueryParameters, APIView):
    """A dataset import, for the curators of its corpus: its status, then its report."""

    permission_classes = [IsAuthenticated]

    @extend_schema(responses=DatasetImportSerializer)
    def get(self, request, pk: int):
        return Response(DatasetImportSerializer(get_dataset_import_for_user(request.user, pk)).data)

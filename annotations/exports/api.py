"""Export API: create exports, follow them, download their files."""

from __future__ import annotations

import mimetypes
from pathlib import PurePosixPath

from django.core.exceptions import ValidationError as DjangoValidationError
from django.http import FileResponse, Http404, HttpResponse
from django.urls import reverse
from django.utils.translation import gettext as _
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema
from rest_framework import generics, serializers, status
from rest_framework.exceptions import ValidationError
from rest_framework.permissions import IsAuthenticated
from rest_framework.response import Response
from rest_framework.views import APIView

from annotations.access import exports_visible_to, get_export_for_user
from annotations.exports.fields import PAGE_NAMES
from annotations.exports.services import OPTION_KEYS, SCOPE_KEYS, export_create, export_open_member
from annotations.models import Export, ExportKind
from annotations.serializers import StrictInputSerializer
from webapp.jobs import UNCANCELLABLE_STATUS_CHOICES, JobStatus
from webapp.query import StrictQueryParameters


class ExportSerializer(serializers.ModelSerializer):
    download_url = serializers.SerializerMethodField()
    requested_by = serializers.CharField(source="requested_by.get_username", read_only=True, default=None)
    status = serializers.ChoiceField(choices=UNCANCELLABLE_STATUS_CHOICES, required=False)
    error = serializers.SerializerMethodField()

    class Meta:
        model = Export
        fields = [
            "id",
            "kind",
            "scope",
            "options",
            "status",
            "progress_done",
            "progress_total",
            "face_count",
            "error",
            "download_url",
            "requested_by",
            "created_at",
            "started_at",
            "finished_at",
        ]

    def get_error(self, export: Export) -> str:
        """Why it failed, or the pages a finished export skipped, in the request's language."""
        return export.error_translated()

    def get_download_url(self, export: Export) -> str | None:
        if export.status != JobStatus.DONE or not export.file:
            return None
        return reverse("api-export-download", args=[export.pk])


class ExportInputSerializer(StrictInputSerializer):
    """What to export and how; the scope is any search filter (corpus, document, review_status, gender, ...).

    The search filters are validated by the search's own parser when the export is created.
    """

    validated_elsewhere = SCOPE_KEYS

    kind = serializers.ChoiceField(choices=ExportKind.choices)
    include_rejected = serializers.BooleanField(default=False, help_text="Rejected boxes as negatives")
    with_images = serializers.BooleanField(default=True, help_text="LabelMe/COCO: add page JPEGs")
    image_size = serializers.IntegerField(
        required=False, allow_null=True, min_value=64, max_value=10_000, help_text="Longest image side; empty: full"
    )
    format = serializers.ChoiceField(choices=["json", "csv"], default="json", help_text="Index format")
    page_names = serializers.ChoiceField(
        choices=PAGE_NAMES,
        default="ids",
        help_text="LabelMe/COCO file names: d<document>_p<order> (ids), or each page's label where it is a safe, "
        "unrepeated file name, as an imported dataset's pages are (labels)",
    )

    def options(self) -> dict:
        return {key: self.validated_data.get(key) for key in OPTION_KEYS}


def export_scope_from(data) -> dict:
    """The search filters given with an export request (API body or web form)."""
    return {key: data.get(key) for key in SCOPE_KEYS if data.get(key) not in (None, "")}


class ExportListCreateApi(StrictQueryParameters, generics.ListAPIView):
    """The user's exports, newest first; POST requests a new one (202, built in the background)."""

    throttle_scope = "expensive"

    serializer_class = ExportSerializer
    permission_classes = [IsAuthenticated]

    def get_queryset(self):
        return exports_visible_to(self.request.user).select_related("requested_by").order_by("-created_at", "-id")

    @extend_schema(request=ExportInputSerializer, responses={202: ExportSerializer})
    def post(self, request):
        payload = ExportInputSerializer(data=request.data)
        payload.is_valid(raise_exception=True)
        try:
            export = export_create(
                user=request.user,
                kind=payload.validated_data["kind"],
                scope=export_scope_from(request.data),
                options=payload.options(),
                base_url=request.build_absolute_uri("/"),
            )
        except DjangoValidationError as exc:
            raise ValidationError(exc.message_dict) from exc
        return Response(ExportSerializer(export).data, status=status.HTTP_202_ACCEPTED)


class ExportDetailApi(StrictQueryParameters, APIView):
    permission_classes = [IsAuthenticated]

    @extend_schema(responses=ExportSerializer)
    def get(self, request, pk: int):
        return Response(ExportSerializer(get_export_for_user(request.user, pk)).data)


class ExportDownloadApi(StrictQueryParameters, APIView):
    """The export's file, once done; 409 while it is still being built."""

    permission_classes = [IsAuthenticated]

    @extend_schema(responses={200: OpenApiTypes.BINARY, 409: OpenApiTypes.OBJECT})
    def get(self, request, pk: int):
        export = get_export_for_user(request.user, pk)
        if export.status != JobStatus.DONE or not export.file:
            return Response(
                {"detail": _("The export is %(status)s, not ready") % {"status": export.status}},
                status=status.HTTP_409_CONFLICT,
            )
        name = f"visages-export-{export.pk}-{export.kind}{PurePosixPath(export.file.name).suffix}"
        return FileResponse(export.file.open("rb"), as_attachment=True, filename=name)


class ExportFileApi(StrictQueryParameters, APIView):
    """One file inside a zip export: the IIIF manifest copy and the annotation pages it references."""

    permission_classes = [IsAuthenticated]

    @extend_schema(responses={200: OpenApiTypes.BINARY})
    def get(self, request, pk: int, name: str):
        export = get_export_for_user(request.user, pk)
        try:
            body = export_open_member(export=export, name=name)
        except KeyError as exc:
            raise Http404(_("No such file in this export")) from exc
        content_type = "application/ld+json" if name.endswith(".json") else mimetypes.guess_type(name)[0]
        response = HttpResponse(body, content_type=content_type or "application/octet-stream")
        response["Access-Control-Allow-Origin"] = "*"
        return response

"""REST endpoints for detection runs, annotated pages and the model registry (thin: parse, call, serialise)."""

import json
import tempfile

from django.conf import settings
from django.http import FileResponse, HttpResponse
from django.utils.translation import gettext as _
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema
from rest_framework import generics, status
from rest_framework.exceptions import APIException, ValidationError
from rest_framework.renderers import BaseRenderer
from rest_framework.response import Response
from rest_framework.views import APIView

from annotations.access import get_page_for_user
from annotations.exports.face_csv import face_csv_write
from annotations.iiif_server.imaging import ImageUnavailable
from annotations.models import CorpusRole
from annotations.serializers import CuratorNamesToReader, curator_names_context
from detection import selectors
from detection.errors import DetectionRefused
from detection.models import PageDetection
from detection.rendering import page_annotated_jpeg, pages_annotated_zip
from detection.serializers import PageDetectionSerializer, RunDetailSerializer, RunInputSerializer, RunSerializer
from detection.services import run_cancel, run_create, run_retry_failed
from webapp.ids import id_param
from webapp.jobs import JobStatus
from webapp.messages import message_translated
from webapp.query import StrictQueryParameters
from webapp.renderers import JSONRenderer


class _FileRenderer(BaseRenderer):
    """Lets clients ask for the file type; errors still come back as JSON text."""

    charset = None

    def render(self, data, accepted_media_type=None, renderer_context=None):
        return data if isinstance(data, bytes) else json.dumps(data).encode()


class CsvRenderer(_FileRenderer):
    media_type = "text/csv"
    format = "csv"


class JpegRenderer(_FileRenderer):
    media_type = "image/jpeg"
    format = "jpg"


class ImageUnavailableError(APIException):
    status_code = status.HTTP_502_BAD_GATEWAY
    default_code = "image_unavailable"


class RunListCreateApi(CuratorNamesToReader, StrictQueryParameters, generics.ListAPIView):
    """List runs (filter by ?document=, ?corpus=, ?status=); POST starts one (curators)."""

    throttle_scope = "expensive"
    query_parameters = ("document", "corpus", "status")

    serializer_class = RunSerializer

    def get_queryset(self):
        params = self.request.query_params
        return selectors.run_list(
            user=self.request.user,
            document_id=id_param(params, "document"),
            corpus_id=id_param(params, "corpus"),
            status=_status_param(params),
        )

    def post(self, request):
        payload = RunInputSerializer(data=request.data)
        payload.is_valid(raise_exception=True)
        data = payload.validated_data
        scope = selectors.run_scope_for_user(
            request.user, document_id=data.get("document"), corpus_id=data.get("corpus"), page_ids=data.get("pages")
        )
        try:
            run = run_create(
                user=request.user,
                **scope,
                detector=data.get("detector"),
                threshold=data.get("threshold"),
                tiling=data.get("tiling"),
                attribute_model=data.get("attribute_model"),
                max_face_share=data.get("max_face_share"),
                turned_faces=data["turned_faces"],
            )
        except DetectionRefused as exc:
            raise ValidationError({"detail": message_translated(exc.message)}) from exc
        return Response(
            RunDetailSerializer(run, context=curator_names_context(request.user)).data, status=status.HTTP_201_CREATED
        )


def _status_param(params) -> str | None:
    """?status=: one of the job statuses, None when absent or empty; a 400 naming it otherwise."""
    value = params.get("status", "")
    if value and value not in JobStatus.values:
        known = ", ".join(JobStatus.values)
        raise ValidationError(
            {"status": [_("Unknown status %(unknown)s; use %(known)s.") % {"unknown": value, "known": known}]}
        )
    return value or None


class RunDetailApi(StrictQueryParameters, APIView):
    @extend_schema(responses=RunDetailSerializer)
    def get(self, request, pk: int):
        return Response(
            RunDetailSerializer(
                selectors.get_run_for_user(request.user, pk), context=curator_names_context(request.user)
            ).data
        )


class RunCancelApi(APIView):
    @extend_schema(request=None, responses=RunDetailSerializer)
    def post(self, request, pk: int):
        run = run_cancel(run=selectors.get_run_for_user(request.user, pk, CorpusRole.CURATOR))
        return Response(RunDetailSerializer(run, context=curator_names_context(request.user)).data)


class RunRetryApi(APIView):
    """Queue the failed (or abandoned) pages of a run again."""

    @extend_schema(request=None, responses={202: RunDetailSerializer})
    def post(self, request, pk: int):
        run = selectors.get_run_for_user(request.user, pk, CorpusRole.CURATOR)
        try:
            run_retry_failed(run=run)
        except DetectionRefused as exc:
            raise ValidationError({"detail": message_translated(exc.message)}) from exc
        run.refresh_from_db()
        return Response(
            RunDetailSerializer(run, context=curator_names_context(request.user)).data, status=status.HTTP_202_ACCEPTED
        )


class RunPagesApi(StrictQueryParameters, generics.ListAPIView):
    """A run's pages with their state, timings and errors."""

    serializer_class = PageDetectionSerializer
    # The schema's model (the pages are the run's, from get_queryset).
    queryset = PageDetection.objects.none()

    def get_queryset(self):
        return selectors.run_page_tasks(run=selectors.get_run_for_user(self.request.user, self.kwargs["pk"]))


class RunFacesCsvApi(StrictQueryParameters, APIView):
    """One CSV row per face the run found (with its current review status)."""

    renderer_classes = [JSONRenderer, CsvRenderer]

    @extend_schema(responses={(200, "text/csv"): OpenApiTypes.STR})
    def get(self, request, pk: int):
        run = selectors.get_run_for_user(request.user, pk)
        response = HttpResponse(content_type="text/csv; charset=utf-8")
        response["Content-Disposition"] = f'attachment; filename="run-{run.pk}-faces.csv"'
        face_csv_write(response, selectors.run_faces(run=run).iterator(), base_url=request.build_absolute_uri("/"))
        return response


class PageAnnotatedApi(StrictQueryParameters, APIView):
    """The page as a JPEG with its faces boxed and labelled (gender, age, confidence)."""

    renderer_classes = [JSONRenderer, JpegRenderer]

    @extend_schema(responses={(200, "image/jpeg"): OpenApiTypes.BINARY})
    def get(self, request, pk: int):
        page = get_page_for_user(request.user, pk)
        try:
            jpeg = page_annotated_jpeg(
                page=page, faces=selectors.page_faces_drawn(page=page), max_size=settings.DETECTION_MAX_DERIVATIVE
            )
        except ImageUnavailable as exc:
            raise ImageUnavailableError(
                _("The page image is unavailable: %(reason)s") % {"reason": message_translated(exc)}
            ) from exc
        response = HttpResponse(jpeg, content_type="image/jpeg")
        response["Content-Disposition"] = f'inline; filename="page-{page.pk}-annotated.jpg"'
        return response


class ZipRenderer(_FileRenderer):
    media_type = "application/zip"
    format = "zip"


class RunAnnotatedZipApi(StrictQueryParameters, APIView):
    """Every page of the run as an annotated JPEG, in one zip (up to RUN_ANNOTATED_ZIP_MAX_PAGES pages)."""

    renderer_classes = [JSONRenderer, ZipRenderer]

    @extend_schema(responses={(200, "application/zip"): OpenApiTypes.BINARY})
    def get(self, request, pk: int):
        run = selectors.get_run_for_user(request.user, pk)
        pages = selectors.run_pages(run=run)
        if len(pages) > settings.RUN_ANNOTATED_ZIP_MAX_PAGES:
            raise ValidationError(
                {
                    "detail": _(
                        "This run has %(pages)s pages, over the %(limit)s an annotated zip holds: "
                        "request an export instead"
                    )
                    % {"pages": len(pages), "limit": settings.RUN_ANNOTATED_ZIP_MAX_PAGES}
                }
            )
        out = tempfile.SpooledTemporaryFile(max_size=32 * 1024 * 1024)
        pages_annotated_zip(
            pages=pages,
            faces_of=lambda page: selectors.page_faces_drawn(page=page),
            out=out,
            max_size=settings.DETECTION_MAX_DERIVATIVE,
        )
        out.seek(0)
        return FileResponse(
            out, as_attachment=True, filename=f"run-{run.pk}-annotated.zip", content_type="application/zip"
        )


class DetectorListApi(StrictQueryParameters, APIView):
    """The detectors and age/gender models a run may use, with versions, licenses and defaults."""

    @extend_schema(responses=OpenApiTypes.OBJECT)
    def get(self, request):
        return Response(selectors.model_listing(user=request.user))

"""REST endpoints of the model loop: evaluation, training jobs, trained models, similar faces and people."""

from __future__ import annotations

from django.http import Http404
from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema
from rest_framework import generics, serializers, status
from rest_framework.exceptions import ValidationError
from rest_framework.permissions import IsAuthenticated
from rest_framework.response import Response
from rest_framework.views import APIView

from annotations.access import get_corpus_for_user, get_document_for_user, get_face_for_user
from annotations.models import CorpusRole, Face
from annotations.serializers import (
    CURATOR_NAMES,
    CuratorNameField,
    CuratorNamesToReader,
    FaceSerializer,
    StrictInputSerializer,
    curator_names_context,
    version_field,
)
from detection import similarity
from detection.model_loop import evaluation
from detection.model_loop import selectors as model_loop_selectors
from detection.model_loop.inference_jobs import evaluation_job_request, face_encoding_job_request
from detection.model_loop.training import (
    ActivationConflict,
    TrainingRefused,
    trained_model_set_active,
    trained_models_register,
    training_job_cancel,
    training_job_create,
)
from detection.models import InferenceJob, InferenceKind, TrainedModel, TrainingJob, TrainingKind
from detection.selectors import get_run_for_user, model_listing
from webapp.ids import IdField, id_param
from webapp.messages import message_translated
from webapp.query import StrictQueryParameters
from webapp.throttling import anonymous_throttle_check


class RunEvaluationApi(StrictQueryParameters, APIView):
    """A run's stored boxes against the curated faces of its reviewed pages (`?document=` narrows it)."""

    query_parameters = ("document",)

    @extend_schema(responses=OpenApiTypes.OBJECT)
    def get(self, request, pk: int):
        run = get_run_for_user(request.user, pk)
        document_id = id_param(request.query_params, "document")
        document = get_document_for_user(request.user, document_id) if document_id is not None else None
        return Response(evaluation.evaluation_for_run(run=run, document=document).as_dict())


class InferenceJobSerializer(serializers.ModelSerializer):
    url = serializers.SerializerMethodField()
    result = serializers.SerializerMethodField()
    error = serializers.SerializerMethodField()

    class Meta:
        model = InferenceJob
        fields = [
            "id",
            "url",
            "kind",
            "status",
            "progress",
            "document",
            "face",
            "params",
            "result",
            "error",
            "created_at",
            "started_at",
            "finished_at",
        ]

    def get_url(self, job: InferenceJob) -> str:
        return reverse("api-inference-job", args=[job.pk])

    def get_result(self, job: InferenceJob) -> dict | None:
        """What the job found; an evaluation's notes in the request's language."""
        if job.kind == InferenceKind.EVALUATION and isinstance(job.result, dict):
            return evaluation.result_rendered(job.result)
        return job.result

    def get_error(self, job: InferenceJob) -> str:
        """Why it failed, in the request's language."""
        return job.error_translated()


def job_accepted(job: InferenceJob) -> Response:
    """202: the work runs on a worker; poll the job's `url` until its status is done (its `result`) or failed."""
    return Response(InferenceJobSerializer(job).data, status=status.HTTP_202_ACCEPTED)


class InferenceJobApi(StrictQueryParameters, APIView):
    """An inference job (evaluating a detector, encoding a face): its status, progress and result."""

    @extend_schema(responses=InferenceJobSerializer)
    def get(self, request, pk: int):
        return Response(InferenceJobSerializer(model_loop_selectors.get_inference_job_for_user(request.user, pk)).data)


class EvaluationApi(StrictQueryParameters, APIView):
    """Evaluate on a document's reviewed pages: GET reads its latest run's evaluation; POST runs a
    detector afresh on them (curators; 202: a job).

    Running a detector is worker work, so it is a POST (CSRF-checked, throttled as "expensive"):
    a GET naming a detector answers 400 and starts nothing.
    """

    throttle_scope = "expensive"
    # GET takes `document` only: a parameter that would start an evaluation (POST's) answers 400 saying so,
    # any other 400 naming it, never the latest run's evaluation as if it had been read.
    query_parameters = ("document",)
    refused_query_parameters = dict.fromkeys(
        ("detector", "threshold", "attribute_model"),
        gettext_lazy("To evaluate a detector afresh, POST to this URL; GET reads the latest run's evaluation."),
    )

    class EvaluationFilterSerializer(serializers.Serializer):
        document = IdField()

    class EvaluationInputSerializer(StrictInputSerializer):
        document = IdField()
        detector = serializers.CharField(max_length=100)
        threshold = serializers.FloatField(required=False, allow_null=True, default=None, min_value=0.0, max_value=1.0)
        attribute_model = serializers.CharField(required=False, max_length=100, allow_blank=True, default="")

    @extend_schema(parameters=[EvaluationFilterSerializer], responses=OpenApiTypes.OBJECT)
    def get(self, request):
        filters = self.EvaluationFilterSerializer(data=request.query_params)
        filters.is_valid(raise_exception=True)
        document = get_document_for_user(request.user, filters.validated_data["document"])
        run = evaluation.latest_run_for_document(document=document)
        if run is None:
            raise ValidationError(
                {"document": [_("No detection run on this document yet; POST a detector to evaluate it afresh.")]}
            )
        return Response(evaluation.evaluation_for_run(run=run, document=document).as_dict())

    @extend_schema(request=EvaluationInputSerializer, responses={202: InferenceJobSerializer})
    def post(self, request):
        payload = self.EvaluationInputSerializer(data=request.data)
        payload.is_valid(raise_exception=True)
        data = payload.validated_data
        # Running a detector costs worker-grade CPU: curators only, a bounded number of pages, on a worker.
        document = get_document_for_user(request.user, data["document"], CorpusRole.CURATOR)
        try:
            job = evaluation_job_request(
                user=request.user,
                document=document,
                detector=data["detector"],
                threshold=data["threshold"],
                attribute_model=data["attribute_model"],
            )
        except evaluation.EvaluationRefused as exc:
            raise ValidationError({"detector": [message_translated(exc.message)]}) from exc
        return job_accepted(job)


class TrainedModelSerializer(serializers.ModelSerializer):
    registry_name = serializers.CharField(read_only=True)
    created_by = CuratorNameField(user="created_by", corpus_id="corpus_id")
    activation_overridden_by = CuratorNameField(user="activation_overridden_by", corpus_id="corpus_id")
    data_snapshot = serializers.SerializerMethodField()
    activation_reason = serializers.SerializerMethodField()

    class Meta:
        model = TrainedModel
        fields = [
            "id",
            "name",
            "registry_name",
            "kind",
            "version",
            "params",
            "metrics",
            "data_snapshot",
            "file",
            "created_by",
            "created_at",
            "updated_at",
            "is_active",
            "comparison",
            "activation_reason",
            "activation_overridden_by",
        ]

    def get_activation_reason(self, model: TrainedModel) -> str:
        """Why it is (in)active, in the request's language; naming who overrode the rule as the corpus names its
        curators to the reader."""
        names = self.context.get(CURATOR_NAMES)
        return model.activation_reason_translated(overrider_named=names is not None and names.shown(model.corpus_id))

    def get_data_snapshot(self, model: TrainedModel) -> dict:
        # Page id lists can be long: the API gives their sizes, the database keeps them.
        return {
            key: (len(value) if isinstance(value, list) and key.endswith(("page_ids", "_pages")) else value)
            for key, value in model.data_snapshot.items()
        }


class TrainingJobSerializer(serializers.ModelSerializer):
    created_by = CuratorNameField(user="created_by", corpus_id="corpus_id")
    trained_model = TrainedModelSerializer(read_only=True)
    stage = serializers.SerializerMethodField()
    error = serializers.SerializerMethodField()

    class Meta:
        model = TrainingJob
        fields = [
            "id",
            "kind",
            "corpus",
            "document",
            "params",
            "status",
            "progress",
            "stage",
            "metrics",
            "error",
            "cancel_requested",
            "trained_model",
            "created_by",
            "created_at",
            "started_at",
            "finished_at",
        ]

    def get_stage(self, job: TrainingJob) -> str:
        """What it is doing now, in the request's language."""
        return job.stage_translated()

    def get_error(self, job: TrainingJob) -> str:
        """Why it failed, in the request's language."""
        return job.error_translated()


class TrainingJobListCreateApi(CuratorNamesToReader, StrictQueryParameters, generics.ListAPIView):
    """List training jobs (`?corpus=`); POST starts one on a corpus's (or document's) reviewed pages (curators)."""

    throttle_scope = "expensive"
    query_parameters = ("corpus",)

    serializer_class = TrainingJobSerializer

    class TrainingJobInputSerializer(StrictInputSerializer):
        kind = serializers.ChoiceField(choices=TrainingKind.values)
        corpus = IdField(required=False)
        document = IdField(required=False)
        params = serializers.DictField(required=False, default=dict)

        def validate(self, attrs):
            if not attrs.get("corpus") and not attrs.get("document"):
                raise serializers.ValidationError(_("Give a corpus or a document"))
            return attrs

    def get_queryset(self):
        return model_loop_selectors.training_job_list(
            user=self.request.user, corpus_id=id_param(self.request.query_params, "corpus")
        )

    @extend_schema(request=TrainingJobInputSerializer, responses={202: TrainingJobSerializer})
    def post(self, request):
        payload = self.TrainingJobInputSerializer(data=request.data)
        payload.is_valid(raise_exception=True)
        data = payload.validated_data
        document = None
        if data.get("document"):
            document = get_document_for_user(request.user, data["document"], CorpusRole.CURATOR)
        corpus = get_corpus_for_user(request.user, data.get("corpus") or document.corpus_id, CorpusRole.CURATOR)
        try:
            job = training_job_create(
                user=request.user, kind=data["kind"], corpus=corpus, document=document, params=data["params"]
            )
        except TrainingRefused as exc:
            raise ValidationError({"detail": message_translated(exc.message)}) from exc
        return Response(
            TrainingJobSerializer(job, context=curator_names_context(request.user)).data,
            status=status.HTTP_202_ACCEPTED,
        )


class TrainingJobDetailApi(StrictQueryParameters, APIView):
    @extend_schema(responses=TrainingJobSerializer)
    def get(self, request, pk: int):
        job = model_loop_selectors.get_training_job_for_user(request.user, pk)
        return Response(TrainingJobSerializer(job, context=curator_names_context(request.user)).data)


class TrainingJobCancelApi(APIView):
    @extend_schema(request=None, responses=TrainingJobSerializer)
    def post(self, request, pk: int):
        job = model_loop_selectors.get_training_job_for_user(request.user, pk, CorpusRole.CURATOR)
        return Response(
            TrainingJobSerializer(training_job_cancel(job=job), context=curator_names_context(request.user)).data
        )


class ModelListApi(StrictQueryParameters, APIView):
    """Every model a run may select (shipped and trained here), and the trained models' records."""

    @extend_schema(responses=OpenApiTypes.OBJECT)
    def get(self, request):
        trained_models_register()
        trained = model_loop_selectors.trained_model_list(user=request.user)
        return Response(
            {
                **model_listing(user=request.user),
                "trained": TrainedModelSerializer(trained, many=True, context=curator_names_context(request.user)).data,
            }
        )


class ModelActivationApi(APIView):
    """A curator activates or deactivates a trained model against the held-out rule, with a written reason.

    `updated_at` is the model's state the curator decided on: a model changed since answers 409.
    """

    class ActivationInputSerializer(StrictInputSerializer):
        is_active = serializers.BooleanField()
        reason = serializers.CharField(max_length=2000, trim_whitespace=True)
        updated_at = serializers.DateTimeField()

    @extend_schema(request=ActivationInputSerializer, responses={200: TrainedModelSerializer, 409: OpenApiTypes.OBJECT})
    def post(self, request, pk: int):
        model = model_loop_selectors.get_trained_model_for_user(request.user, pk, CorpusRole.CURATOR)
        payload = self.ActivationInputSerializer(data=request.data)
        payload.is_valid(raise_exception=True)
        data = payload.validated_data
        try:
            model = trained_model_set_active(
                model=model,
                user=request.user,
                is_active=data["is_active"],
                reason=data["reason"],
                updated_at=data["updated_at"],
            )
        except ActivationConflict as exc:
            return Response(
                {
                    "detail": _("The model was changed by someone else; reload it before deciding."),
                    "model": TrainedModelSerializer(exc.model, context=curator_names_context(request.user)).data,
                },
                status=status.HTTP_409_CONFLICT,
            )
        except TrainingRefused as exc:
            raise ValidationError({"reason": [message_translated(exc.message)]}) from exc
        return Response(TrainedModelSerializer(model, context=curator_names_context(request.user)).data)


class SimilarFaceSerializer(serializers.Serializer):
    face = FaceSerializer()
    distance = serializers.FloatField()
    same_person_likely = serializers.BooleanField()
    document = serializers.IntegerField(source="face.page.document_id")
    page_order = serializers.IntegerField(source="face.page.order")
    crop_url = serializers.SerializerMethodField()

    def get_crop_url(self, similar: similarity.SimilarFace) -> str:
        return similar.face.page.face_crop_url(similar.face, size=120)


class SimilarFacesApi(StrictQueryParameters, APIView):
    """The faces of the same corpus nearest to this one ("more like this"), and a suggested person.

    A face not encoded yet answers 202 with the job encoding it; ask again once it is done. Anonymous
    visitors start such jobs at ENCODING_ANONYMOUS_RATE_LIMIT per address (then 429).
    """

    encoding_throttled_detail = gettext_lazy(
        "Too many faces to encode from this address: sign in, or look for similar faces again later."
    )
    query_parameters = ("limit",)

    class SimilarFilterSerializer(serializers.Serializer):
        limit = serializers.IntegerField(min_value=1, max_value=100, default=12)

    @extend_schema(
        parameters=[SimilarFilterSerializer], responses={200: OpenApiTypes.OBJECT, 202: InferenceJobSerializer}
    )
    def get(self, request, pk: int):
        face = get_face_for_user(request.user, pk)
        filters = self.SimilarFilterSerializer(data=request.query_params)
        filters.is_valid(raise_exception=True)
        try:
            job = face_encoding_job_request(
                user=request.user,
                face=face,
                before_new_job=lambda: anonymous_throttle_check(
                    request, "encoding-anonymous", detail=self.encoding_throttled_detail
                ),
            )
            if job is not None:
                return job_accepted(job)
            neighbours = similarity.similar_faces(face=face, limit=filters.validated_data["limit"])
        except similarity.NoEncoding as exc:
            return Response({"detail": message_translated(exc.message)}, status=status.HTTP_422_UNPROCESSABLE_ENTITY)
        return Response(
            {
                "face": face.pk,
                "person": face.person_name,
                "person_id": face.person_id,
                "suggested_person": similarity.person_suggestion(neighbours=neighbours),
                "same_person_distance": similarity.FaceEncoder.SAME_PERSON_DISTANCE,
                "results": SimilarFaceSerializer(neighbours, many=True).data,
            }
        )


class FacePersonMatchSerializer(StrictInputSerializer):
    id = IdField()
    version = version_field()


class FacePersonApi(APIView):
    """Name the person on a face, and optionally on suggested matches too (curators; all or none)."""

    face_conflict_detail = gettext_lazy("A face was changed by someone else; reload it before naming it.")

    class FacePersonInputSerializer(StrictInputSerializer):
        person = serializers.CharField(max_length=200, allow_blank=True, trim_whitespace=True)
        version = version_field()
        matches = serializers.ListSerializer(
            child=FacePersonMatchSerializer(), required=False, default=list, max_length=200
        )

    @extend_schema(request=FacePersonInputSerializer, responses=OpenApiTypes.OBJECT)
    def post(self, request, pk: int):
        face = get_face_for_user(request.user, pk, CorpusRole.CURATOR)
        payload = self.FacePersonInputSerializer(data=request.data)
        payload.is_valid(raise_exception=True)
        data = payload.validated_data
        targets = [(face, data["version"])]
        for match in data["matches"]:
            other = get_face_for_user(request.user, match["id"], CorpusRole.CURATOR)
            if other.page.document.corpus_id != face.page.document.corpus_id:
                raise Http404(_("No such face in this corpus"))
            targets.append((other, match["version"]))
        named = similarity.faces_name_person(user=request.user, person=data["person"], faces=targets)
        return Response(
            {
                "person": named[0].person_name,
                "person_id": named[0].person_id,
                "faces": FaceSerializer(named, many=True).data,
            }
        )


class PeopleApi(StrictQueryParameters, generics.ListAPIView):
    """The people of the corpora one may view (`?q=` substring of the name, `?corpus=`), with their number of
    faces, most first: what the face editor's person field offers. Their faces: /people/<id>/ or search's `person`."""

    class PersonSerializer(serializers.Serializer):
        id = serializers.IntegerField()
        corpus = serializers.IntegerField(source="corpus_id")
        person = serializers.CharField(source="name", help_text="The person's name.")
        note = serializers.CharField()
        faces = serializers.IntegerField(source="face_count")

    serializer_class = PersonSerializer
    query_parameters = ("corpus", "q")

    def get_queryset(self):
        params = self.request.query_params
        return similarity.people_list(
            user=self.request.user, corpus_id=id_param(params, "corpus"), query=params.get("q", "")
        )


class EncodingsApi(APIView):
    """Queue the computation of face encodings for a document's faces (curators)."""

    permission_classes = [IsAuthenticated]

    class EncodingsInputSerializer(StrictInputSerializer):
        document = IdField()

    @extend_schema(request=EncodingsInputSerializer, responses={202: OpenApiTypes.OBJECT})
    def post(self, request):
        payload = self.EncodingsInputSerializer(data=request.data)
        payload.is_valid(raise_exception=True)
        document = get_document_for_user(request.user, payload.validated_data["document"], CorpusRole.CURATOR)
        similarity.encodings_queue(document_id=document.pk)
        pending = similarity.faces_missing_encodings(faces=Face.objects.filter(page__document=document)).count()
        return Response({"document": document.pk, "faces_to_encode": pending}, status=status.HTTP_202_ACCEPTED)

"""REST endpoints for corpora, documents and pages (thin: parse, call one service, serialise)."""

import django_filters
from django import forms
from django.core.exceptions import ValidationError as DjangoValidationError
from django.utils.translation import gettext as _
from drf_spectacular.utils import OpenApiResponse, extend_schema, extend_schema_serializer, inline_serializer
from rest_framework import generics, serializers, status
from rest_framework.exceptions import ValidationError
from rest_framework.parsers import FormParser, MultiPartParser
from rest_framework.permissions import IsAuthenticatedOrReadOnly
from rest_framework.response import Response
from rest_framework.views import APIView

from annotations import selectors
from annotations.access import (
    corpora_visible_to,
    corpus_role,
    faces_access_for_user,
    get_corpus_for_user,
    get_corpus_owned_by_user,
    get_document_for_user,
    get_face_for_user,
    get_membership_for_user,
    get_page_for_user,
)
from annotations.ingest.manifests import CorpusNameAmbiguous, ImportFailed, document_import_from_input
from annotations.models import Corpus, CorpusRole, Face, FaceRevision, FaceStatus, Gender, ReviewStatus
from annotations.search.api import SearchPagination, schema_parameters
from annotations.search.params import FACE_ORDERINGS, SearchFilterSet, SearchParams, filters_clean
from annotations.serializers import (
    FACE_STATUS_NOT_SETTABLE,
    AccessVersionInputSerializer,
    CorpusAccessChangeSerializer,
    CorpusDetailSerializer,
    CorpusMemberAddInputSerializer,
    CorpusMemberRoleInputSerializer,
    CorpusMemberSerializer,
    CorpusOwnerInputSerializer,
    CorpusSerializer,
    CorpusUpdateInputSerializer,
    CuratorHiddenField,
    CuratorNameField,
    CuratorNamesToReader,
    DocumentImportInputSerializer,
    DocumentRemoveInputSerializer,
    DocumentSerializer,
    FaceSerializer,
    PageDetailSerializer,
    PageReviewInputSerializer,
    PageSerializer,
    StrictInputSerializer,
    curator_names_context,
    face_representation,
    version_field,
)
from annotations.services import (
    BULK_OUTCOME_CHOICES,
    BulkAction,
    BulkOutcome,
    CorpusAccessRefused,
    CorpusNotEmpty,
    DocumentConflict,
    DocumentRemovalRefused,
    FaceBulkResult,
    corpus_delete,
    corpus_member_remove,
    corpus_member_set,
    corpus_owner_set,
    corpus_update,
    document_remove,
    face_accept,
    face_create,
    face_reject,
    face_revert,
    face_update,
    faces_bulk_set_status,
    faces_bulk_write,
    page_set_review_status,
)
from webapp.ids import IdField, IdFilter, id_param
from webapp.parsers import JSONParser
from webapp.query import StrictQueryParameters


class CorpusListApi(StrictQueryParameters, generics.ListAPIView):
    serializer_class = CorpusSerializer

    def get_queryset(self):
        return corpora_visible_to(self.request.user).order_by("name")


def _corpus_detail(user, corpus: Corpus) -> dict:
    corpus.role = corpus_role(user, corpus)
    return CorpusDetailSerializer(corpus).data


def _access_refused(exc: CorpusAccessRefused) -> ValidationError:
    return ValidationError({exc.field: [exc.message]})


CORPUS_MEMBERS = inline_serializer(
    "CorpusMembers",
    {
        "access_version": serializers.IntegerField(),
        "owner": serializers.CharField(allow_null=True),
        "members": CorpusMemberSerializer(many=True),
    },
)


def _corpus_members(corpus: Corpus) -> dict:
    """The corpus's owner (always its admin) and members, at the access version they were read."""
    return {
        "access_version": corpus.access_version,
        "owner": corpus.owner.get_username() if corpus.owner is not None else None,
        "members": CorpusMemberSerializer(selectors.corpus_members(corpus=corpus), many=True).data,
    }


class CorpusDetailApi(StrictQueryParameters, APIView):
    """Read a corpus, with the reader's role in it; PATCH changes its name, description, visibility or whether
    it names its curators to readers who are not members (`curator_names_public`) (admins); DELETE deletes it
    once it is empty (its owner).

    A change names the `access_version` its writer read; a change made meanwhile answers 409 with the
    corpus as it is now. Each change is recorded (`access-history/`).
    """

    permission_classes = [IsAuthenticatedOrReadOnly]

    @extend_schema(responses=CorpusDetailSerializer)
    def get(self, request, pk: int):
        return Response(_corpus_detail(request.user, get_corpus_for_user(request.user, pk)))

    @extend_schema(request=CorpusUpdateInputSerializer, responses=CorpusDetailSerializer)
    def patch(self, request, pk: int):
        corpus = get_corpus_for_user(request.user, pk, CorpusRole.ADMIN)
        payload = CorpusUpdateInputSerializer(data=request.data)
        payload.is_valid(raise_exception=True)
        changes = dict(payload.validated_data)
        access_version = changes.pop("access_version")
        try:
            corpus = corpus_update(corpus=corpus, user=request.user, access_version=access_version, changes=changes)
        except CorpusAccessRefused as exc:
            raise _access_refused(exc) from exc
        return Response(_corpus_detail(request.user, corpus))

    @extend_schema(
        request=AccessVersionInputSerializer,
        responses={
            204: None,
            409: OpenApiResponse(
                description="It still holds documents, trained models or training jobs (`holdings`), or it "
                "changed since it was read (`corpus`, as it is now); nothing deleted."
            ),
        },
    )
    def delete(self, request, pk: int):
        """Delete an empty corpus (its owner, or an operator)."""
        corpus = get_corpus_owned_by_user(request.user, pk)
        # DELETE bodies are often dropped by proxies, so the version may also come as ?access_version=.
        payload = AccessVersionInputSerializer(data=request.data or request.query_params)
        payload.is_valid(raise_exception=True)
        try:
            corpus_delete(corpus=corpus, user=request.user, access_version=payload.validated_data["access_version"])
        except CorpusNotEmpty as exc:
            return Response({"detail": exc.message, "holdings": exc.holdings}, status=status.HTTP_409_CONFLICT)
        return Response(status=status.HTTP_204_NO_CONTENT)


class CorpusMembersApi(StrictQueryParameters, APIView):
    """A corpus's owner and members with their roles (admins only); POST gives a user, by name, a role in it.

    Additions count per user ("members" scope): each names a user, so names cannot be tried one after another.
    """

    permission_classes = [IsAuthenticatedOrReadOnly]
    throttle_scope = "members"

    @extend_schema(responses=CORPUS_MEMBERS)
    def get(self, request, pk: int):
        return Response(_corpus_members(get_corpus_for_user(request.user, pk, CorpusRole.ADMIN)))

    @extend_schema(request=CorpusMemberAddInputSerializer, responses=CORPUS_MEMBERS)
    def post(self, request, pk: int):
        corpus = get_corpus_for_user(request.user, pk, CorpusRole.ADMIN)
        payload = CorpusMemberAddInputSerializer(data=request.data)
        payload.is_valid(raise_exception=True)
        member = selectors.user_named(username=payload.validated_data["username"])
        if member is None:
            raise ValidationError({"username": [_("No user of this name.")]})
        try:
            corpus_member_set(
                corpus=corpus,
                user=request.user,
                access_version=payload.validated_data["access_version"],
                member=member,
                role=payload.validated_data["role"],
            )
        except CorpusAccessRefused as exc:
            raise _access_refused(exc) from exc
        return Response(_corpus_members(corpus), status=status.HTTP_201_CREATED)


class CorpusOwnerApi(APIView):
    """PUT hands the corpus over to one of its admin members (the owner, or an operator: a superuser).

    The new owner is no longer a member and cannot be demoted; the old owner stays an admin member.
    Recorded in `access-history/` ("owner_changed").
    """

    @extend_schema(request=CorpusOwnerInputSerializer, responses=CORPUS_MEMBERS)
    def put(self, request, pk: int):
        corpus = get_corpus_owned_by_user(request.user, pk)
        payload = CorpusOwnerInputSerializer(data=request.data)
        payload.is_valid(raise_exception=True)
        try:
            corpus = corpus_owner_set(
                corpus=corpus,
                user=request.user,
                access_version=payload.validated_data["access_version"],
                new_owner_id=payload.validated_data["member"],
            )
        except CorpusAccessRefused as exc:
            raise _access_refused(exc) from exc
        return Response(_corpus_members(corpus))


class CorpusMemberApi(APIView):
    """One member of a corpus (admins only): PATCH changes their role, DELETE takes them out of it."""

    @extend_schema(request=CorpusMemberRoleInputSerializer, responses=CORPUS_MEMBERS)
    def patch(self, request, pk: int, user_id: int):
        membership = get_membership_for_user(request.user, pk, user_id)
        payload = CorpusMemberRoleInputSerializer(data=request.data)
        payload.is_valid(raise_exception=True)
        corpus_member_set(
            corpus=membership.corpus,
            user=request.user,
            access_version=payload.validated_data["access_version"],
            member=membership.user,
            role=payload.validated_data["role"],
        )
        return Response(_corpus_members(membership.corpus))

    @extend_schema(request=AccessVersionInputSerializer, responses=CORPUS_MEMBERS)
    def delete(self, request, pk: int, user_id: int):
        membership = get_membership_for_user(request.user, pk, user_id)
        # DELETE bodies are often dropped by proxies, so the version may also come as ?access_version=.
        payload = AccessVersionInputSerializer(data=request.data or request.query_params)
        payload.is_valid(raise_exception=True)
        corpus_member_remove(
            membership=membership, user=request.user, access_version=payload.validated_data["access_version"]
        )
        return Response(_corpus_members(membership.corpus))


class CorpusAccessHistoryApi(StrictQueryParameters, APIView):
    """A corpus's latest changes of settings and members, newest first (admins only)."""

    @extend_schema(responses=CorpusAccessChangeSerializer(many=True))
    def get(self, request, pk: int):
        corpus = get_corpus_for_user(request.user, pk, CorpusRole.ADMIN)
        return Response(CorpusAccessChangeSerializer(selectors.corpus_access_history(corpus=corpus), many=True).data)


class DocumentListCreateApi(StrictQueryParameters, generics.ListAPIView):
    """List documents; POST queues an import (source URL / ARK / path, or a zip upload)."""

    throttle_scope = "expensive"
    query_parameters = ("corpus",)

    serializer_class = DocumentSerializer
    parser_classes = [JSONParser, MultiPartParser, FormParser]

    def get_queryset(self):
        return selectors.document_list(user=self.request.user, corpus_id=id_param(self.request.query_params, "corpus"))

    def post(self, request):
        payload = DocumentImportInputSerializer(data=request.data)
        payload.is_valid(raise_exception=True)
        try:
            document = document_import_from_input(
                user=request.user,
                corpus_name=payload.validated_data.get("corpus", ""),
                corpus_id=payload.validated_data.get("corpus_id"),
                source=payload.validated_data.get("source", ""),
                upload=payload.validated_data.get("upload"),
            )
        except CorpusNameAmbiguous as exc:
            raise ValidationError({"corpus": [str(exc)]}) from exc
        except ImportFailed as exc:
            raise ValidationError({"source": [str(exc)]}) from exc
        document = get_document_for_user(request.user, document.pk)
        return Response(DocumentSerializer(document).data, status=status.HTTP_202_ACCEPTED)


class DocumentDetailApi(StrictQueryParameters, APIView):
    @extend_schema(responses=DocumentSerializer)
    def get(self, request, pk: int):
        document = selectors.document_list(user=request.user).filter(pk=pk).first()
        if document is None:
            get_document_for_user(request.user, pk)
        return Response(DocumentSerializer(document).data)

    @extend_schema(
        request=DocumentRemoveInputSerializer,
        responses={
            204: None,
            409: OpenApiResponse(
                description="A curator has worked on it (`curated_work`), a job still works on it, or it changed "
                "since it was read (`document`, as it is now); nothing removed."
            ),
        },
    )
    def delete(self, request, pk: int):
        """Remove a document nobody has curated (its corpus's admins): its pages, faces, runs and scans."""
        document = get_document_for_user(request.user, pk, CorpusRole.ADMIN)
        # DELETE bodies are often dropped by proxies, so the version may also come as ?updated_at=.
        payload = DocumentRemoveInputSerializer(data=request.data or request.query_params)
        payload.is_valid(raise_exception=True)
        try:
            document_remove(document=document, user=request.user, updated_at=payload.validated_data["updated_at"])
        except DocumentConflict:
            now = selectors.document_list(user=request.user).filter(pk=pk).first()
            if now is None:
                get_document_for_user(request.user, pk)
            return Response(
                {
                    "detail": _("This document was changed since you read it; it is shown as it is now."),
                    "document": DocumentSerializer(now).data,
                },
                status=status.HTTP_409_CONFLICT,
            )
        except DocumentRemovalRefused as exc:
            return Response({"detail": exc.message, "curated_work": exc.curated_work}, status=status.HTTP_409_CONFLICT)
        return Response(status=status.HTTP_204_NO_CONTENT)


class PageListApi(CuratorNamesToReader, StrictQueryParameters, generics.ListAPIView):
    serializer_class = PageSerializer
    query_parameters = ("document",)

    def get_queryset(self):
        return selectors.page_list(user=self.request.user, document_id=id_param(self.request.query_params, "document"))


class PageDetailApi(StrictQueryParameters, APIView):
    permission_classes = [IsAuthenticatedOrReadOnly]

    @extend_schema(responses=PageDetailSerializer)
    def get(self, request, pk: int):
        return Response(
            PageDetailSerializer(get_page_for_user(request.user, pk), context=curator_names_context(request.user)).data
        )

    @extend_schema(request=PageReviewInputSerializer, responses=PageDetailSerializer)
    def patch(self, request, pk: int):
        page = get_page_for_user(request.user, pk, CorpusRole.CURATOR)
        payload = PageReviewInputSerializer(data=request.data)
        payload.is_valid(raise_exception=True)
        page = page_set_review_status(
            page=page,
            status=payload.validated_data["review_status"],
            user=request.user,
            review_version=payload.validated_data["review_version"],
        )
        return Response(PageDetailSerializer(page, context=curator_names_context(request.user)).data)


def _face_written(face: Face, *, status_code: int = status.HTTP_200_OK) -> Response:
    """A written face, with the id of the revision that recorded the write so the client can undo it.

    A write that changed nothing recorded none: then the face's latest revision.
    """
    data = face_representation(face)
    revision = face.recorded_revision_id
    data["revision"] = revision if revision is not None else selectors.face_latest_revision_id(face=face)
    return Response(data, status=status_code)


def _invalid(exc: DjangoValidationError) -> ValidationError:
    return ValidationError(exc.message_dict if hasattr(exc, "error_dict") else exc.messages)


class VersionInputSerializer(StrictInputSerializer):
    version = version_field()


class FaceWrittenSerializer(FaceSerializer):
    """Schema of a write's answer: the face and the revision that recorded the change."""

    revision = serializers.IntegerField(allow_null=True, read_only=True)

    class Meta(FaceSerializer.Meta):
        fields = [*FaceSerializer.Meta.fields, "revision"]


FACE_CONFLICT = inline_serializer("FaceConflict", {"detail": serializers.CharField(), "face": FaceSerializer()})
WRITE_RESPONSES = {200: FaceWrittenSerializer, 409: FACE_CONFLICT}


class FaceStatusesField(forms.CharField):
    """One face status or several, comma-separated."""

    def to_python(self, value) -> list[str]:
        statuses = [item.strip() for item in super().to_python(value).split(",") if item.strip()]
        unknown = sorted(set(statuses) - set(FaceStatus.values))
        if unknown:
            raise forms.ValidationError(
                _("Unknown status %(unknown)s; use %(known)s.")
                % {"unknown": ", ".join(unknown), "known": ", ".join(FaceStatus.values)}
            )
        return statuses


class FaceStatusesFilter(django_filters.Filter):
    field_class = FaceStatusesField


def _face_list_params(data: dict) -> SearchParams:
    """The search part of /api/faces/'s parameters; its status list goes to face_list apart."""
    return SearchParams.from_cleaned({**data, "status": ""})


class FaceListForm(forms.Form):
    def clean(self):
        data = super().clean()
        statuses = data.get("status") or []
        searching = selectors.face_list_searches(_face_list_params(data))
        if searching and (len(statuses) > 1 or FaceStatus.REJECTED in statuses):
            # A search counts no rejected face and filters on one status (as /api/search/faces/).
            self.add_error("status", "With search filters, give one status other than rejected.")
        return data


class FaceListFilterSet(SearchFilterSet):
    """/api/faces/'s parameters: the search filters, plus the page and one or several statuses.

    It only validates them (the view has no filter backend): selectors.face_list applies them.
    """

    page = IdFilter(help_text="Page id (the result page is `p`).")
    status = FaceStatusesFilter(
        help_text="One status or several, comma-separated; `rejected` only without search filters.",
    )
    ordering = django_filters.ChoiceFilter(
        choices=[(key, key) for key in FACE_ORDERINGS],
        help_text="Default: page (page id, then top to bottom, left to right); every ordering ends with the id.",
    )

    class Meta:
        model = Face
        fields: list[str] = []
        form = FaceListForm


class FacePagination(SearchPagination):
    """`page` is the contract's page filter on /api/faces/, so the result page number is `p`."""

    page_query_param = "p"


class FaceListCreateApi(StrictQueryParameters, generics.ListAPIView):
    """List faces (page, document, status, and every search filter); POST adds a face a curator drew."""

    serializer_class = FaceSerializer
    pagination_class = FacePagination
    # The filterset validates the parameters; selectors.face_list applies them, no filter backend.
    filter_backends: list = []
    filterset_class = FaceListFilterSet

    @extend_schema_serializer(component_name="FaceCreateInput")
    class InputSerializer(StrictInputSerializer):
        page = IdField()
        x = serializers.FloatField()
        y = serializers.FloatField()
        w = serializers.FloatField(min_value=1)
        h = serializers.FloatField(min_value=1)
        gender = serializers.ChoiceField(choices=Gender.choices, default=Gender.UNKNOWN)
        age = serializers.FloatField(min_value=0, max_value=130, allow_null=True, default=None)
        child = serializers.BooleanField(default=False)
        person = serializers.CharField(max_length=200, allow_blank=True, default="")
        client_key = serializers.CharField(
            max_length=64,
            allow_blank=True,
            default="",
            help_text="A token chosen by the client (e.g. a UUID): sending the same request again "
            "with it answers 200 with the face already made instead of adding another.",
        )

    @extend_schema(parameters=schema_parameters(FaceListFilterSet))
    def get(self, request, *args, **kwargs):
        return super().get(request, *args, **kwargs)

    def get_queryset(self):
        data = filters_clean(self.request.query_params, self.filterset_class)
        return selectors.face_list(
            user=self.request.user,
            params=_face_list_params(data),
            page_id=data.get("page"),
            statuses=data.get("status") or [],
        )

    @extend_schema(request=InputSerializer, responses={201: FaceWrittenSerializer, 200: FaceWrittenSerializer})
    def post(self, request):
        payload = self.InputSerializer(data=request.data)
        payload.is_valid(raise_exception=True)
        data = dict(payload.validated_data)
        page = get_page_for_user(request.user, data.pop("page"), CorpusRole.CURATOR)
        try:
            face = face_create(page=page, user=request.user, **data)
        except DjangoValidationError as exc:
            raise _invalid(exc) from exc
        # No revision recorded: the face this client_key made before, answered as it is now.
        made_now = face.recorded_revision_id is not None
        return _face_written(face, status_code=status.HTTP_201_CREATED if made_now else status.HTTP_200_OK)


class FaceDetailApi(StrictQueryParameters, APIView):
    """Read a face; PATCH changes its box or attributes; DELETE rejects it (soft delete)."""

    @extend_schema_serializer(component_name="FaceUpdateInput")
    class InputSerializer(StrictInputSerializer):
        not_settable = FACE_STATUS_NOT_SETTABLE

        version = version_field()
        x = serializers.FloatField(required=False)
        y = serializers.FloatField(required=False)
        w = serializers.FloatField(min_value=1, required=False)
        h = serializers.FloatField(min_value=1, required=False)
        gender = serializers.ChoiceField(choices=Gender.choices, required=False)
        age = serializers.FloatField(min_value=0, max_value=130, allow_null=True, required=False)
        child = serializers.BooleanField(required=False)
        person = serializers.CharField(max_length=200, allow_blank=True, required=False)

    @extend_schema(responses=FaceSerializer)
    def get(self, request, pk: int):
        return Response(face_representation(get_face_for_user(request.user, pk)))

    @extend_schema(request=InputSerializer, responses=WRITE_RESPONSES)
    def patch(self, request, pk: int):
        face = get_face_for_user(request.user, pk, CorpusRole.CURATOR)
        payload = self.InputSerializer(data=request.data)
        payload.is_valid(raise_exception=True)
        data = dict(payload.validated_data)
        try:
            face = face_update(face=face, user=request.user, expected_version=data.pop("version"), data=data)
        except DjangoValidationError as exc:
            raise _invalid(exc) from exc
        return _face_written(face)

    @extend_schema(request=VersionInputSerializer, responses=WRITE_RESPONSES)
    def delete(self, request, pk: int):
        face = get_face_for_user(request.user, pk, CorpusRole.CURATOR)
        # DELETE bodies are often dropped by proxies, so the version may also come as ?version=.
        payload = VersionInputSerializer(data=request.data or request.query_params)
        payload.is_valid(raise_exception=True)
        face = face_reject(face=face, user=request.user, expected_version=payload.validated_data["version"])
        return _face_written(face)


class FaceAcceptApi(APIView):
    @extend_schema(request=VersionInputSerializer, responses=WRITE_RESPONSES)
    def post(self, request, pk: int):
        face = get_face_for_user(request.user, pk, CorpusRole.CURATOR)
        payload = VersionInputSerializer(data=request.data)
        payload.is_valid(raise_exception=True)
        face = face_accept(face=face, user=request.user, expected_version=payload.validated_data["version"])
        return _face_written(face)


class FaceRevertApi(APIView):
    """Put a face back into its state before one recorded change."""

    @extend_schema_serializer(component_name="FaceRevertInput")
    class InputSerializer(VersionInputSerializer):
        revision = IdField()

    @extend_schema(request=InputSerializer, responses=WRITE_RESPONSES)
    def post(self, request, pk: int):
        face = get_face_for_user(request.user, pk, CorpusRole.CURATOR)
        payload = self.InputSerializer(data=request.data)
        payload.is_valid(raise_exception=True)
        revision = selectors.face_history(face=face).filter(pk=payload.validated_data["revision"]).first()
        if revision is None:
            raise ValidationError({"revision": ["not a revision of this face"]})
        try:
            face = face_revert(revision=revision, user=request.user, expected_version=payload.validated_data["version"])
        except DjangoValidationError as exc:
            raise _invalid(exc) from exc
        return _face_written(face)


class FaceHistoryApi(CuratorNamesToReader, StrictQueryParameters, generics.ListAPIView):
    """A face's revisions, newest first."""

    class OutputSerializer(serializers.ModelSerializer):
        user = CuratorNameField(corpus_id="face.page.document.corpus_id")
        user_hidden = CuratorHiddenField(corpus_id="face.page.document.corpus_id")

        class Meta:
            model = FaceRevision
            fields = ["id", "face", "user", "user_hidden", "created_at", "action", "before", "after"]

    serializer_class = OutputSerializer

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):
            return FaceRevision.objects.none()
        return selectors.face_history(face=get_face_for_user(self.request.user, self.kwargs["pk"]))


PAGE_BULK_RESULT = inline_serializer(
    "PageBulkResult",
    {
        "action": serializers.CharField(),
        "updated": serializers.IntegerField(help_text="How many faces changed."),
        "results": inline_serializer(
            "PageBulkFaceResult",
            {
                "id": serializers.IntegerField(),
                "status": serializers.ChoiceField(choices=BULK_OUTCOME_CHOICES),
                "face": FaceWrittenSerializer(required=False, help_text="ok: the face now, and its revision."),
                "current": FaceSerializer(required=False, help_text="conflict: the face as it is, unchanged."),
            },
            many=True,
        ),
    },
)
# More faces than a page holds: a bound on one request's work.
BULK_MAX_FACES = 1000


@extend_schema_serializer(component_name="PageBulkFace")
class BulkFaceInputSerializer(StrictInputSerializer):
    id = IdField()
    version = version_field()


class PageBulkApi(APIView):
    """Accept or reject faces of a page, each named with the version the client saw; answered face by face.

    200 when every face was applied; 207 (Multi-Status) when one or more were not (a conflict or not
    found on this page), the others applied all the same.
    """

    @extend_schema_serializer(component_name="PageBulkInput")
    class InputSerializer(StrictInputSerializer):
        action = serializers.ChoiceField(choices=["accept", "reject"])
        faces = serializers.ListSerializer(
            child=BulkFaceInputSerializer(), allow_empty=False, max_length=BULK_MAX_FACES
        )

        def validate_faces(self, faces: list[dict]) -> list[dict]:
            if len({face["id"] for face in faces}) != len(faces):
                raise ValidationError(_("Name each face once."))
            return faces

    @extend_schema(request=InputSerializer, responses={200: PAGE_BULK_RESULT, 207: PAGE_BULK_RESULT})
    def post(self, request, pk: int):
        page = get_page_for_user(request.user, pk, CorpusRole.CURATOR)
        payload = self.InputSerializer(data=request.data)
        payload.is_valid(raise_exception=True)
        action = payload.validated_data["action"]
        results = faces_bulk_set_status(
            page=page,
            user=request.user,
            status=FaceStatus.ACCEPTED if action == "accept" else FaceStatus.REJECTED,
            versions={face["id"]: face["version"] for face in payload.validated_data["faces"]},
        )
        unchanged = [r.face.pk for r in results if r.outcome == BulkOutcome.OK and r.face.recorded_revision_id is None]
        latest = selectors.faces_latest_revision_ids(face_ids=unchanged) if unchanged else {}
        data = [_bulk_result(result, latest) for result in results]
        updated = sum(1 for r in results if r.face is not None and r.face.recorded_revision_id is not None)
        all_ok = all(result.outcome == BulkOutcome.OK for result in results)
        return Response(
            {"action": action, "updated": updated, "results": data},
            status=status.HTTP_200_OK if all_ok else status.HTTP_207_MULTI_STATUS,
        )


def _bulk_result(result: FaceBulkResult, latest_revisions: dict[int, int]) -> dict:
    if result.outcome in (BulkOutcome.NOT_FOUND, BulkOutcome.FORBIDDEN):
        return {"id": result.face_id, "status": result.outcome}
    face = face_representation(result.face)
    if result.outcome == BulkOutcome.CONFLICT:
        return {"id": result.face_id, "status": result.outcome, "current": face}
    revision = result.face.recorded_revision_id or latest_revisions.get(result.face.pk)
    return {"id": result.face_id, "status": result.outcome, "face": {**face, "revision": revision}}


FACES_BULK_RESULT = inline_serializer(
    "FacesBulkResult",
    {
        "action": serializers.CharField(),
        "batch": serializers.UUIDField(help_text="This write's id: undo it with action `undo` and this batch."),
        "updated": serializers.IntegerField(help_text="How many faces changed."),
        "pages": inline_serializer(
            "FacesBulkPage",
            {"id": serializers.IntegerField(), "review_status": serializers.ChoiceField(choices=ReviewStatus.choices)},
            many=True,
            help_text="The pages of the faces written, where they stand in review now (a curator's first change "
            "puts an unreviewed page in review).",
        ),
        "results": inline_serializer(
            "FacesBulkFaceResult",
            {
                "id": serializers.IntegerField(),
                "status": serializers.ChoiceField(choices=BULK_OUTCOME_CHOICES),
                "face": FaceWrittenSerializer(required=False, help_text="ok: the face now, and its revision."),
                "current": FaceSerializer(required=False, help_text="conflict: the face as it is, unchanged."),
            },
            many=True,
        ),
    },
)


class FacesBulkApi(APIView):
    """One action on faces of any corpora the user curates, each named with the version the client saw.

    Answered face by face: 200 when every face was applied, 207 when one or more were not (a
    conflict, not found, or forbidden), the others applied all the same; 404 or 403 when the user
    may change none of them. The whole write gets one
    batch id; `undo` with that batch and the versions it answered puts each face back.
    """

    @extend_schema_serializer(component_name="FacesBulkInput")
    class InputSerializer(StrictInputSerializer):
        action = serializers.ChoiceField(choices=[action.value for action in BulkAction])
        value = serializers.JSONField(
            required=False, help_text="set_gender: female, male or unknown; set_child: true or false."
        )
        batch = serializers.UUIDField(required=False, help_text="undo: the batch id a bulk write answered.")
        faces = serializers.ListSerializer(
            child=BulkFaceInputSerializer(), allow_empty=False, max_length=BULK_MAX_FACES
        )

        def validate_faces(self, faces: list[dict]) -> list[dict]:
            if len({face["id"] for face in faces}) != len(faces):
                raise ValidationError(_("Name each face once."))
            return faces

        def validate(self, data: dict) -> dict:
            action = data["action"]
            value = data.get("value")
            if action == BulkAction.SET_GENDER and value not in Gender.values:
                raise ValidationError({"value": [_("set_gender needs a value: female, male or unknown.")]})
            if action == BulkAction.SET_CHILD and not isinstance(value, bool):
                raise ValidationError({"value": [_("set_child needs a value: true or false.")]})
            if action not in (BulkAction.SET_GENDER, BulkAction.SET_CHILD) and "value" in data:
                raise ValidationError({"value": [_("%(action)s takes no value.") % {"action": action}]})
            if (action == BulkAction.UNDO) != ("batch" in data):
                raise ValidationError({"batch": [_("Give a batch with undo, and only with undo.")]})
            return data

    @extend_schema(request=InputSerializer, responses={200: FACES_BULK_RESULT, 207: FACES_BULK_RESULT})
    def post(self, request):
        payload = self.InputSerializer(data=request.data)
        payload.is_valid(raise_exception=True)
        data = payload.validated_data
        versions = {face["id"]: face["version"] for face in data["faces"]}
        access = faces_access_for_user(request.user, versions, CorpusRole.CURATOR)
        access.require_some()
        try:
            written = faces_bulk_write(
                user=request.user,
                access=access,
                action=BulkAction(data["action"]),
                versions=versions,
                value=data.get("value"),
                undo_batch=data.get("batch"),
            )
        except DjangoValidationError as exc:
            raise _invalid(exc) from exc
        results = written.results
        unchanged = [r.face.pk for r in results if r.outcome == BulkOutcome.OK and r.face.recorded_revision_id is None]
        latest = selectors.faces_latest_revision_ids(face_ids=unchanged) if unchanged else {}
        updated = sum(1 for r in results if r.outcome == BulkOutcome.OK and r.face.recorded_revision_id is not None)
        all_ok = all(result.outcome == BulkOutcome.OK for result in results)
        return Response(
            {
                "action": data["action"],
                "batch": str(written.batch),
                "updated": updated,
                "pages": selectors.page_review_statuses(
                    page_ids=[r.face.page_id for r in results if r.outcome == BulkOutcome.OK]
                ),
                "results": [_bulk_result(result, latest) for result in results],
            },
            status=status.HTTP_200_OK if all_ok else status.HTTP_207_MULTI_STATUS,
        )

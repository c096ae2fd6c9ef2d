"""API representations of corpora, documents, pages and faces."""

from collections.abc import Mapping
from operator import attrgetter

from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from annotations.access import CuratorNames
from annotations.models import (
    FACE_FIELDS,
    Corpus,
    CorpusAccessChange,
    CorpusMembership,
    CorpusRole,
    Document,
    Face,
    Page,
    PageReviewChange,
    ReviewStatus,
)
from annotations.selectors import page_review_history
from webapp.ids import ID_MAX, IdField
from webapp.jobs import UNCANCELLABLE_STATUS_CHOICES

# The serializer context's reader, for the fields that name curators (CuratorNameField).
CURATOR_NAMES = "curator_names"


def curator_names_context(user) -> dict:
    """A serializer context that names curators as the corpus names them to this reader."""
    return {CURATOR_NAMES: CuratorNames(user)}


class CuratorNamesToReader:
    """A generic view whose serializers name curators as each corpus names them to the request's user."""

    def get_serializer_context(self):
        return {**super().get_serializer_context(), **curator_names_context(self.request.user)}


class _CuratorField(serializers.Field):
    """Reads the user (or user id) at the dotted path `user` of the object, and whether the corpus at `corpus_id`
    names its curators to the context's reader (access.CuratorNames); without a reader in the context, it does not."""

    def __init__(self, *, corpus_id: str, user: str = "user", **kwargs):
        self.user_path, self.corpus_id_path = user, corpus_id
        super().__init__(source="*", read_only=True, **kwargs)

    def user_and_shown(self, instance) -> tuple[object, bool]:
        user = attrgetter(self.user_path)(instance)
        names = self.context.get(CURATOR_NAMES)
        shown = user is not None and names is not None and names.shown(attrgetter(self.corpus_id_path)(instance))
        return user, shown


@extend_schema_field({"type": "string", "nullable": True})
class CuratorNameField(_CuratorField):
    """A curator's user name; None for no user, and for a reader the corpus does not name its curators to."""

    def to_representation(self, instance):
        user, shown = self.user_and_shown(instance)
        return user.get_username() if shown else None


@extend_schema_field({"type": "integer", "nullable": True})
class CuratorIdField(_CuratorField):
    """A curator's user id, as their name (CuratorNameField): an id a reader could match with a name read in
    another corpus is a name too."""

    def to_representation(self, instance):
        user_id, shown = self.user_and_shown(instance)
        return user_id if shown else None


@extend_schema_field({"type": "boolean"})
class CuratorHiddenField(_CuratorField):
    """True when a curator did it but the corpus does not name its curators to the reader."""

    def to_representation(self, instance):
        user, shown = self.user_and_shown(instance)
        return user is not None and not shown


class CorpusSerializer(serializers.ModelSerializer):
    class Meta:
        model = Corpus
        fields = ["id", "name", "description", "is_public", "curator_names_public", "created_at", "access_version"]


class CorpusDetailSerializer(CorpusSerializer):
    """A corpus with the reader's role in it (`role`: viewer, curator or admin)."""

    role = serializers.ChoiceField(choices=CorpusRole.choices, read_only=True)

    class Meta(CorpusSerializer.Meta):
        fields = [*CorpusSerializer.Meta.fields, "role"]


class CorpusMemberSerializer(serializers.ModelSerializer):
    user = serializers.IntegerField(source="user_id", read_only=True)
    username = serializers.CharField(source="user.get_username", read_only=True)

    class Meta:
        model = CorpusMembership
        fields = ["user", "username", "role"]


class CorpusAccessChangeSerializer(serializers.ModelSerializer):
    """One change of a corpus's settings or members: who, when, which member, the values before and after."""

    user = serializers.CharField(source="user.get_username", read_only=True, default=None)
    at = serializers.DateTimeField(source="created_at", read_only=True)
    member = serializers.CharField(source="member_name", read_only=True)

    class Meta:
        model = CorpusAccessChange
        fields = ["user", "at", "action", "member", "before", "after"]


class DocumentSerializer(serializers.ModelSerializer):
    corpus_name = serializers.CharField(source="corpus.name", read_only=True)
    page_count = serializers.IntegerField(read_only=True)
    import_status = serializers.ChoiceField(choices=UNCANCELLABLE_STATUS_CHOICES, required=False)
    # Stored untranslated by the worker, shown in the language of the request.
    import_error = serializers.CharField(source="import_error_translated", read_only=True)
    import_report = serializers.JSONField(source="import_report_translated", read_only=True)

    class Meta:
        model = Document
        fields = [
            "id",
            "corpus",
            "corpus_name",
            "source",
            "manifest_url",
            "iiif_version",
            "label",
            "summary",
            "metadata",
            "date_text",
            "date_start",
            "date_end",
            "attribution",
            "license",
            "related_url",
            "thumbnail_url",
            "import_status",
            "import_error",
            "import_report",
            "import_started_at",
            "import_finished_at",
            "page_count",
            "created_at",
            "updated_at",
        ]


class PageSerializer(serializers.ModelSerializer):
    reviewed_by = CuratorIdField(user="reviewed_by_id", corpus_id="document.corpus_id")

    class Meta:
        model = Page
        fields = [
            "id",
            "document",
            "order",
            "canvas_id",
            "label",
            "width",
            "height",
            "image_url",
            "image_service_id",
            "image_service_version",
            "is_front_page",
            "face_count",
            "female_count",
            "male_count",
            "child_count",
            "unknown_count",
            "review_status",
            "reviewed_by",
            "reviewed_at",
            "review_version",
        ]


class PageReviewChangeSerializer(serializers.ModelSerializer):
    user = CuratorNameField(corpus_id="page.document.corpus_id")
    user_hidden = CuratorHiddenField(corpus_id="page.document.corpus_id")
    at = serializers.DateTimeField(source="created_at", read_only=True)

    class Meta:
        model = PageReviewChange
        fields = ["user", "user_hidden", "at", "before", "after"]


class PageDetailSerializer(PageSerializer):
    """A page with its latest review status changes (`review_history`, newest first)."""

    review_history = serializers.SerializerMethodField()

    class Meta(PageSerializer.Meta):
        fields = [*PageSerializer.Meta.fields, "review_history"]

    @extend_schema_field(PageReviewChangeSerializer(many=True))
    def get_review_history(self, page: Page) -> list[dict]:
        return PageReviewChangeSerializer(page_review_history(page=page), many=True, context=self.context).data


# Django's CSRF form field travels with every form post (a page's FormData sent to the API too); the CSRF
# middleware reads it, so it is no input of the write.
CSRF_FORM_FIELD = "csrfmiddlewaretoken"


class StrictInputSerializer(serializers.Serializer):
    """A write's input that refuses every field it does not declare, naming it: never a silent 200.

    `not_settable` says, by field name, how to make the change a field names (e.g. `status`).
    `validated_elsewhere` names the fields the input may also carry that the caller validates itself
    (an export's search filters).
    """

    not_settable: dict[str, str] = {}
    validated_elsewhere: tuple[str, ...] = ()

    def to_internal_value(self, data):
        if isinstance(data, Mapping):
            known = {*self.fields, *self.validated_elsewhere, CSRF_FORM_FIELD}
            refused = {name: [self.not_settable.get(name) or _refusal(name)] for name in data if name not in known}
            if refused:
                raise serializers.ValidationError(refused)
        return super().to_internal_value(data)


def _refusal(name: str) -> str:
    return _("%(field)s cannot be set by this request.") % {"field": name}


def access_version_field() -> serializers.IntegerField:
    """The corpus's access version a change of its settings or members was based on: required."""
    return serializers.IntegerField(
        min_value=1,
        error_messages={
            "required": gettext_lazy("access_version is required"),
            "null": gettext_lazy("access_version is required"),
        },
    )


class CorpusUpdateInputSerializer(StrictInputSerializer):
    access_version = access_version_field()
    name = serializers.CharField(max_length=200, required=False)
    description = serializers.CharField(max_length=5000, required=False, allow_blank=True)
    is_public = serializers.BooleanField(required=False)
    curator_names_public = serializers.BooleanField(required=False)


class CorpusMemberAddInputSerializer(StrictInputSerializer):
    access_version = access_version_field()
    username = serializers.CharField(max_length=150)
    role = serializers.ChoiceField(choices=CorpusRole.choices)


class CorpusMemberRoleInputSerializer(StrictInputSerializer):
    access_version = access_version_field()
    role = serializers.ChoiceField(choices=CorpusRole.choices)


class AccessVersionInputSerializer(StrictInputSerializer):
    access_version = access_version_field()


class CorpusOwnerInputSerializer(StrictInputSerializer):
    access_version = access_version_field()
    member = IdField(help_text="The user id of the admin member who becomes the corpus's owner.")


class DocumentRemoveInputSerializer(StrictInputSerializer):
    updated_at = serializers.DateTimeField(
        help_text="The document's `updated_at` as its remover read it: a re-import meanwhile makes it a 409."
    )


class DocumentImportInputSerializer(StrictInputSerializer):
    source = serializers.CharField(max_length=2000, required=False, allow_blank=True)
    # The corpus by name (the importer's own, or the one of that name they curate; "Default") or by id.
    corpus = serializers.CharField(max_length=200, required=False)
    corpus_id = IdField(required=False)
    upload = serializers.FileField(required=False)

    def validate(self, attrs):
        if not attrs.get("source") and not attrs.get("upload"):
            raise serializers.ValidationError(_("Give a source (URL, ARK, file or folder) or upload a zip of images"))
        if attrs.get("corpus") and "corpus_id" in attrs:
            raise serializers.ValidationError({"corpus_id": [_("Name the corpus by its name or by its id, not both.")]})
        return attrs


# The status of a face changes through its own endpoints, each recorded and checked against the version.
FACE_STATUS_NOT_SETTABLE = {
    "status": gettext_lazy(
        "status cannot be set here: accept with POST /api/faces/<id>/accept/, reject with DELETE /api/faces/<id>/."
    )
}


def version_field() -> serializers.IntegerField:
    """The version of the face a write was based on: required, so no write overwrites a change it never saw."""
    return serializers.IntegerField(
        min_value=1,
        error_messages={"required": gettext_lazy("version is required"), "null": gettext_lazy("version is required")},
    )


class PageReviewInputSerializer(StrictInputSerializer):
    review_status = serializers.ChoiceField(choices=Page._meta.get_field("review_status").choices)
    # The page's review version the change was based on (PageSerializer's `review_version`).
    review_version = serializers.IntegerField(
        min_value=1,
        max_value=ID_MAX,
        error_messages={
            "required": gettext_lazy("review_version is required: the page's review version you read"),
            "null": gettext_lazy("review_version is required: the page's review version you read"),
        },
    )


class FaceSerializer(serializers.ModelSerializer):
    person = serializers.CharField(source="person_name", read_only=True, help_text="The person's name ('' if none).")
    person_id = serializers.IntegerField(read_only=True, allow_null=True, help_text="The person's record, or null.")

    class Meta:
        model = Face
        fields = [
            *FACE_FIELDS,
            "created_at",
            "updated_at",
        ]


def face_representation(face: Face) -> dict:
    """FaceSerializer(face).data, built directly (a test holds them equal): every face read and save
    answers with one, and DRF's per-instance field building was a tenth of a save's time."""
    return {
        "id": face.pk,
        "page": face.page_id,
        "x": int(face.x),
        "y": int(face.y),
        "w": int(face.w),
        "h": int(face.h),
        "confidence": _float_or_none(face.confidence),
        "age": _float_or_none(face.age),
        "age_confidence": _float_or_none(face.age_confidence),
        "gender": str(face.gender),
        "gender_confidence": _float_or_none(face.gender_confidence),
        "child": bool(face.child),
        "status": str(face.status),
        "source": str(face.source),
        "person": face.person_name,
        "person_id": face.person_id,
        "version": int(face.version),
        "created_at": _datetime_or_none(face.created_at),
        "updated_at": _datetime_or_none(face.updated_at),
    }


def _float_or_none(value) -> float | None:
    return None if value is None else float(value)


def _datetime_or_none(value) -> str | None:
    return None if value is None else _DATETIME.to_representation(value)


class FaceBoxSerializer(serializers.ModelSerializer):
    """A face as drawn over a page thumbnail in search results."""

    class Meta:
        model = Face
        fields = ["id", "x", "y", "w", "h", "confidence", "gender", "child", "status"]


class PageSearchSerializer(PageSerializer):
    """A search result: the page, its document, its thumbnail and the faces the search selected."""

    matching_faces = serializers.IntegerField(read_only=True)
    corpus = serializers.IntegerField(source="document.corpus_id", read_only=True)
    document_label = serializers.CharField(source="document.label", read_only=True)
    document_date = serializers.DateField(source="document.date_start", read_only=True)
    date_text = serializers.CharField(source="document.date_text", read_only=True)
    thumbnail_url = serializers.SerializerMethodField()
    faces = serializers.SerializerMethodField()

    class Meta(PageSerializer.Meta):
        fields = [
            *PageSerializer.Meta.fields,
            "matching_faces",
            "corpus",
            "document_label",
            "document_date",
            "date_text",
            "thumbnail_url",
            "faces",
        ]

    def get_thumbnail_url(self, page: Page) -> str:
        return page.thumbnail_url(300)

    @extend_schema_field(FaceBoxSerializer(many=True))
    def get_faces(self, page: Page) -> list[dict]:
        # The search attaches them as plain dicts of these fields (a test holds them equal).
        return page.matching

    def to_representation(self, page: Page) -> dict:
        """What the declared fields give (a test holds them equal), built directly: a slice holds up to
        500 results, and DRF's field-by-field machinery was a third of a search's time."""
        document = page.document
        reviewed_at = _DATETIME.to_representation(page.reviewed_at) if page.reviewed_at else None
        return {
            **{name: getattr(page, name) for name in _PLAIN_PAGE_FIELDS},
            "document": page.document_id,
            "reviewed_by": self.fields["reviewed_by"].to_representation(page),
            "reviewed_at": reviewed_at,
            "matching_faces": page.matching_faces,
            "corpus": document.corpus_id,
            "document_label": document.label,
            "document_date": document.date_start.isoformat() if document.date_start else None,
            "date_text": document.date_text,
            "thumbnail_url": page.thumbnail_url(300),
            "faces": self.get_faces(page),
        }


_DATETIME = serializers.DateTimeField()
_RELATED_PAGE_FIELDS = ("document", "reviewed_by", "reviewed_at")
_PLAIN_PAGE_FIELDS = [name for name in PageSerializer.Meta.fields if name not in _RELATED_PAGE_FIELDS]


class FaceSearchSerializer(FaceSerializer):
    """A face search result: the face, where it is, and an IIIF crop of it."""

    document = serializers.IntegerField(source="page.document_id", read_only=True)
    document_label = serializers.CharField(source="page.document.label", read_only=True)
    document_date = serializers.DateField(source="page.document.date_start", read_only=True)
    page_label = serializers.CharField(source="page.label", read_only=True)
    page_order = serializers.IntegerField(source="page.order", read_only=True)
    page_review_status = serializers.ChoiceField(
        choices=ReviewStatus.choices, source="page.review_status", read_only=True
    )
    size_percent = serializers.SerializerMethodField()
    crop_url = serializers.SerializerMethodField()

    class Meta(FaceSerializer.Meta):
        fields = [
            *FaceSerializer.Meta.fields,
            "document",
            "document_label",
            "document_date",
            "page_label",
            "page_order",
            "page_review_status",
            "size_percent",
            "crop_url",
        ]

    def get_size_percent(self, face: Face) -> float:
        return round(100.0 * face.w * face.h / (face.page.width * face.page.height), 4)

    def get_crop_url(self, face: Face) -> str:
        return face.page.face_crop_url(face, 160)

"""Corpora, documents, pages and the faces curators review."""

from __future__ import annotations

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import Case, Exists, F, OuterRef, Q, Value, When
from django.utils.translation import gettext_lazy as _

from webapp.jobs import Job, JobStatus
from webapp.messages import message_render


class Corpus(models.Model):
    """A named collection of documents, shared by its members.

    Names are their owner's: each user (and the shared, ownerless corpora an operator creates) has
    at most one corpus of a name, so a name someone else chose never blocks or reveals anything.
    """

    name = models.CharField(max_length=200)
    description = models.TextField(blank=True)
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    # Private unless made public: a corpus made anywhere (the admin, a shell, a fixture) shows nothing unasked.
    is_public = models.BooleanField(default=False, help_text="Anyone, even anonymous, may view and search it.")
    # Who edited, reviewed, ran or trained what is named to the corpus's members and operators; its other
    # readers (a public corpus's visitors) read "a curator", unless its admins show the names.
    curator_names_public = models.BooleanField(
        default=False,
        db_default=False,
        help_text="Readers who are not members (a public corpus's visitors) see who edited, reviewed or ran what.",
    )
    created_at = models.DateTimeField(auto_now_add=True)
    # Moves on with every change of the corpus's settings or members: a change names the version its
    # writer read, so two admins never overwrite each other's access changes unseen.
    access_version = models.PositiveIntegerField(default=1, db_default=1)

    class Meta:
        ordering = ["name"]
        verbose_name_plural = "corpora"
        constraints = [
            models.UniqueConstraint(fields=["owner", "name"], name="corpus_name_unique_per_owner"),
            models.UniqueConstraint(
                fields=["name"], condition=Q(owner__isnull=True), name="corpus_name_unique_among_shared"
            ),
        ]

    def __str__(self) -> str:
        return self.name


class CorpusRole(models.TextChoices):
    VIEWER = "viewer", _("Viewer")
    CURATOR = "curator", _("Curator")
    ADMIN = "admin", _("Admin")


class CorpusMembership(models.Model):
    """A user's role in one corpus."""

    corpus = models.ForeignKey(Corpus, on_delete=models.CASCADE, related_name="memberships")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="corpus_memberships")
    role = models.CharField(max_length=10, choices=CorpusRole.choices, default=CorpusRole.VIEWER)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["corpus", "user"], name="membership_unique_user"),
            models.CheckConstraint(condition=Q(role__in=CorpusRole.values), name="membership_role_valid"),
        ]

    def __str__(self) -> str:
        return f"{self.user} {self.role} of {self.corpus}"


class CorpusAccessAction(models.TextChoices):
    SETTINGS = "settings", _("Settings changed")
    MEMBER_ADDED = "member_added", _("Member added")
    ROLE_CHANGED = "role_changed", _("Role changed")
    MEMBER_REMOVED = "member_removed", _("Member removed")
    OWNER_CHANGED = "owner_changed", _("Owner changed")
    DOCUMENT_REMOVED = "document_removed", _("Document removed")


class CorpusAccessChange(models.Model):
    """One change of who may see or change a corpus: its name, description or visibility, or a member's
    role, or the removal of one of its documents. Who made it, when, and the values before and after (the
    fields changed only)."""

    corpus = models.ForeignKey(Corpus, on_delete=models.CASCADE, related_name="access_changes")
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    action = models.CharField(max_length=20, choices=CorpusAccessAction.choices)
    # The member whose role changed (None for a change of the settings, or once that user is deleted).
    member = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    # The member's name at the time, kept when the user is deleted.
    member_name = models.CharField(max_length=150, blank=True)
    before = models.JSONField(default=dict)
    after = models.JSONField(default=dict)

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(action__in=CorpusAccessAction.values), name="corpus_access_change_action_valid"
            ),
        ]
        indexes = [
            # A corpus's access history, newest first.
            models.Index(fields=["corpus", "-created_at"], name="corpus_access_change_time_idx"),
        ]

    def __str__(self) -> str:
        return f"corpus {self.corpus_id}: {self.action} by {self.user_id} at {self.created_at:%Y-%m-%d %H:%M}"


class Document(models.Model):
    """One IIIF manifest (or folder of local scans) and its descriptive metadata."""

    corpus = models.ForeignKey(Corpus, on_delete=models.CASCADE, related_name="documents")
    source = models.TextField(help_text="What the curator gave: URL, ARK, file or folder.")
    manifest_url = models.TextField(blank=True)
    iiif_version = models.CharField(max_length=1, blank=True)
    label = models.TextField(blank=True)
    summary = models.TextField(blank=True)
    metadata = models.JSONField(default=list, blank=True)
    date_text = models.CharField(max_length=200, blank=True)
    date_start = models.DateField(null=True, blank=True)
    date_end = models.DateField(null=True, blank=True)
    attribution = models.TextField(blank=True)
    license = models.TextField(blank=True)
    related_url = models.TextField(blank=True)
    thumbnail_url = models.TextField(blank=True)
    # Only a folder or zip import sets these: the random key in its scans' URLs, and their folder.
    local_key = models.CharField(
        max_length=32, blank=True, help_text="Random key of its local scans' URLs (/iiif/local/<key>/<file>)."
    )
    local_folder = models.CharField(
        max_length=32, blank=True, help_text="Folder of its local scans in LOCAL_IMAGES_DIR."
    )
    upload_path = models.TextField(blank=True, help_text="The stored zip of an uploaded source, under MEDIA_ROOT.")
    # The import job's fields (webapp.jobs.DOCUMENT_IMPORT): claimed by import_started_at.
    import_status = models.CharField(max_length=10, choices=JobStatus.choices, default=JobStatus.PENDING)
    import_error = models.TextField(blank=True)
    # The same error untranslated, {"message": template, "params": {...}}, shown in the reader's language
    # (webapp.messages); null when there is none (no error, or one stored before). The text above is its
    # English, for logs and the CLI. Nullable without a default, so that SQLite adds the column in place
    # rather than rebuilding the table under its triggers.
    import_error_message = models.JSONField(null=True, blank=True)
    import_report = models.JSONField(default=dict, blank=True)
    import_started_at = models.DateTimeField(null=True, blank=True)
    import_finished_at = models.DateTimeField(null=True, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["date_start", "label", "id"]
        constraints = [
            # Re-importing the same source into a corpus updates it in place.
            models.UniqueConstraint(fields=["corpus", "source"], name="document_unique_source"),
            models.CheckConstraint(condition=Q(import_status__in=JobStatus.values), name="document_status_valid"),
            models.CheckConstraint(
                condition=Q(date_start__isnull=True) | Q(date_end__isnull=True) | Q(date_start__lte=F("date_end")),
                name="document_dates_ordered",
            ),
            # A scan URL names one document, and one document's files are nobody else's.
            models.UniqueConstraint(fields=["local_key"], condition=~Q(local_key=""), name="document_unique_local_key"),
            models.UniqueConstraint(
                fields=["local_folder"], condition=~Q(local_folder=""), name="document_unique_local_folder"
            ),
            models.CheckConstraint(
                condition=Q(local_key="", local_folder="") | (~Q(local_key="") & ~Q(local_folder="")),
                name="document_local_key_with_folder",
            ),
        ]
        indexes = [
            # Search filters by date range.
            models.Index(fields=["date_start", "date_end"], name="document_dates_idx"),
        ]

    def __str__(self) -> str:
        return self.label or self.source

    def import_error_translated(self) -> str:
        """The import's error in the active language (the reader's), whatever language the worker had."""
        return message_render(self.import_error_message, fallback=self.import_error)

    def import_report_translated(self) -> dict:
        """The import report with its skipped canvases' reasons and its collection members' errors in the
        active language, as texts (the messages they are rendered from left out)."""
        report = dict(self.import_report)
        if "skipped" in report:
            report["skipped"] = [_translated_row(row, "reason", "reason_message") for row in report["skipped"]]
        collection = report.get("collection")
        if isinstance(collection, dict) and "members" in collection:
            members = [_translated_row(row, "error", "error_message") for row in collection["members"]]
            report["collection"] = {**collection, "members": members}
        return report


def _translated_row(row: dict, text_key: str, message_key: str) -> dict:
    """A report row whose text is its message rendered in the active language (its own text, stored before)."""
    shown = {key: value for key, value in row.items() if key != message_key}
    shown[text_key] = message_render(row.get(message_key), fallback=row.get(text_key, ""))
    return shown


# What a search by date counts pages by, carried by the date index (page_date_order_idx).
PAGE_DATE_COUNT_COLUMNS = [
    "document_date_end",
    "is_front_page",
    "review_status",
    "face_count",
    "female_count",
    "male_count",
    "child_count",
    "unknown_count",
]
# A page's count columns by what they select: its faces, each gender's, its children's.
PAGE_COUNT_SELECTORS = ("face", "female", "male", "unknown", "child")
# The confidence steps at which a page also counts its faces (search_confidence at least the step),
# by the suffix of their columns: face_count_50, female_count_80, ...
PAGE_COUNT_CONFIDENCE_STEPS = {0.5: "50", 0.8: "80", 0.9: "90"}
PAGE_GENDER_COUNT_COLUMNS = tuple(f"{selector}_count" for selector in PAGE_COUNT_SELECTORS if selector != "face")
PAGE_CURATED_COUNT_COLUMNS = tuple(f"curated_{selector}_count" for selector in PAGE_COUNT_SELECTORS)
PAGE_CONFIDENT_COUNT_COLUMNS = tuple(
    f"{selector}_count_{suffix}" for suffix in PAGE_COUNT_CONFIDENCE_STEPS.values() for selector in PAGE_COUNT_SELECTORS
)


class ReviewStatus(models.TextChoices):
    UNREVIEWED = "unreviewed", _("Unreviewed")
    IN_REVIEW = "in_review", _("In review")
    REVIEWED = "reviewed", _("Reviewed")


class Page(models.Model):
    """One IIIF canvas with an image; boxes live in its pixel space."""

    document = models.ForeignKey(Document, on_delete=models.CASCADE, related_name="pages")
    order = models.PositiveIntegerField()
    canvas_id = models.TextField()
    label = models.TextField(blank=True)
    width = models.PositiveIntegerField()
    height = models.PositiveIntegerField()
    image_url = models.TextField(blank=True)
    image_width = models.PositiveIntegerField(null=True, blank=True)
    image_height = models.PositiveIntegerField(null=True, blank=True)
    image_service_id = models.TextField(blank=True)
    image_service_version = models.CharField(max_length=1, blank=True)
    local_path = models.TextField(blank=True, help_text="Path under LOCAL_IMAGES_DIR for scans we serve ourselves.")
    is_front_page = models.BooleanField(default=False)
    review_status = models.CharField(max_length=10, choices=ReviewStatus.choices, default=ReviewStatus.UNREVIEWED)
    reviewed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    reviewed_at = models.DateTimeField(null=True, blank=True)
    # Moves on with every review status change: a change names the one it read (a 409 otherwise).
    review_version = models.PositiveIntegerField(default=1)
    # Denormalised counts of non-rejected faces, kept current by the face services.
    face_count = models.PositiveIntegerField(default=0)
    female_count = models.PositiveIntegerField(default=0)
    male_count = models.PositiveIntegerField(default=0)
    child_count = models.PositiveIntegerField(default=0)
    unknown_count = models.PositiveIntegerField(default=0)
    # Denormalised extremes of those faces (none without faces), so that "a face at least this
    # confident / large / small" is a page column test, not a search through a million faces.
    max_confidence = models.FloatField(null=True, blank=True, help_text="Highest search confidence of its faces.")
    max_face_share = models.FloatField(null=True, blank=True, help_text="Largest face, percent of the page area.")
    min_face_share = models.FloatField(null=True, blank=True, help_text="Smallest face, percent of the page area.")
    # The same highest search confidence among its faces of one gender, or with the child flag.
    max_confidence_female = models.FloatField(null=True, blank=True)
    max_confidence_male = models.FloatField(null=True, blank=True)
    max_confidence_unknown = models.FloatField(null=True, blank=True)
    max_confidence_child = models.FloatField(null=True, blank=True)
    # Denormalised counts of the non-rejected faces a curator stood behind (CURATED_STATUSES), by
    # gender and among children: "source=curator" searches and the curated figures of statistics
    # read them instead of the faces (a page's predicted faces are the others).
    curated_face_count = models.PositiveIntegerField(default=0)
    curated_female_count = models.PositiveIntegerField(default=0)
    curated_male_count = models.PositiveIntegerField(default=0)
    curated_unknown_count = models.PositiveIntegerField(default=0)
    curated_child_count = models.PositiveIntegerField(default=0)
    # Denormalised counts of the faces at least this confident (search_confidence, at each of
    # PAGE_COUNT_CONFIDENCE_STEPS), by gender and among children: "min_confidence" at one of these
    # steps, with any bounds on the number of faces per page, is a page column test.
    face_count_50 = models.PositiveIntegerField(default=0)
    female_count_50 = models.PositiveIntegerField(default=0)
    male_count_50 = models.PositiveIntegerField(default=0)
    unknown_count_50 = models.PositiveIntegerField(default=0)
    child_count_50 = models.PositiveIntegerField(default=0)
    face_count_80 = models.PositiveIntegerField(default=0)
    female_count_80 = models.PositiveIntegerField(default=0)
    male_count_80 = models.PositiveIntegerField(default=0)
    unknown_count_80 = models.PositiveIntegerField(default=0)
    child_count_80 = models.PositiveIntegerField(default=0)
    face_count_90 = models.PositiveIntegerField(default=0)
    female_count_90 = models.PositiveIntegerField(default=0)
    male_count_90 = models.PositiveIntegerField(default=0)
    unknown_count_90 = models.PositiveIntegerField(default=0)
    child_count_90 = models.PositiveIntegerField(default=0)
    # A copy of its document's date span (Document.date_start and date_end, same meaning), kept by
    # database triggers (migration 0014) on every insert, move or document date change, so that
    # searches filter and order pages by date without joining their documents.
    document_date = models.DateField(null=True, blank=True, editable=False)
    document_date_end = models.DateField(null=True, blank=True, editable=False)

    class Meta:
        ordering = ["document_id", "order"]
        constraints = [
            models.UniqueConstraint(fields=["document", "canvas_id"], name="page_unique_canvas"),
            models.UniqueConstraint(fields=["document", "order"], name="page_unique_order"),
            models.CheckConstraint(condition=Q(width__gt=0, height__gt=0), name="page_size_positive"),
            models.CheckConstraint(condition=Q(review_status__in=ReviewStatus.values), name="page_review_status_valid"),
            models.CheckConstraint(
                condition=Q(image_service_version__in=["", "1", "2", "3"]),
                name="page_service_version_valid",
            ),
        ]
        indexes = [
            # "Next unreviewed page" queue within a document.
            models.Index(fields=["document", "review_status", "order"], name="page_review_queue_idx"),
            # Search by face count.
            models.Index(fields=["face_count"], name="page_face_count_idx"),
            # Search counts: every filterable page column, so counting reads this narrow index, not the rows.
            models.Index(
                fields=[
                    "is_front_page",
                    "review_status",
                    "face_count",
                    "female_count",
                    "male_count",
                    "child_count",
                    "unknown_count",
                    "document",
                ],
                name="page_search_idx",
            ),
            # Our local scans' image requests find their page (and its corpus) by path.
            models.Index(fields=["local_path"], condition=~Q(local_path=""), name="page_local_path_idx"),
            # Search counts for one confidence or size bound, candidates included, from this index alone.
            models.Index(
                fields=["max_confidence", "max_face_share", "min_face_share", "face_count"],
                name="page_face_extremes_idx",
            ),
            # Search: pages in date order (the default), walked for one slice; date ranges by start,
            # counted from this index alone (it carries the columns the counts test).
            models.Index(
                fields=["document_date", "document", "order"],
                include=PAGE_DATE_COUNT_COLUMNS,
                name="page_date_order_idx",
            ),
            # Search: date ranges by the end of the document's span.
            models.Index(fields=["document_date_end"], name="page_date_end_idx"),
            # Search: whether any page has an end date without a start date (then start bounds do not hold).
            models.Index(
                fields=["document_date_end"],
                condition=Q(document_date__isnull=True, document_date_end__isnull=False),
                name="page_date_end_only_idx",
            ),
            # Front pages of the documents a title or full-text filter leaves (GallicaPix's "Une" studies):
            # found by document without reading the document's other pages.
            models.Index(fields=["document"], condition=Q(is_front_page=True), name="page_front_document_idx"),
            # Search counts by faces of a gender, curated or confident faces per page: the pages with
            # at least one, a range of one index (the search adds the `> 0` test that SQLite needs to
            # pick a partial index).
            *(
                models.Index(fields=[column], condition=Q(**{f"{column}__gt": 0}), name=f"page_{column}_idx")
                for column in (*PAGE_GENDER_COUNT_COLUMNS, *PAGE_CURATED_COUNT_COLUMNS, *PAGE_CONFIDENT_COUNT_COLUMNS)
            ),
            # Search counts by a gender (or children) within a date range, with a face density or front
            # pages: the range of the dates of the pages with such a face, counted from this index alone
            # (PostgreSQL; SQLite gets the partial index without its included columns). Not the review
            # status: a search by it and a gender alone counts faster from page_search_idx, which
            # PostgreSQL would leave for this narrower index if it could.
            *(
                models.Index(
                    fields=["document_date"],
                    include=["document_date_end", "is_front_page", "face_count", column],
                    condition=Q(**{f"{column}__gt": 0}),
                    name=f"page_{column}_date_idx",
                )
                for column in PAGE_GENDER_COUNT_COLUMNS
            ),
            # Search counts for one size bound: a range of one index (a size test implies a face).
            *(
                models.Index(fields=[column], condition=Q(**{f"{column}__isnull": False}), name=f"page_{column}_idx")
                for column in ("max_face_share", "min_face_share")
            ),
        ]

    def __str__(self) -> str:
        return f"{self.document_id} p{self.order}"

    def thumbnail_url(self, width: int = 200) -> str:
        """An IIIF thumbnail of the page (relative for our local scans)."""
        from annotations.iiif.image_api import thumbnail_url

        if self.image_service_id:
            return thumbnail_url(self.image_service_id, self.image_service_version or "2", width)
        return self.image_url

    def face_crop_url(self, face: Face, size: int = 160) -> str:
        """An IIIF crop of one face with a margin, or the full image when there is no service."""
        from annotations.iiif.image_api import face_crop_url

        if not self.image_service_id:
            return self.image_url
        # Boxes are in canvas pixels; the image service may be larger or smaller than the canvas.
        image_w, image_h = self.image_width or self.width, self.image_height or self.height
        sx, sy = image_w / self.width, image_h / self.height
        return face_crop_url(
            self.image_service_id,
            self.image_service_version or "2",
            x=round(face.x * sx),
            y=round(face.y * sy),
            w=max(1, round(face.w * sx)),
            h=max(1, round(face.h * sy)),
            canvas_w=image_w,
            canvas_h=image_h,
            size=size,
        )


class FaceYearSummary(models.Model):
    """Signed counts of faces by corpus, year span, front page, gender, child, status and confidence step.

    Rows are only ever appended, by database triggers (migration 0015) in the transaction of every
    write of a face, page or document: a key's count is the sum of its rows, exact at any time, and
    concurrent writers never wait on one another. `summaries_compact` folds the rows of each key into
    one; `summaries_rebuild` recounts a corpus from its faces.
    """

    # No database constraint: a deleted corpus's faces are counted out before its trigger drops its rows.
    corpus = models.ForeignKey(
        Corpus, on_delete=models.DO_NOTHING, db_constraint=False, db_index=False, related_name="+"
    )
    # The years of the page's document_date and document_date_end (none when undated).
    year = models.IntegerField(null=True)
    end_year = models.IntegerField(null=True)
    is_front_page = models.BooleanField()
    gender = models.CharField(max_length=7)
    child = models.BooleanField()
    status = models.CharField(max_length=10)
    # The highest k with search_confidence >= SUMMARY_CONFIDENCE_STEPS[k]; none for a rejected face.
    confidence_step = models.SmallIntegerField(null=True)
    n = models.IntegerField()

    class Meta:
        indexes = [
            # Statistics read the rows of the visible corpora by year.
            models.Index(fields=["corpus", "year"], name="face_summary_corpus_year_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.n:+} {self.status} {self.gender} faces of corpus {self.corpus_id} in {self.year}"


class PageYearSummary(models.Model):
    """Signed counts of pages by corpus, year span, front page, review status, and the confidence step of
    their most confident face: of any face (selector ''), or of one gender's or the child faces.

    A page without faces counts once, under selector '' and no step; a page counts under a gender's
    selector only when it has a face of that gender. Appended and folded as FaceYearSummary.
    """

    corpus = models.ForeignKey(
        Corpus, on_delete=models.DO_NOTHING, db_constraint=False, db_index=False, related_name="+"
    )
    year = models.IntegerField(null=True)
    end_year = models.IntegerField(null=True)
    is_front_page = models.BooleanField()
    review_status = models.CharField(max_length=10)
    selector = models.CharField(max_length=7, blank=True)
    confidence_step = models.SmallIntegerField(null=True)
    n = models.IntegerField()

    class Meta:
        indexes = [
            # Statistics read the rows of the visible corpora by year.
            models.Index(fields=["corpus", "year"], name="page_summary_corpus_year_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.n:+} pages ({self.selector or 'any'}) of corpus {self.corpus_id} in {self.year}"


class Gender(models.TextChoices):
    FEMALE = "female", _("Female")
    MALE = "male", _("Male")
    UNKNOWN = "unknown", _("Unknown")


class FaceStatus(models.TextChoices):
    PREDICTED = "predicted", _("Predicted")
    ACCEPTED = "accepted", _("Accepted")
    EDITED = "edited", _("Edited")
    ADDED = "added", _("Added")
    REJECTED = "rejected", _("Rejected")


CURATOR_SOURCE = "curator"
# The metadata entry naming the IIIF manifest a document's scans were reproduced from, when they came in as
# files (a LabelMe dataset: annotations/ingest/datasets.py); exports name it as the document's manifest.
SOURCE_MANIFEST = "Source manifest"
# The revision action of a face written by an annotation import (every other action is a curator's).
REVISION_IMPORT = "import"
# Statuses whose box and attributes a curator has confirmed: they pass any confidence threshold.
CURATED_STATUSES = (FaceStatus.ACCEPTED, FaceStatus.EDITED, FaceStatus.ADDED)


class FaceQuerySet(models.QuerySet):
    def visible(self) -> FaceQuerySet:
        """Faces that count: everything but rejected boxes."""
        return self.exclude(status=FaceStatus.REJECTED)

    def curated_by_status(self) -> FaceQuerySet:
        """Faces a curator stood behind, by status: accepted, edited or added (`CURATED_STATUSES`).

        The one meaning of "curated" for statistics (`/stats/`, its CSV, faces-by-year) and for the
        truth a run's kept predictions are evaluated against. Predicted faces are the others that count.
        """
        return self.filter(status__in=CURATED_STATUSES)

    def curated(self) -> FaceQuerySet:
        """Faces re-detection keeps: any status but predicted, or any recorded change but an import.

        Wider than `curated_by_status()` (it includes rejected boxes and predicted faces a curator
        touched), because a re-run must never undo any curator's decision.

        A face accepted and then reverted to `predicted` is still curated: its history is a curator's.
        An imported model prediction (recorded as an import) is not, so a re-run may replace it.
        """
        curator_change = FaceRevision.objects.filter(face=OuterRef("pk")).exclude(action=REVISION_IMPORT)
        return self.filter(~Q(status=FaceStatus.PREDICTED) | Exists(curator_change))


def person_name_key(name: str) -> str:
    """What two spellings of one person's name share: "Joffre", "JOFFRE" and "joffre " are one person."""
    return " ".join(name.split()).casefold()


class Person(models.Model):
    """Someone recognised in a corpus: the faces named after them point here (one person per name in
    a corpus, whatever its case and spacing: `name_key`; `name` is the first spelling given)."""

    corpus = models.ForeignKey(Corpus, on_delete=models.CASCADE, related_name="people")
    name = models.CharField(max_length=200)
    # Casefolding may lengthen a name ("ß" is "ss"): up to three characters for one.
    name_key = models.CharField(max_length=600, editable=False)
    note = models.TextField(blank=True, default="")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["corpus_id", "name"]
        constraints = [
            models.UniqueConstraint(fields=["corpus", "name_key"], name="person_unique_name_key_in_corpus"),
            models.CheckConstraint(condition=~Q(name=""), name="person_name_not_empty"),
            models.CheckConstraint(condition=~Q(name_key=""), name="person_name_key_not_empty"),
        ]

    def __str__(self) -> str:
        return self.name

    def save(self, *args, **kwargs):
        # Every save keeps the key (the services and the admin alike).
        self.name_key = person_name_key(self.name)
        super().save(*args, **kwargs)

    def clean(self):
        # The admin's forms leave the key out of their checks: another spelling of a name the corpus
        # has is a form error here, not a refused INSERT.
        self.name_key = person_name_key(self.name)
        others = Person.objects.filter(corpus_id=self.corpus_id, name_key=self.name_key).exclude(pk=self.pk)
        if self.corpus_id and others.exists():
            raise ValidationError({"name": _("This corpus already has a person of this name.")})


# A face as the API and the review canvas see it (the contract's minimum, and more).
FACE_FIELDS = (
    "id",
    "page",
    "x",
    "y",
    "w",
    "h",
    "confidence",
    "age",
    "age_confidence",
    "gender",
    "gender_confidence",
    "child",
    "status",
    "source",
    "person",
    "person_id",
    "version",
)


class Face(models.Model):
    """A face box in canvas pixels with its predicted or curated attributes."""

    page = models.ForeignKey(Page, on_delete=models.CASCADE, related_name="faces")
    x = models.IntegerField()
    y = models.IntegerField()
    w = models.IntegerField()
    h = models.IntegerField()
    confidence = models.FloatField(default=1.0)
    age = models.FloatField(null=True, blank=True)
    age_confidence = models.FloatField(null=True, blank=True)
    gender = models.CharField(max_length=7, choices=Gender.choices, default=Gender.UNKNOWN)
    gender_confidence = models.FloatField(null=True, blank=True)
    child = models.BooleanField(default=False)
    source = models.CharField(max_length=100, default=CURATOR_SOURCE)
    status = models.CharField(max_length=10, choices=FaceStatus.choices, default=FaceStatus.PREDICTED)
    person = models.ForeignKey(Person, null=True, blank=True, on_delete=models.SET_NULL, related_name="faces")
    detection_run = models.ForeignKey(
        "detection.DetectionRun", null=True, blank=True, on_delete=models.SET_NULL, related_name="faces"
    )
    version = models.PositiveIntegerField(default=1)
    # The token the review canvas sends with a box it asks to create, so a retried or replayed
    # request (its answer lost to the network, a reload or a crash) finds the face it made.
    client_key = models.CharField(max_length=64, blank=True, default="")
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    # The confidence searches filter on, kept by the database: none for a rejected face (it never
    # counts), 1 for a face a curator confirmed (as GallicaPix's manual faces), else the model's.
    # One indexed range then answers "min_confidence" without an OR over statuses.
    search_confidence = models.GeneratedField(
        expression=Case(
            When(status=FaceStatus.REJECTED, then=Value(None)),
            When(status__in=CURATED_STATUSES, then=Value(1.0)),
            default=F("confidence"),
            output_field=models.FloatField(),
        ),
        output_field=models.FloatField(null=True),
        db_persist=True,
    )

    objects = FaceQuerySet.as_manager()

    # Not a column: the id of the revision that recorded the write which returned this face (the
    # face services set it), so a write's answer names the change to undo without another query.
    recorded_revision_id: int | None = None

    class Meta:
        ordering = ["page_id", "y", "x", "id"]
        constraints = [
            models.CheckConstraint(condition=Q(w__gt=0, h__gt=0), name="face_size_positive"),
            models.CheckConstraint(condition=Q(x__gte=0, y__gte=0), name="face_origin_inside"),
            models.CheckConstraint(condition=Q(confidence__gte=0, confidence__lte=1), name="face_confidence_unit"),
            models.CheckConstraint(
                condition=Q(gender_confidence__isnull=True) | Q(gender_confidence__gte=0, gender_confidence__lte=1),
                name="face_gender_confidence_unit",
            ),
            models.CheckConstraint(condition=Q(age__isnull=True) | Q(age__gte=0, age__lte=130), name="face_age_range"),
            models.CheckConstraint(condition=Q(gender__in=Gender.values), name="face_gender_valid"),
            models.CheckConstraint(condition=Q(status__in=FaceStatus.values), name="face_status_valid"),
            models.UniqueConstraint(
                fields=["page", "client_key"], condition=~Q(client_key=""), name="face_unique_client_key"
            ),
        ]
        indexes = [
            # Face search: faces of a page by status (counts, review panel).
            models.Index(fields=["page", "status"], name="face_page_status_idx"),
            # Search across the corpus by gender and confidence: faces, or their pages from this index alone.
            models.Index(fields=["gender", "search_confidence", "page"], name="face_gender_search_conf_idx"),
            # Search: counting a page's selected faces (status, gender, confidence, child, size) from the index alone.
            models.Index(
                fields=["page", "status", "gender", "search_confidence", "child", "w", "h"],
                name="face_page_search_idx",
            ),
            # Search across the corpus: pages with faces above a confidence (of a gender), from the index alone.
            models.Index(fields=["search_confidence", "page", "gender", "child"], name="face_confidence_page_idx"),
            # Search across the corpus by review status or source (curated faces are few).
            models.Index(fields=["status", "page"], name="face_status_page_idx"),
        ]

    def __str__(self) -> str:
        return f"face {self.id} on page {self.page_id}"

    @property
    def person_name(self) -> str:
        """The name of the person on this face ('' when nobody is named)."""
        return self.person.name if self.person_id else ""

    def crop_url(self) -> str:
        """An IIIF crop of this face (its page's image service), as the face lists show it."""
        return self.page.face_crop_url(self)

    def as_box(self) -> tuple[int, int, int, int]:
        """The box as (x, y, w, h) in canvas pixels."""
        return (self.x, self.y, self.w, self.h)

    def iou(self, other: tuple[int, int, int, int]) -> float:
        """Intersection over union with another (x, y, w, h) box."""
        ox, oy, ow, oh = other
        ix = max(0, min(self.x + self.w, ox + ow) - max(self.x, ox))
        iy = max(0, min(self.y + self.h, oy + oh) - max(self.y, oy))
        inter = ix * iy
        union = self.w * self.h + ow * oh - inter
        return inter / union if union else 0.0

    def snapshot(self) -> dict:
        """The editable state, as stored in revisions."""
        return {
            "x": self.x,
            "y": self.y,
            "w": self.w,
            "h": self.h,
            "confidence": self.confidence,
            "age": self.age,
            "gender": self.gender,
            "child": self.child,
            "status": self.status,
            "person": self.person_name,
            "source": self.source,
        }


class FaceRevision(models.Model):
    """One recorded change of a face: who, when, what before, what after."""

    face = models.ForeignKey(Face, on_delete=models.CASCADE, related_name="revisions")
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    action = models.CharField(max_length=20)
    before = models.JSONField(null=True, blank=True)
    after = models.JSONField(null=True, blank=True)
    # The corpus-wide bulk write that made this change (one id per request), so it can be undone as a whole.
    batch = models.UUIDField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [
            # A face's history in the review panel.
            models.Index(fields=["face", "-created_at"], name="revision_face_time_idx"),
            # Undoing a bulk batch: its revisions, face by face (only bulk writes carry a batch).
            models.Index(fields=["batch", "face"], condition=Q(batch__isnull=False), name="revision_batch_face_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.action} of face {self.face_id} by {self.user_id} at {self.created_at:%Y-%m-%d %H:%M}"


class PageReviewChange(models.Model):
    """One change of a page's review status by a curator: who, when, from what, to what.

    The page keeps only its last reviewer (reopening clears it); this keeps every change, including
    the one a curator's first face change of an unreviewed page makes (in review, in the same write).
    """

    page = models.ForeignKey(Page, on_delete=models.CASCADE, related_name="review_changes")
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    before = models.CharField(max_length=10, choices=ReviewStatus.choices)
    after = models.CharField(max_length=10, choices=ReviewStatus.choices)

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(before__in=ReviewStatus.values) & Q(after__in=ReviewStatus.values) & ~Q(before=F("after")),
                name="page_review_change_valid",
            ),
        ]
        indexes = [
            # A page's review history, newest first.
            models.Index(fields=["page", "-created_at"], name="page_review_change_time_idx"),
        ]

    def __str__(self) -> str:
        return (
            f"page {self.page_id}: {self.before} → {self.after} by {self.user_id} at {self.created_at:%Y-%m-%d %H:%M}"
        )


class ExportKind(models.TextChoices):
    LABELME = "labelme", _("LabelMe JSON (+ images)")
    COCO = "coco", _("COCO JSON")
    CSV = "csv", _("CSV, one row per face")
    W3C = "w3c", _("W3C Web Annotations (JSON-LD)")
    IIIF = "iiif", _("IIIF annotation pages + manifest")
    INDEX = "index", _("GallicaPix-style index")


class DatasetImport(Job):
    """A dataset uploaded as a zip (LabelMe or COCO files and their images), imported into a corpus by a worker.

    The zip is kept under MEDIA_ROOT (`upload_path`) until the worker has read it; the report
    (`annotations.ingest.datasets.DatasetImportReport.as_dict`) is written in the uploader's `language`.
    """

    corpus = models.ForeignKey(Corpus, on_delete=models.CASCADE, related_name="dataset_imports")
    # The uploaded zip's own name: its documents' sources are `upload:<name>#d<document>`.
    name = models.CharField(max_length=255)
    # Who the faces come from: `curator`, or the machine that proposed them.
    source = models.CharField(max_length=100)
    boxes_only = models.BooleanField(default=False)
    upload_path = models.TextField(blank=True, help_text="The stored zip, under MEDIA_ROOT, until it is read.")
    language = models.CharField(max_length=10, blank=True)
    report = models.JSONField(default=dict, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.CheckConstraint(condition=Q(status__in=JobStatus.values), name="dataset_import_status_valid"),
        ]

    def __str__(self) -> str:
        return f"dataset import {self.id} ({self.name})"


class Export(Job):
    """A requested export of faces (scope and options as given) and the file it produced."""

    kind = models.CharField(max_length=10, choices=ExportKind.choices)
    # Which pages and faces: corpus, document, review_status and the search filters.
    scope = models.JSONField(default=dict, blank=True)
    # How: include_rejected, with_images, max_size, format, base_url.
    options = models.JSONField(default=dict, blank=True)
    progress_done = models.PositiveIntegerField(default=0)
    progress_total = models.PositiveIntegerField(default=0)
    face_count = models.PositiveIntegerField(default=0)
    file = models.FileField(upload_to="exports/", max_length=300, blank=True)
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.CASCADE, related_name="exports"
    )
    # The corpora whose pages the file holds, recorded by the build: reading the export needs
    # access to each of them (annotations.access), and deleting one deletes the export.
    corpora = models.ManyToManyField(Corpus, blank=True, related_name="exports")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.CheckConstraint(condition=Q(kind__in=ExportKind.values), name="export_kind_valid"),
            models.CheckConstraint(condition=Q(status__in=JobStatus.values), name="export_status_valid"),
            models.CheckConstraint(condition=Q(progress_done__lte=F("progress_total")), name="export_progress_bounded"),
        ]
        indexes = [
            # A user's exports, newest first, on /exports/ and GET /api/exports/.
            models.Index(fields=["requested_by", "-created_at"], name="export_user_time_idx"),
            # Finished exports past their retention period (export_cleanup.exports_purge_expired).
            models.Index(fields=["finished_at"], name="export_finished_idx"),
        ]

    def __str__(self) -> str:
        return f"export {self.id} ({self.kind})"

"""The one place that decides who may see or change a corpus and what is inside it."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from django.core.exceptions import PermissionDenied
from django.db.models import Q, QuerySet
from django.http import Http404
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from annotations.models import (
    Corpus,
    CorpusMembership,
    CorpusRole,
    DatasetImport,
    Document,
    Export,
    Face,
    Page,
    Person,
)

ROLE_RANK = {CorpusRole.VIEWER: 1, CorpusRole.CURATOR: 2, CorpusRole.ADMIN: 3}


def corpora_visible_to(user) -> QuerySet[Corpus]:
    """Corpora the user may view: public ones, their own, and those they are a member of."""
    if user is not None and user.is_authenticated and user.is_superuser:
        return Corpus.objects.all()
    visible = Q(is_public=True)
    if user is not None and user.is_authenticated:
        visible |= Q(owner=user) | Q(memberships__user=user)
    return Corpus.objects.filter(visible).distinct()


def corpus_role(user, corpus: Corpus) -> str | None:
    """The user's role in the corpus; viewers of public corpora get 'viewer'."""
    if user is not None and user.is_authenticated:
        if user.is_superuser or corpus.owner_id == user.pk:
            return CorpusRole.ADMIN
        # get(), not first(): one membership per corpus and user, and no ORDER BY to build.
        try:
            return CorpusMembership.objects.values_list("role", flat=True).get(corpus=corpus, user=user)
        except CorpusMembership.DoesNotExist:
            pass
    return CorpusRole.VIEWER if corpus.is_public else None


# The 404 text of each kind of object `_by_id` looks up.
NOT_FOUND = {
    "corpus": gettext_lazy("No such corpus"),
    "document": gettext_lazy("No such document"),
    "face": gettext_lazy("No such face"),
    "page": gettext_lazy("No such page"),
    "export": gettext_lazy("No such export"),
    "person": gettext_lazy("No such person"),
    "member": gettext_lazy("No such member"),
    "dataset import": gettext_lazy("No such dataset import"),
}


def role_at_least(role: str | None, minimum: str) -> bool:
    """Whether a role (None: none in the corpus) is `minimum` or above."""
    return role is not None and ROLE_RANK[role] >= ROLE_RANK[minimum]


def require_role(user, corpus: Corpus, role: str, *, not_found: str) -> None:
    """Raise 404 when the user cannot see the corpus and 403 when the role is too low.

    `not_found` is the 404 text of an unknown id of the object looked up: an object in a corpus the
    user may not see answers exactly as one that does not exist, so its existence does not leak.
    """
    current = corpus_role(user, corpus)
    if current is None:
        raise Http404(not_found)
    if ROLE_RANK[current] < ROLE_RANK[role]:
        raise PermissionDenied(
            _("This needs the %(role)s role in corpus %(corpus)r") % {"role": role, "corpus": corpus.name}
        )


def _by_id(queryset: QuerySet, pk: int, name: str):
    """One object by primary key, or 404.

    get(), not filter().first(): a key lookup needs no ORDER BY (building the models' default
    ordering was a third of a face lookup), and every read and save of an object starts here.
    """
    try:
        return queryset.get(pk=pk)
    except queryset.model.DoesNotExist:
        raise Http404(NOT_FOUND[name]) from None


def get_corpus_for_user(user, corpus_id: int, role: str = CorpusRole.VIEWER) -> Corpus:
    """A corpus by id, checked for the role."""
    corpus = _by_id(Corpus.objects.all(), corpus_id, "corpus")
    require_role(user, corpus, role, not_found=NOT_FOUND["corpus"])
    return corpus


def get_membership_for_user(user, corpus_id: int, member_id: int) -> CorpusMembership:
    """A member (by user id) of a corpus the user administers: 404 for someone who is not a member."""
    corpus = get_corpus_for_user(user, corpus_id, CorpusRole.ADMIN)
    try:
        return CorpusMembership.objects.select_related("user", "corpus").get(corpus=corpus, user_id=member_id)
    except CorpusMembership.DoesNotExist:
        raise Http404(NOT_FOUND["member"]) from None


def may_hand_over(user, corpus: Corpus) -> bool:
    """Whether the user may give the corpus another owner, or delete it: its owner, or an operator (a superuser)."""
    return user.is_superuser or (user.is_authenticated and corpus.owner_id == user.pk)


def get_corpus_owned_by_user(user, corpus_id: int) -> Corpus:
    """A corpus the user may hand over or delete (`may_hand_over`): 404 when they cannot see it, 403 when they
    can but it is not theirs (an admin member may not make themselves its owner, nor delete it)."""
    corpus = get_corpus_for_user(user, corpus_id)
    if not may_hand_over(user, corpus):
        raise PermissionDenied(_("Only the owner of a corpus can hand it over or delete it."))
    return corpus


def corpora_named_for_user(user, name: str, role: str = CorpusRole.VIEWER) -> list[Corpus]:
    """The corpora of exactly that name in which the user has `role` or above.

    Names are unique per owner, not across users: several corpora the user can see may share one,
    and a corpus the user cannot see is never among them, whatever its name.
    """
    named = list(corpora_visible_to(user).filter(name=name).order_by("pk"))
    roles = corpus_roles(user, [corpus.pk for corpus in named])
    return [corpus for corpus in named if role_at_least(roles[corpus.pk], role)]


def get_document_for_user(user, document_id: int, role: str = CorpusRole.VIEWER) -> Document:
    """A document by id, checked for the role."""
    document = _by_id(Document.objects.select_related("corpus"), document_id, "document")
    require_role(user, document.corpus, role, not_found=NOT_FOUND["document"])
    return document


def get_page_for_user(user, page_id: int, role: str = CorpusRole.VIEWER) -> Page:
    """A page by id, checked for the role."""
    page = _by_id(Page.objects.select_related("document__corpus"), page_id, "page")
    require_role(user, page.document.corpus, role, not_found=NOT_FOUND["page"])
    return page


def get_face_for_user(user, face_id: int, role: str = CorpusRole.VIEWER) -> Face:
    """A face by id, checked for the role."""
    face = _by_id(Face.objects.select_related("page__document__corpus", "person"), face_id, "face")
    require_role(user, face.page.document.corpus, role, not_found=NOT_FOUND["face"])
    return face


def get_person_for_user(user, person_id: int, role: str = CorpusRole.VIEWER) -> Person:
    """A person by id, checked for the role in their corpus."""
    person = _by_id(Person.objects.select_related("corpus"), person_id, "person")
    require_role(user, person.corpus, role, not_found=NOT_FOUND["person"])
    return person


def get_local_scan_for_user(user, key: str, name: str) -> Page:
    """The page of a local scan (our IIIF Image API), through the document that owns the files.

    The key is the document's own random key, and the file must be one of that document's pages:
    a page of any other document naming the same file serves nothing. A key the user may not view
    answers 404 like an unknown one, so its existence does not leak.
    """
    try:
        document = Document.objects.select_related("corpus").get(local_key=key) if key else None
    except Document.DoesNotExist:
        document = None
    if document is None:
        raise Http404(_("No such image")) from None
    if corpus_role(user, document.corpus) is None:
        raise Http404(_("No such image"))
    try:
        page = document.pages.get(local_path=f"{document.local_folder}/{name}")
    except Page.DoesNotExist:
        raise Http404(_("No such image")) from None
    page.document = document
    return page


def documents_visible_to(user) -> QuerySet[Document]:
    """Documents in corpora the user may view."""
    return Document.objects.filter(corpus__in=corpora_visible_to(user))


def pages_visible_to(user) -> QuerySet[Page]:
    """Pages in corpora the user may view."""
    return Page.objects.filter(document__corpus__in=corpora_visible_to(user))


def faces_visible_to(user) -> QuerySet[Face]:
    """Faces in corpora the user may view."""
    return Face.objects.filter(page__document__corpus__in=corpora_visible_to(user))


def exports_visible_to(user) -> QuerySet[Export]:
    """Exports the user requested (all of them for superusers), while the user may view every corpus they hold.

    An export's file holds pages of the corpora its build recorded (Export.corpora); a requester
    who has since lost access to one of them no longer sees the export (issue #13).
    """
    if user is None or not user.is_authenticated:
        return Export.objects.none()
    if user.is_superuser:
        return Export.objects.all()
    hidden = Corpus.objects.exclude(pk__in=corpora_visible_to(user).values("pk"))
    return Export.objects.filter(requested_by=user).exclude(corpora__in=hidden)


def get_export_for_user(user, export_id: int) -> Export:
    """An export by id: its requester's (or a superuser's), while every corpus it holds and its scope are visible."""
    export = _by_id(exports_visible_to(user), export_id, "export")
    corpus_id, document_id = export.scope.get("corpus"), export.scope.get("document")
    if document_id is not None:
        get_document_for_user(user, document_id)
    elif corpus_id is not None:
        get_corpus_for_user(user, corpus_id)
    return export


def dataset_imports_of_user(user, *, limit: int) -> list[DatasetImport]:
    """The user's latest dataset imports, newest first, of the corpora they still curate."""
    if user is None or not user.is_authenticated:
        return []
    latest = list(DatasetImport.objects.filter(created_by=user).select_related("corpus").order_by("-pk")[:limit])
    roles = corpus_roles(user, {job.corpus_id for job in latest})
    return [job for job in latest if role_at_least(roles[job.corpus_id], CorpusRole.CURATOR)]


def get_dataset_import_for_user(user, import_id: int) -> DatasetImport:
    """A dataset import by id, for the curators of its corpus (its report names the corpus's documents)."""
    job = _by_id(DatasetImport.objects.select_related("corpus"), import_id, "dataset import")
    require_role(user, job.corpus, CorpusRole.CURATOR, not_found=NOT_FOUND["dataset import"])
    return job


def corpus_roles(user, corpus_ids: Iterable[int]) -> dict[int, str | None]:
    """The user's role in each of these corpora (as corpus_role), in two queries whatever their number."""
    corpora = {corpus.pk: corpus for corpus in Corpus.objects.filter(pk__in=set(corpus_ids))}
    members: dict[int, str] = {}
    if user is not None and user.is_authenticated and not user.is_superuser:
        members = dict(
            CorpusMembership.objects.filter(user=user, corpus_id__in=corpora).values_list("corpus_id", "role")
        )
    roles: dict[int, str | None] = {}
    for pk, corpus in corpora.items():
        if user is not None and user.is_authenticated and (user.is_superuser or corpus.owner_id == user.pk):
            roles[pk] = CorpusRole.ADMIN
        else:
            roles[pk] = members.get(pk) or (CorpusRole.VIEWER if corpus.is_public else None)
    return roles


@dataclass(frozen=True)
class FacesAccess:
    """Faces named by id, sorted by what the user may do with them."""

    allowed: set[int]
    # Visible, but the user's role in its corpus is too low.
    forbidden: set[int]
    # Unknown, or in a corpus the user may not view (the two look the same, so existence does not leak).
    not_found: set[int]

    def require_some(self) -> None:
        """Refuse a request none of whose faces the user may change: 404 when none is visible, else 403."""
        if self.allowed:
            return
        if self.forbidden:
            raise PermissionDenied(_("You may not change these faces: that needs the curator role in their corpus."))
        raise Http404(_("No such face"))


def faces_access_for_user(user, face_ids: Iterable[int], role: str = CorpusRole.VIEWER) -> FacesAccess:
    """Sort faces from any corpora by the user's role in each face's corpus (a bulk write's check)."""
    face_ids = set(face_ids)
    corpus_of = dict(Face.objects.filter(pk__in=face_ids).values_list("pk", "page__document__corpus_id"))
    roles = corpus_roles(user, corpus_of.values())
    allowed, forbidden = set(), set()
    for face_id, corpus_id in corpus_of.items():
        current = roles.get(corpus_id)
        if current is None:
            continue
        (allowed if ROLE_RANK[current] >= ROLE_RANK[role] else forbidden).add(face_id)
    return FacesAccess(allowed=allowed, forbidden=forbidden, not_found=face_ids - allowed - forbidden)


class CuratorNames:
    """Which corpora name their curators (who edited, reviewed, ran or trained what) to one reader: their
    members, owners and operators read the names; anyone else reading a public corpus reads that a curator
    did it, unless the corpus shows its curators' names (`Corpus.curator_names_public`). Read in one query,
    the first time it is asked, whatever the number of corpora and names shown."""

    def __init__(self, user):
        self.user = user
        self._naming: set[int] | None = None

    def shown(self, corpus_id: int) -> bool:
        user = self.user
        authenticated = user is not None and user.is_authenticated
        if authenticated and user.is_superuser:
            return True
        if self._naming is None:
            naming = Q(curator_names_public=True)
            if authenticated:
                naming |= Q(owner=user) | Q(memberships__user=user)
            self._naming = set(Corpus.objects.filter(naming).values_list("pk", flat=True))
        return corpus_id in self._naming

"""A corpus's settings page: its admins change its name, description and visibility, its members' roles,
and read the history of those changes; its owner hands it over or deletes it once empty (the same
services, inputs and versions as the API)."""

import math

from django.conf import settings
from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.http import Http404
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from rest_framework.exceptions import ValidationError

from annotations import selectors
from annotations.access import (
    corpus_role,
    get_corpus_for_user,
    get_corpus_owned_by_user,
    get_membership_for_user,
    may_hand_over,
)
from annotations.models import Corpus, CorpusRole
from annotations.serializers import (
    AccessVersionInputSerializer,
    CorpusMemberAddInputSerializer,
    CorpusMemberRoleInputSerializer,
    CorpusOwnerInputSerializer,
    CorpusUpdateInputSerializer,
)
from annotations.services import (
    CorpusAccessConflict,
    CorpusAccessRefused,
    corpus_delete,
    corpus_member_remove,
    corpus_member_set,
    corpus_owner_set,
    corpus_update,
)
from frontend.query import page_takes_query
from webapp.exceptions import validation_error_text
from webapp.ids import id_param
from webapp.throttling import throttled


@page_takes_query()
def corpus_settings(request, corpus_id: int, query):
    corpus = get_corpus_for_user(request.user, corpus_id, CorpusRole.ADMIN)
    if request.method == "POST":
        # An addition counts with the API's (it names a user: names cannot be tried one after another).
        refused = throttled(request, "members") if request.POST.get("action") == "add" else None
        if refused is not None:
            return refused
        deleted = _change(request, corpus) and request.POST.get("action") == "delete"
        # A deleted corpus, or one whose admin gave up their own admin role (or left), leads home.
        if deleted or corpus_role(request.user, corpus) != CorpusRole.ADMIN:
            return redirect("home")
        return redirect("corpus", corpus_id=corpus.pk)
    members = selectors.corpus_members(corpus=corpus)
    owns = may_hand_over(request.user, corpus)
    return render(
        request,
        "frontend/corpus.html",
        {
            "corpus": corpus,
            "members": members,
            "may_hand_over": owns,
            # What keeps the owner from deleting it here (nothing: an empty corpus).
            "holdings": selectors.corpus_holdings(corpus=corpus) if owns else None,
            "heirs": [membership for membership in members if membership.role == CorpusRole.ADMIN],
            "history": [(change, _change_words(change)) for change in selectors.corpus_access_history(corpus=corpus)],
            "roles": CorpusRole.choices,
            "image_cache_minutes": math.ceil(settings.IIIF_IMAGE_CACHE_SECONDS / 60),
        },
    )


def _change(request, corpus: Corpus) -> bool:
    """Apply one form of the page (its `action`), and say what happened or why nothing did; whether it applied."""
    fields = request.POST.copy()
    action = fields.pop("action", [""])[0]
    apply = _CHANGES.get(action)
    if apply is None:
        messages.error(request, _("Unknown change; nothing was saved."))
        return False
    try:
        messages.success(request, apply(request, corpus, fields))
        return True
    except ValidationError as exc:
        messages.error(request, _("Not saved: %(reason)s") % {"reason": validation_error_text(exc.detail)})
    except CorpusAccessRefused as exc:
        messages.error(request, _("Not saved: %(reason)s") % {"reason": exc.message})
    except (Http404, PermissionDenied) as exc:
        # A member taken out meanwhile (in another tab), or a hand-over by someone who does not own the
        # corpus: the corpus itself was checked above.
        messages.error(request, _("Not saved: %(reason)s") % {"reason": exc})
    except CorpusAccessConflict:
        messages.error(
            request,
            _("Not saved: someone else changed this corpus's settings or members meanwhile. Here they are now."),
        )
    return False


def _settings_saved(request, corpus: Corpus, fields) -> str:
    changes = _valid(CorpusUpdateInputSerializer, fields)
    access_version = changes.pop("access_version")
    corpus_update(corpus=corpus, user=request.user, access_version=access_version, changes=changes)
    return _("Settings saved.")


def _member_added(request, corpus: Corpus, fields) -> str:
    payload = _valid(CorpusMemberAddInputSerializer, fields)
    member = selectors.user_named(username=payload["username"])
    if member is None:
        raise CorpusAccessRefused("username", _("No user of this name."))
    return _role_given(request, corpus, member, payload)


def _role_changed(request, corpus: Corpus, fields) -> str:
    member = _membership(request, corpus, fields).user
    return _role_given(request, corpus, member, _valid(CorpusMemberRoleInputSerializer, fields))


def _role_given(request, corpus: Corpus, member, payload: dict) -> str:
    corpus_member_set(
        corpus=corpus,
        user=request.user,
        access_version=payload["access_version"],
        member=member,
        role=payload["role"],
    )
    return _("%(user)s is now %(role)s.") % {"user": member.get_username(), "role": CorpusRole(payload["role"]).label}


def _member_removed(request, corpus: Corpus, fields) -> str:
    membership = _membership(request, corpus, fields)
    payload = _valid(AccessVersionInputSerializer, fields)
    corpus_member_remove(membership=membership, user=request.user, access_version=payload["access_version"])
    return _("%(user)s is no longer a member.") % {"user": membership.user.get_username()}


def _owner_changed(request, corpus: Corpus, fields) -> str:
    corpus = get_corpus_owned_by_user(request.user, corpus.pk)
    payload = _valid(CorpusOwnerInputSerializer, fields)
    corpus = corpus_owner_set(
        corpus=corpus, user=request.user, access_version=payload["access_version"], new_owner_id=payload["member"]
    )
    return _("%(user)s is now the owner of this corpus.") % {"user": corpus.owner.get_username()}


def _corpus_deleted(request, corpus: Corpus, fields) -> str:
    corpus = get_corpus_owned_by_user(request.user, corpus.pk)
    payload = _valid(AccessVersionInputSerializer, fields)
    corpus_delete(corpus=corpus, user=request.user, access_version=payload["access_version"])
    return _("Corpus “%(name)s” deleted.") % {"name": corpus.name}


def _membership(request, corpus: Corpus, fields):
    """The member a role or removal form names, taken out of its fields (404 for one who is not, or no
    longer, a member)."""
    member_id = fields.pop("member", [""])[-1]
    return get_membership_for_user(request.user, corpus.pk, id_param({"member": member_id}, "member"))


_CHANGES = {
    "settings": _settings_saved,
    "add": _member_added,
    "role": _role_changed,
    "remove": _member_removed,
    "owner": _owner_changed,
    "delete": _corpus_deleted,
}


def _valid(serializer_class, fields) -> dict:
    payload = serializer_class(data=fields)
    payload.is_valid(raise_exception=True)
    return dict(payload.validated_data)


def _change_words(change) -> list[str]:
    """One recorded change's fields as the reader reads them: "Visibility: private → public"."""
    labels = {
        "name": _("Name"),
        "description": _("Description"),
        "is_public": _("Visibility"),
        "curator_names_public": _("Curators’ names"),
        "owner": _("Owner"),
        "role": _("Role"),
        "document": _("Document"),
        "pages": _("Pages"),
        "faces": _("Faces"),
    }
    return [
        _("%(field)s: %(before)s → %(after)s")
        % {
            "field": labels[field],
            "before": _value_words(field, change.before.get(field)),
            "after": _value_words(field, change.after.get(field)),
        }
        for field in sorted(change.before.keys() | change.after.keys(), key=list(labels).index)
    ]


def _value_words(field: str, value) -> str:
    if value is None:
        return "–"
    if field == "is_public":
        return _("public") if value else _("private")
    if field == "curator_names_public":
        return _("shown to everyone") if value else _("members only")
    if field == "role":
        return CorpusRole(value).label
    return str(value) or "–"

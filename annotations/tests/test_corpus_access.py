"""A corpus's admins decide, in the app, who may see or change it: its name, description and visibility,
and its members' roles. Every change names the access version it was based on and is recorded (who,
when, before, after); nobody below admin reads the members or changes anything.
"""

from __future__ import annotations

import pytest

from annotations.models import Corpus, CorpusAccessChange, CorpusMembership, CorpusRole
from tests.support.clients import api_client

pytestmark = pytest.mark.django_db


def members(user, corpus) -> list[tuple[str, str]]:
    response = api_client(user).get(f"/api/corpora/{corpus.pk}/members/")
    assert response.status_code == 200, response.content
    return [(member["username"], member["role"]) for member in response.json()["members"]]


def history(user, corpus) -> list[tuple]:
    response = api_client(user).get(f"/api/corpora/{corpus.pk}/access-history/")
    assert response.status_code == 200, response.content
    return [(c["user"], c["action"], c["member"], c["before"], c["after"]) for c in response.json()]


def test_an_admin_makes_a_private_corpus_public_and_anonymous_visitors_then_see_it(corpus_admin, corpus, client):
    assert client.get(f"/api/corpora/{corpus.pk}/").status_code == 404

    response = api_client(corpus_admin).patch(
        f"/api/corpora/{corpus.pk}/", {"is_public": True, "access_version": 1}, format="json"
    )

    assert response.status_code == 200, response.content
    assert response.json()["is_public"] is True
    assert response.json()["access_version"] == 2
    assert response.json()["role"] == "admin"
    anonymous = client.get(f"/api/corpora/{corpus.pk}/")
    assert anonymous.status_code == 200
    assert anonymous.json()["role"] == "viewer"
    assert history(corpus_admin, corpus) == [("dora", "settings", "", {"is_public": False}, {"is_public": True})]


def test_an_admin_renames_a_corpus_and_the_history_keeps_the_old_name(corpus_admin, corpus):
    response = api_client(corpus_admin).patch(
        f"/api/corpora/{corpus.pk}/",
        {"name": "Excelsior 1910-1920", "description": "Front pages", "access_version": 1},
        format="json",
    )

    assert response.status_code == 200, response.content
    corpus.refresh_from_db()
    assert (corpus.name, corpus.description) == ("Excelsior 1910-1920", "Front pages")
    [(user, action, _member, before, after)] = history(corpus_admin, corpus)
    assert (user, action) == ("dora", "settings")
    assert before == {"name": "Excelsior", "description": ""}
    assert after == {"name": "Excelsior 1910-1920", "description": "Front pages"}


def test_a_rename_onto_a_name_its_owner_already_uses_is_refused_and_changes_nothing(alice, django_user_model):
    owner = django_user_model.objects.create_user("eve")
    Corpus.objects.create(name="Posters", owner=owner, is_public=False)
    albums = Corpus.objects.create(name="Albums", owner=owner, is_public=False)

    response = api_client(owner).patch(
        f"/api/corpora/{albums.pk}/", {"name": "Posters", "access_version": 1}, format="json"
    )

    assert response.status_code == 400
    assert "name" in response.json()
    albums.refresh_from_db()
    assert (albums.name, albums.access_version) == ("Albums", 1)
    assert not CorpusAccessChange.objects.exists()


def test_an_admin_adds_a_member_changes_their_role_and_removes_them_each_recorded(corpus_admin, charlie, corpus):
    admin = api_client(corpus_admin)
    added = admin.post(
        f"/api/corpora/{corpus.pk}/members/",
        {"username": "charlie", "role": "viewer", "access_version": 1},
        format="json",
    )
    assert added.status_code == 201, added.content
    assert ("charlie", "viewer") in members(corpus_admin, corpus)
    assert api_client(charlie).get(f"/api/corpora/{corpus.pk}/").json()["role"] == "viewer"

    changed = admin.patch(
        f"/api/corpora/{corpus.pk}/members/{charlie.pk}/", {"role": "curator", "access_version": 2}, format="json"
    )
    assert changed.status_code == 200, changed.content
    assert ("charlie", "curator") in [(m["username"], m["role"]) for m in changed.json()["members"]]

    removed = admin.delete(f"/api/corpora/{corpus.pk}/members/{charlie.pk}/?access_version=3")
    assert removed.status_code == 200, removed.content
    assert "charlie" not in [name for name, _role in members(corpus_admin, corpus)]
    assert api_client(charlie).get(f"/api/corpora/{corpus.pk}/").status_code == 404, "a private corpus hides again"
    assert history(corpus_admin, corpus) == [
        ("dora", "member_removed", "charlie", {"role": "curator"}, {}),
        ("dora", "role_changed", "charlie", {"role": "viewer"}, {"role": "curator"}),
        ("dora", "member_added", "charlie", {}, {"role": "viewer"}),
    ]


def test_a_change_based_on_an_old_access_version_is_refused_and_writes_nothing(corpus_admin, charlie, corpus):
    assert (
        api_client(corpus_admin)
        .patch(f"/api/corpora/{corpus.pk}/", {"is_public": True, "access_version": 1}, format="json")
        .status_code
        == 200
    )

    stale = api_client(corpus_admin).post(
        f"/api/corpora/{corpus.pk}/members/",
        {"username": "charlie", "role": "admin", "access_version": 1},
        format="json",
    )

    assert stale.status_code == 409
    assert stale.json()["corpus"]["access_version"] == 2
    assert not CorpusMembership.objects.filter(user=charlie).exists()
    assert len(history(corpus_admin, corpus)) == 1


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"username": "nobody", "role": "viewer", "access_version": 1}, "username"),
        ({"username": "charlie", "role": "owner", "access_version": 1}, "role"),
        ({"username": "charlie", "role": "viewer"}, "access_version"),
        ({"username": "charlie", "role": "viewer", "access_version": 1, "is_superuser": True}, "is_superuser"),
    ],
)
def test_a_bad_member_request_names_what_is_wrong_and_changes_nothing(corpus_admin, charlie, corpus, body, field):
    response = api_client(corpus_admin).post(f"/api/corpora/{corpus.pk}/members/", body, format="json")

    assert response.status_code == 400
    assert field in response.json()
    corpus.refresh_from_db()
    assert corpus.access_version == 1
    assert not CorpusMembership.objects.filter(user=charlie).exists()


def test_the_owner_cannot_be_given_a_lesser_role(django_user_model):
    owner = django_user_model.objects.create_user("eve")
    other_admin = django_user_model.objects.create_user("fay")
    corpus = Corpus.objects.create(name="Albums", owner=owner, is_public=False)
    CorpusMembership.objects.create(corpus=corpus, user=other_admin, role=CorpusRole.ADMIN)

    response = api_client(other_admin).post(
        f"/api/corpora/{corpus.pk}/members/", {"username": "eve", "role": "viewer", "access_version": 1}, format="json"
    )

    assert response.status_code == 400
    assert "username" in response.json()
    assert api_client(owner).get(f"/api/corpora/{corpus.pk}/").json()["role"] == "admin"


def test_curators_and_viewers_neither_read_the_members_nor_change_anything(alice, bob, corpus):
    for user in (alice, bob):
        client = api_client(user)
        assert client.get(f"/api/corpora/{corpus.pk}/").status_code == 200
        assert client.get(f"/api/corpora/{corpus.pk}/members/").status_code == 403
        assert client.get(f"/api/corpora/{corpus.pk}/access-history/").status_code == 403
        assert (
            client.patch(f"/api/corpora/{corpus.pk}/", {"is_public": True, "access_version": 1}, format="json")
        ).status_code == 403
        assert (client.delete(f"/api/corpora/{corpus.pk}/members/{alice.pk}/?access_version=1")).status_code == 403
    corpus.refresh_from_db()
    assert (corpus.is_public, corpus.access_version) == (False, 1)
    assert CorpusMembership.objects.filter(corpus=corpus).count() == 2


def test_a_user_who_is_not_a_member_answers_404_to_a_role_change(corpus_admin, charlie, corpus):
    response = api_client(corpus_admin).patch(
        f"/api/corpora/{corpus.pk}/members/{charlie.pk}/", {"role": "admin", "access_version": 1}, format="json"
    )

    assert response.status_code == 404
    assert not CorpusMembership.objects.filter(user=charlie).exists()


def test_a_corpus_made_without_saying_is_private():
    """Imports make private corpora; one made anywhere else (Django's admin, a shell) is private too unless told."""
    assert Corpus.objects.create(name="Made in the admin").is_public is False
    assert Corpus._meta.get_field("is_public").default is False


def test_a_shared_corpus_renamed_onto_another_shared_corpus_s_name_is_refused(corpus_admin, corpus):
    Corpus.objects.create(name="Miroir", is_public=False)

    response = api_client(corpus_admin).patch(
        f"/api/corpora/{corpus.pk}/", {"name": "Miroir", "access_version": 1}, format="json"
    )

    assert response.status_code == 400
    assert response.json() == {"name": ["Another shared corpus has this name."]}
    corpus.refresh_from_db()
    assert corpus.name == "Excelsior"


def test_the_settings_page_says_so_when_a_member_was_taken_out_meanwhile(corpus_admin, bob, corpus, client):
    client.force_login(corpus_admin)
    CorpusMembership.objects.filter(corpus=corpus, user=bob).delete()

    response = client.post(
        f"/corpora/{corpus.pk}/", {"action": "remove", "member": bob.pk, "access_version": 1}, follow=True
    )

    assert response.status_code == 200
    assert [str(message) for message in response.context["messages"]] == ["Not saved: No such member"]


@pytest.mark.parametrize(
    ("form", "said"),
    [
        ({"action": "archive", "access_version": 1}, "Unknown change; nothing was saved."),
        ({"action": "delete", "access_version": 1}, "Not saved: Only the owner of a corpus"),
        ({"access_version": 1}, "Unknown change; nothing was saved."),
        (
            {"action": "role", "member": "{bob}", "role": "owner", "access_version": 1},
            'Not saved: role: "owner" is not',
        ),
        ({"action": "add", "username": "nobody", "role": "viewer", "access_version": 1}, "Not saved: No user of"),
        ({"action": "remove", "member": "abc", "access_version": 1}, "Not saved: member: Give an id"),
        ({"action": "owner", "member": "{bob}", "access_version": 1}, "Not saved: Only the owner of a corpus"),
        ({"action": "settings", "member": "{bob}", "is_public": "true", "access_version": 1}, "Not saved: member: "),
    ],
)
def test_a_settings_form_that_cannot_apply_says_why_and_changes_nothing(corpus_admin, bob, corpus, client, form, said):
    client.force_login(corpus_admin)
    before = (members(corpus_admin, corpus), history(corpus_admin, corpus))
    form = {key: str(bob.pk) if value == "{bob}" else value for key, value in form.items()}

    response = client.post(f"/corpora/{corpus.pk}/", form, follow=True)

    assert response.status_code == 200
    [message] = [str(message) for message in response.context["messages"]]
    assert message.startswith(said)
    corpus.refresh_from_db()
    assert corpus.access_version == 1
    assert (members(corpus_admin, corpus), history(corpus_admin, corpus)) == before


def test_an_operator_s_changes_in_django_s_admin_are_recorded_and_move_the_version_on(corpus, alice, bob, charlie):
    """Django's admin is the operators' way in: its changes of visibility and members are recorded too,
    and a settings form read before them is refused."""
    from django.contrib.auth import get_user_model
    from django.test import Client

    operator = get_user_model().objects.create_superuser("root", password="root-password-123")
    client = Client()
    client.force_login(operator)
    alice_membership = CorpusMembership.objects.get(corpus=corpus, user=alice)
    bob_membership = CorpusMembership.objects.get(corpus=corpus, user=bob)
    form = {
        "name": "Excelsior",
        "description": "",
        "owner": "",
        "is_public": "on",
        "memberships-TOTAL_FORMS": "3",
        "memberships-INITIAL_FORMS": "2",
        "memberships-MIN_NUM_FORMS": "0",
        "memberships-MAX_NUM_FORMS": "1000",
        "memberships-0-id": alice_membership.pk,
        "memberships-0-corpus": corpus.pk,
        "memberships-0-user": alice.pk,
        "memberships-0-role": "admin",
        "memberships-1-id": bob_membership.pk,
        "memberships-1-corpus": corpus.pk,
        "memberships-1-user": bob.pk,
        "memberships-1-role": "viewer",
        "memberships-1-DELETE": "on",
        "memberships-2-corpus": corpus.pk,
        "memberships-2-user": charlie.pk,
        "memberships-2-role": "viewer",
    }

    response = client.post(f"/admin/annotations/corpus/{corpus.pk}/change/", form)

    assert response.status_code == 302, response.content.decode()[:2000]
    corpus.refresh_from_db()
    assert corpus.is_public and corpus.access_version > 1
    changes = {
        (change.action, change.member_name, str(change.before), str(change.after))
        for change in CorpusAccessChange.objects.filter(corpus=corpus, user=operator)
    }
    assert changes == {
        ("settings", "", "{'is_public': False}", "{'is_public': True}"),
        ("role_changed", "alice", "{'role': 'curator'}", "{'role': 'admin'}"),
        ("member_removed", "bob", "{'role': 'viewer'}", "{}"),
        ("member_added", "charlie", "{}", "{'role': 'viewer'}"),
    }
    stale = api_client(alice).patch(
        f"/api/corpora/{corpus.pk}/", {"is_public": False, "access_version": 1}, format="json"
    )
    assert stale.status_code == 409

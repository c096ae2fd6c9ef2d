"""A corpus's owner hands it over to one of its admins in the app (a curator leaving the library): the new
owner can no longer be demoted, the old one stays an admin member, and the change is recorded like any
other. Nobody else may do it but an operator (a superuser), who also hands over the shared corpora.
"""

from __future__ import annotations

import pytest

from annotations.models import Corpus, CorpusMembership, CorpusRole
from tests.support.clients import api_client
from webapp.ids import ID_MESSAGE

pytestmark = pytest.mark.django_db


@pytest.fixture
def erin(django_user_model):
    return django_user_model.objects.create_user("erin")


@pytest.fixture
def owned(erin, alice, bob, django_user_model):
    """erin's corpus: frank is its admin, alice its curator, bob its viewer."""
    corpus = Corpus.objects.create(name="Excelsior 1915", owner=erin, is_public=False)
    frank = django_user_model.objects.create_user("frank")
    CorpusMembership.objects.create(corpus=corpus, user=frank, role=CorpusRole.ADMIN)
    CorpusMembership.objects.create(corpus=corpus, user=alice, role=CorpusRole.CURATOR)
    CorpusMembership.objects.create(corpus=corpus, user=bob, role=CorpusRole.VIEWER)
    return corpus


def hand_over(user, corpus, member_id, access_version=1):
    return api_client(user).put(
        f"/api/corpora/{corpus.pk}/owner/", {"member": member_id, "access_version": access_version}, format="json"
    )


def state(corpus) -> tuple:
    corpus.refresh_from_db()
    roles = sorted(CorpusMembership.objects.filter(corpus=corpus).values_list("user__username", "role"))
    return (
        corpus.owner.get_username() if corpus.owner else None,
        corpus.access_version,
        roles,
        corpus.access_changes.count(),
    )


def test_the_owner_hands_the_corpus_over_to_an_admin_who_cannot_then_be_demoted(erin, owned):
    frank = owned.memberships.get(role=CorpusRole.ADMIN).user

    response = hand_over(erin, owned, frank.pk)

    assert response.status_code == 200, response.content
    assert response.json()["owner"] == "frank"
    assert {"user": erin.pk, "username": "erin", "role": "admin"} in response.json()["members"], "erin stays an admin"
    assert state(owned) == ("frank", 2, [("alice", "curator"), ("bob", "viewer"), ("erin", "admin")], 1)
    [change] = api_client(frank).get(f"/api/corpora/{owned.pk}/access-history/").json()
    assert (change["user"], change["action"], change["before"], change["after"]) == (
        "erin",
        "owner_changed",
        {"owner": "erin"},
        {"owner": "frank"},
    )
    demoted = api_client(erin).patch(
        f"/api/corpora/{owned.pk}/members/{frank.pk}/", {"role": "viewer", "access_version": 2}, format="json"
    )
    assert demoted.status_code == 404, "the new owner is no member any more: nobody can demote them"
    # The old owner, an admin now, can be given a lesser role by the new one.
    lesser = api_client(frank).patch(
        f"/api/corpora/{owned.pk}/members/{erin.pk}/", {"role": "viewer", "access_version": 2}, format="json"
    )
    assert lesser.status_code == 200, lesser.content


@pytest.mark.parametrize(("who", "status"), [("frank", 403), ("alice", 403), ("bob", 403), ("charlie", 404)])
def test_only_the_owner_hands_a_corpus_over(owned, django_user_model, charlie, who, status):
    target = owned.memberships.get(user__username="frank").user
    before = state(owned)

    response = hand_over(django_user_model.objects.get(username=who), owned, target.pk)

    assert response.status_code == status, response.content
    assert state(owned) == before


def test_an_operator_hands_a_shared_corpus_over_and_its_admins_cannot(corpus, django_user_model):
    """The `corpus` fixture is an operator's shared corpus: no owner, so only a superuser hands it over."""
    dora = django_user_model.objects.create_user("dora")
    CorpusMembership.objects.create(corpus=corpus, user=dora, role=CorpusRole.ADMIN)
    operator = django_user_model.objects.create_superuser("root", password="root-password-123")

    assert hand_over(dora, corpus, dora.pk).status_code == 403
    response = hand_over(operator, corpus, dora.pk)

    assert response.status_code == 200, response.content
    assert state(corpus)[0] == "dora"
    assert not corpus.memberships.filter(user=dora).exists()
    change = corpus.access_changes.get()
    assert (change.user, change.before, change.after) == (operator, {"owner": None}, {"owner": "dora"})


@pytest.mark.parametrize(
    ("member", "message"),
    [
        ("alice", "Hand a corpus over to one of its admins."),
        ("erin", "This user already owns the corpus."),
        ("charlie", "Hand a corpus over to one of its admins."),
        (9223372036854775807, "Hand a corpus over to one of its admins."),
        ("abc", str(ID_MESSAGE)),
        (None, "This field may not be null."),
    ],
)
def test_a_corpus_is_handed_over_only_to_one_of_its_admins(erin, owned, charlie, django_user_model, member, message):
    named = django_user_model.objects.filter(username=member).first() if isinstance(member, str) else None
    before = state(owned)

    response = hand_over(erin, owned, named.pk if named else member)

    assert response.status_code == 400, response.content
    assert response.json() == {"member": [message]}
    assert state(owned) == before


def test_a_hand_over_onto_a_name_the_new_owner_already_uses_is_refused(erin, owned):
    frank = owned.memberships.get(user__username="frank").user
    Corpus.objects.create(name=owned.name, owner=frank, is_public=False)
    before = state(owned)

    response = hand_over(erin, owned, frank.pk)

    assert response.status_code == 400
    assert response.json() == {"member": ["The new owner already has a corpus of this name: rename one first."]}
    assert state(owned) == before


def test_a_hand_over_based_on_an_old_access_version_is_refused(erin, owned):
    frank = owned.memberships.get(user__username="frank").user
    assert (
        api_client(erin).patch(f"/api/corpora/{owned.pk}/", {"is_public": True, "access_version": 1}, format="json")
    ).status_code == 200
    before = state(owned)

    response = hand_over(erin, owned, frank.pk, access_version=1)

    assert response.status_code == 409
    assert response.json()["corpus"]["access_version"] == 2
    assert state(owned) == before


def admin_form(corpus, owner, memberships: list[tuple[CorpusMembership, str]]) -> dict:
    """Django admin's change form of the corpus: its settings, owner and member rows (with their roles)."""
    form = {
        "name": corpus.name,
        "description": corpus.description,
        "owner": owner.pk if owner is not None else "",
        "memberships-TOTAL_FORMS": str(len(memberships)),
        "memberships-INITIAL_FORMS": str(len(memberships)),
        "memberships-MIN_NUM_FORMS": "0",
        "memberships-MAX_NUM_FORMS": "1000",
    }
    for index, (membership, role) in enumerate(memberships):
        form |= {
            f"memberships-{index}-id": membership.pk,
            f"memberships-{index}-corpus": corpus.pk,
            f"memberships-{index}-user": membership.user_id,
            f"memberships-{index}-role": role,
        }
    return form


@pytest.mark.parametrize("new_role_in_the_same_form", ["admin", "viewer"])
def test_an_operator_s_hand_over_in_django_s_admin_swaps_the_memberships_as_the_app_does(
    erin, owned, django_user_model, new_role_in_the_same_form
):
    """The new owner is no longer also a member (even if the same form changed their row), the old one stays an
    admin member, and the change is recorded as a hand-over."""
    from django.test import Client

    operator = django_user_model.objects.create_superuser("root", password="root-password-123")
    client = Client()
    client.force_login(operator)
    rows = list(owned.memberships.select_related("user").order_by("user__username"))
    frank = next(row.user for row in rows if row.user.username == "frank")
    roles = [(row, new_role_in_the_same_form if row.user == frank else row.role) for row in rows]

    response = client.post(f"/admin/annotations/corpus/{owned.pk}/change/", admin_form(owned, frank, roles))

    assert response.status_code == 302, response.content.decode()[:2000]
    owner, version, members, _ = state(owned)
    assert (owner, members) == ("frank", [("alice", "curator"), ("bob", "viewer"), ("erin", "admin")])
    assert version > 1
    handed_over = owned.access_changes.get(action="owner_changed")
    assert (handed_over.user, handed_over.member, handed_over.before, handed_over.after) == (
        operator,
        frank,
        {"owner": "erin"},
        {"owner": "frank"},
    )
    assert hand_over(frank, owned, frank.pk, access_version=version).status_code == 400, "frank already owns it"


def test_an_operator_gives_an_ownerless_corpus_an_owner_in_django_s_admin(owned, django_user_model):
    from django.test import Client

    Corpus.objects.filter(pk=owned.pk).update(owner=None)
    owned.refresh_from_db()
    operator = django_user_model.objects.create_superuser("root", password="root-password-123")
    client = Client()
    client.force_login(operator)
    rows = list(owned.memberships.select_related("user").order_by("user__username"))
    alice = next(row.user for row in rows if row.user.username == "alice")

    response = client.post(
        f"/admin/annotations/corpus/{owned.pk}/change/", admin_form(owned, alice, [(row, row.role) for row in rows])
    )

    assert response.status_code == 302, response.content.decode()[:2000]
    owner, _, members, _ = state(owned)
    assert (owner, members) == ("alice", [("bob", "viewer"), ("frank", "admin")])
    handed_over = owned.access_changes.get(action="owner_changed")
    assert (handed_over.before, handed_over.after) == ({"owner": None}, {"owner": "alice"})

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

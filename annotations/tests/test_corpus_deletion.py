"""A corpus's owner deletes it in the app once it is empty (a typo in the import form's corpus name made
it, and its wrong import was removed): no document, no trained model, no training job. A corpus that
still holds any of them stays; nobody but its owner or an operator may delete it, and a deletion names
the access version its owner read.
"""

from __future__ import annotations

import pytest
from django.http import Http404

from annotations.models import Corpus, CorpusMembership, CorpusRole
from annotations.services import corpus_delete, corpus_update
from annotations.tests.factories import make_document
from detection.models import TrainingJob
from tests.support.clients import api_client

pytestmark = pytest.mark.django_db


@pytest.fixture
def erin(django_user_model):
    return django_user_model.objects.create_user("erin")


@pytest.fixture
def typo(erin, alice, django_user_model):
    """erin's empty corpus "Excelsoir": frank is its admin, alice its curator."""
    corpus = Corpus.objects.create(name="Excelsoir", owner=erin, is_public=False)
    frank = django_user_model.objects.create_user("frank")
    CorpusMembership.objects.create(corpus=corpus, user=frank, role=CorpusRole.ADMIN)
    CorpusMembership.objects.create(corpus=corpus, user=alice, role=CorpusRole.CURATOR)
    return corpus


def delete(user, corpus, access_version=1):
    return api_client(user).delete(f"/api/corpora/{corpus.pk}/", {"access_version": access_version}, format="json")


def test_the_owner_deletes_an_empty_corpus_with_its_memberships(erin, typo):
    response = delete(erin, typo)

    assert response.status_code == 204, response.content
    assert not Corpus.objects.filter(pk=typo.pk).exists()
    assert not CorpusMembership.objects.filter(corpus_id=typo.pk).exists()


@pytest.mark.parametrize(
    "holding",
    [
        lambda corpus: make_document(corpus=corpus),
        lambda corpus: TrainingJob.objects.create(kind="rescorer", corpus=corpus),
    ],
    ids=["a document", "a training job"],
)
def test_a_corpus_that_still_holds_something_is_refused_and_kept(erin, typo, holding):
    holding(typo)

    response = delete(erin, typo)

    assert response.status_code == 409, response.content
    assert "remove" in response.json()["detail"]
    typo.refresh_from_db()
    assert typo.access_version == 1
    assert typo.memberships.count() == 2


def test_a_deletion_read_before_a_change_is_refused(erin, typo):
    typo.access_version = 2
    typo.save(update_fields=["access_version"])

    assert delete(erin, typo, access_version=1).status_code == 409
    assert Corpus.objects.filter(pk=typo.pk).exists()


@pytest.mark.parametrize(("who", "answer"), [("frank", 403), ("alice", 403), ("bob", 404), (None, 403)])
def test_only_the_owner_or_an_operator_deletes_a_corpus(typo, who, answer, bob, django_user_model):
    user = django_user_model.objects.get(username=who) if who else None

    assert delete(user, typo).status_code == answer
    assert Corpus.objects.filter(pk=typo.pk).exists()


def test_an_operator_deletes_an_ownerless_empty_corpus(typo, django_user_model):
    Corpus.objects.filter(pk=typo.pk).update(owner=None)
    operator = django_user_model.objects.create_superuser("root", password="root-password-123")

    assert delete(operator, typo).status_code == 204
    assert not Corpus.objects.filter(pk=typo.pk).exists()


def test_the_settings_page_deletes_an_empty_corpus_and_says_so(erin, typo, client):
    client.force_login(erin)
    assert 'id="corpus-delete-form"' in client.get(f"/corpora/{typo.pk}/").content.decode()

    response = client.post(f"/corpora/{typo.pk}/", {"action": "delete", "access_version": 1}, follow=True)

    assert response.redirect_chain == [("/", 302)]
    assert [str(m) for m in response.context["messages"]] == ["Corpus “Excelsoir” deleted."]
    assert not Corpus.objects.filter(pk=typo.pk).exists()


def test_the_settings_page_says_what_a_corpus_still_holds(erin, typo, client):
    make_document(corpus=typo)
    client.force_login(erin)

    page = client.get(f"/corpora/{typo.pk}/").content.decode()

    assert 'id="corpus-delete-form"' not in page
    assert "It still holds 1 document" in page
    refused = client.post(f"/corpora/{typo.pk}/", {"action": "delete", "access_version": 1}, follow=True)
    assert refused.redirect_chain == [(f"/corpora/{typo.pk}/", 302)]
    [message] = [str(m) for m in refused.context["messages"]]
    assert message.startswith("Not saved: This corpus still holds")
    assert Corpus.objects.filter(pk=typo.pk).exists()


def test_a_change_of_a_corpus_read_before_it_was_deleted_finds_no_corpus(erin, typo):
    """Its settings page open in another tab: the change answers 404 (it was a 500), and writes nothing."""
    assert delete(erin, typo).status_code == 204

    with pytest.raises(Http404):
        corpus_update(corpus=typo, user=erin, access_version=1, changes={"is_public": True})
    with pytest.raises(Http404):
        corpus_delete(corpus=typo, user=erin, access_version=1)

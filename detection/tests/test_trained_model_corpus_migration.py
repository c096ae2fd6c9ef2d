"""The migration that gives each trained model the corpus it learned from: read from its training job,
and a model whose corpus is already gone (nobody could see it) deleted. Going back keeps one active
model per family, the newest."""

from __future__ import annotations

import pytest

from tests.support.migrations import at_migration, migrate

BEFORE = ("detection", "0006_training_kind_encoding_head")
AFTER = ("detection", "0009_trained_model_corpus_required")


@pytest.fixture
def migrated_back(transactional_db):
    yield from at_migration(BEFORE)


def test_each_model_takes_its_training_jobs_corpus_and_orphans_go(migrated_back):
    apps = migrate(BEFORE)
    Corpus = apps.get_model("annotations", "Corpus")
    TrainedModel = apps.get_model("detection", "TrainedModel")
    TrainingJob = apps.get_model("detection", "TrainingJob")
    excelsior, miroir = Corpus.objects.create(name="Excelsior"), Corpus.objects.create(name="Miroir")
    models = {
        version: TrainedModel.objects.create(
            name="res10+rescore", kind="detector", version=version, file=f"models/v{version}.keras", is_active=active
        )
        for version, active in ((1, False), (2, True), (3, False))
    }
    TrainingJob.objects.create(kind="rescorer", corpus=excelsior, status="done", trained_model=models[1])
    TrainingJob.objects.create(kind="rescorer", corpus=miroir, status="done", trained_model=models[2])
    # Version 3's job went with its corpus: the model was left without one.

    apps = migrate(AFTER)
    TrainedModel = apps.get_model("detection", "TrainedModel")

    assert dict(TrainedModel.objects.values_list("version", "corpus_id")) == {1: excelsior.pk, 2: miroir.pk}
    assert TrainedModel.objects.get(version=2).is_active


def test_going_back_keeps_the_newest_active_model_of_each_family(migrated_back):
    apps = migrate(AFTER)
    Corpus = apps.get_model("annotations", "Corpus")
    TrainedModel = apps.get_model("detection", "TrainedModel")
    for version, name in enumerate(("Excelsior", "Miroir", "Gaulois"), start=1):
        TrainedModel.objects.create(
            name="res10+rescore",
            corpus=Corpus.objects.create(name=name),
            kind="detector",
            version=version,
            file=f"models/v{version}.keras",
            is_active=True,
        )

    apps = migrate(BEFORE)
    TrainedModel = apps.get_model("detection", "TrainedModel")

    assert list(TrainedModel.objects.filter(is_active=True).values_list("version", flat=True)) == [3]
    assert TrainedModel.objects.count() == 3

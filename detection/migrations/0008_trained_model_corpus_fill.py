"""Each trained model takes the corpus of its training job; a model whose corpus is already gone (nobody
could see it) is deleted. Going back keeps one active model per family, the newest (the older constraint)."""

from django.db import migrations


def corpus_from_training_jobs(apps, schema_editor):
    TrainedModel = apps.get_model("detection", "TrainedModel")
    TrainingJob = apps.get_model("detection", "TrainingJob")
    for model in TrainedModel.objects.filter(corpus__isnull=True):
        corpus_id = (
            TrainingJob.objects.filter(trained_model=model).order_by("created_at").values_list("corpus_id", flat=True)
        ).first()
        if corpus_id is None:
            model.delete()
        else:
            TrainedModel.objects.filter(pk=model.pk).update(corpus_id=corpus_id)


def one_active_model_per_family(apps, schema_editor):
    """Going back: the older constraint allows one active model per family, the newest one stays active."""
    TrainedModel = apps.get_model("detection", "TrainedModel")
    for name in TrainedModel.objects.filter(is_active=True).values_list("name", flat=True).distinct():
        active = TrainedModel.objects.filter(name=name, is_active=True).order_by("-version")
        TrainedModel.objects.filter(pk__in=list(active.values_list("pk", flat=True)[1:])).update(is_active=False)


class Migration(migrations.Migration):

    dependencies = [
        ("detection", "0007_trained_model_corpus"),
    ]

    operations = [
        migrations.RunPython(corpus_from_training_jobs, one_active_model_per_family),
    ]

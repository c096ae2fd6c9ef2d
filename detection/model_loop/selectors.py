"""Read-only queries of the model loop: training jobs, inference jobs and trained models a user may see."""

from __future__ import annotations

from django.db.models import QuerySet
from django.http import Http404
from django.utils.translation import gettext as _

from annotations.access import corpora_visible_to, require_role
from annotations.models import CorpusRole
from detection.models import InferenceJob, InferenceKind, TrainedModel, TrainingJob


def get_training_job_for_user(user, job_id: int, role: str = CorpusRole.VIEWER) -> TrainingJob:
    """A training job by id, checked for the role in its corpus (404 when the corpus is not visible)."""
    job = TrainingJob.objects.select_related("corpus", "trained_model", "created_by").filter(pk=job_id).first()
    if job is None:
        raise Http404(_("No such training job"))
    require_role(user, job.corpus, role)
    return job


def get_inference_job_for_user(user, job_id: int) -> InferenceJob:
    """An inference job by id, for whoever may ask for it again: a curator (evaluation) or a viewer (encoding)."""
    job = InferenceJob.objects.select_related("document__corpus", "face__page__document__corpus").filter(pk=job_id)
    job = job.first()
    if job is None:
        raise Http404("No such job")
    if job.kind == InferenceKind.EVALUATION:
        require_role(user, job.document.corpus, CorpusRole.CURATOR)
    else:
        require_role(user, job.face.page.document.corpus, CorpusRole.VIEWER)
    return job


def training_job_list(*, user, corpus_id: int | None = None) -> QuerySet[TrainingJob]:
    """Training jobs of corpora the user may view, newest first."""
    jobs = TrainingJob.objects.filter(corpus__in=corpora_visible_to(user)).select_related("trained_model", "created_by")
    if corpus_id is not None:
        jobs = jobs.filter(corpus_id=corpus_id)
    return jobs.order_by("-created_at", "-id")


def trained_model_list(*, user) -> QuerySet[TrainedModel]:
    """Trained models whose training corpus the user may view, by family and newest version first."""
    visible = list(corpora_visible_to(user).values_list("pk", flat=True))
    return TrainedModel.objects.filter(training_jobs__corpus_id__in=visible).distinct().order_by("name", "-version")


def trained_model_names_hidden_from(user) -> set[str]:
    """Registry names of trained models the user may not see: what they learned from is not visible to them."""
    visible = list(trained_model_list(user=user).values_list("pk", flat=True))
    return {model.registry_name for model in TrainedModel.objects.exclude(pk__in=visible).only("name", "version")}


def get_trained_model_for_user(user, model_id: int, role: str = CorpusRole.VIEWER) -> TrainedModel:
    """A trained model by id, checked for the role in the corpus it was trained on (404 when not visible)."""
    # The model by its own key first: a key lookup answers "none" for ids no key can hold, where a
    # lookup through the job's foreign key would send them to the database.
    model = TrainedModel.objects.filter(pk=model_id).first()
    job = TrainingJob.objects.select_related("corpus").filter(trained_model=model).first() if model else None
    if job is None:
        raise Http404("No such trained model")
    require_role(user, job.corpus, role)
    return model

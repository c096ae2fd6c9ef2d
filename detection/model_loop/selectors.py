"""Read-only queries of the model loop: training jobs, inference jobs and trained models a user may see."""

from __future__ import annotations

from django.db.models import QuerySet
from django.http import Http404
from django.utils.translation import gettext_lazy

from annotations.access import corpora_visible_to, require_role
from annotations.models import CorpusRole
from detection.models import InferenceJob, InferenceKind, TrainedModel, TrainingJob

# The 404 texts of an unknown id, also those of an object in a corpus the user may not see.
TRAINING_JOB_NOT_FOUND = gettext_lazy("No such training job")
INFERENCE_JOB_NOT_FOUND = gettext_lazy("No such job")
TRAINED_MODEL_NOT_FOUND = gettext_lazy("No such trained model")


def get_training_job_for_user(user, job_id: int, role: str = CorpusRole.VIEWER) -> TrainingJob:
    """A training job by id, checked for the role in its corpus (404 as for an unknown id when it is not visible)."""
    job = TrainingJob.objects.select_related("corpus", "trained_model", "created_by").filter(pk=job_id).first()
    if job is None:
        raise Http404(TRAINING_JOB_NOT_FOUND)
    require_role(user, job.corpus, role, not_found=TRAINING_JOB_NOT_FOUND)
    return job


def get_inference_job_for_user(user, job_id: int) -> InferenceJob:
    """An inference job by id, for whoever may ask for it again: a curator (evaluation) or a viewer (encoding)."""
    job = InferenceJob.objects.select_related("document__corpus", "face__page__document__corpus").filter(pk=job_id)
    job = job.first()
    if job is None:
        raise Http404(INFERENCE_JOB_NOT_FOUND)
    if job.kind == InferenceKind.EVALUATION:
        require_role(user, job.document.corpus, CorpusRole.CURATOR, not_found=INFERENCE_JOB_NOT_FOUND)
    else:
        require_role(user, job.face.page.document.corpus, CorpusRole.VIEWER, not_found=INFERENCE_JOB_NOT_FOUND)
    return job


def training_job_list(*, user, corpus_id: int | None = None) -> QuerySet[TrainingJob]:
    """Training jobs of corpora the user may view, newest first."""
    jobs = TrainingJob.objects.filter(corpus__in=corpora_visible_to(user)).select_related("trained_model", "created_by")
    if corpus_id is not None:
        jobs = jobs.filter(corpus_id=corpus_id)
    return jobs.order_by("-created_at", "-id")


def _visible_corpus_ids(user) -> list[int]:
    return list(corpora_visible_to(user).values_list("pk", flat=True))


def trained_model_list(*, user) -> QuerySet[TrainedModel]:
    """Trained models whose training corpus the user may view, by family and newest version first."""
    return TrainedModel.objects.filter(corpus_id__in=_visible_corpus_ids(user)).order_by("name", "-version")


def trained_model_names_hidden_from(user) -> set[str]:
    """Registry names of trained models the user may not see: what they learned from is not visible to them."""
    hidden = TrainedModel.objects.exclude(corpus_id__in=_visible_corpus_ids(user)).only("name", "version")
    return {model.registry_name for model in hidden}


def get_trained_model_for_user(user, model_id: int, role: str = CorpusRole.VIEWER) -> TrainedModel:
    """A trained model by id, checked for the role in the corpus it was trained on (404 when not visible)."""
    model = TrainedModel.objects.select_related("corpus").filter(pk=model_id).first()
    if model is None:
        raise Http404(TRAINED_MODEL_NOT_FOUND)
    require_role(user, model.corpus, role, not_found=TRAINED_MODEL_NOT_FOUND)
    return model

"""The model loop's pages: a detection run with its evaluation against curated faces, and training."""

from django.shortcuts import render

from annotations.access import corpora_visible_to, corpus_role, role_at_least
from annotations.models import CorpusRole
from detection.model_loop.evaluation import evaluation_for_run
from detection.model_loop.training import trained_models_register
from detection.models import TrainingKind
from detection.selectors import get_run_for_user, model_listing
from frontend.query import CorpusQuery, page_takes_query


@page_takes_query()
def run_detail(request, run_id: int, query):
    run = get_run_for_user(request.user, run_id)
    role = corpus_role(request.user, run.corpus)
    trained_models_register()
    return render(
        request,
        "frontend/run.html",
        {
            "run": run,
            "evaluation": evaluation_for_run(run=run).as_dict(),
            # Evaluating another detector runs it on the pages: curators only, as the API requires.
            "can_compare": run.document_id is not None and role_at_least(role, CorpusRole.CURATOR),
            "detectors": sorted(item["name"] for item in model_listing(user=request.user)["detectors"]),
        },
    )


@page_takes_query(CorpusQuery)
def training(request, query):
    """Start training jobs, follow their loss curve, read the held-out comparison, (de)activate models (JS)."""
    corpora = list(corpora_visible_to(request.user).order_by("name"))
    curated = [corpus for corpus in corpora if role_at_least(corpus_role(request.user, corpus), CorpusRole.CURATOR)]
    return render(
        request,
        "frontend/training.html",
        {
            "corpora": corpora,
            "curated_corpora": curated,
            "selected_corpus": query["corpus"],
            "kinds": TrainingKind.choices,
        },
    )

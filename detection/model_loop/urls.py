"""API routes of the model loop (mounted under /api/)."""

from django.urls import path

from detection.model_loop import api

urlpatterns = [
    path("runs/<int:pk>/evaluation/", api.RunEvaluationApi.as_view(), name="api-run-evaluation"),
    path("evaluation/", api.EvaluationApi.as_view(), name="api-evaluation"),
    path("inference-jobs/<int:pk>/", api.InferenceJobApi.as_view(), name="api-inference-job"),
    path("training-jobs/", api.TrainingJobListCreateApi.as_view(), name="api-training-jobs"),
    path("training-jobs/<int:pk>/", api.TrainingJobDetailApi.as_view(), name="api-training-job"),
    path("training-jobs/<int:pk>/cancel/", api.TrainingJobCancelApi.as_view(), name="api-training-job-cancel"),
    path("models/", api.ModelListApi.as_view(), name="api-models"),
    path("models/<int:pk>/activation/", api.ModelActivationApi.as_view(), name="api-model-activation"),
    path("faces/<int:pk>/similar/", api.SimilarFacesApi.as_view(), name="api-face-similar"),
    path("faces/<int:pk>/person/", api.FacePersonApi.as_view(), name="api-face-person"),
    path("people/", api.PeopleApi.as_view(), name="api-people"),
    path("encodings/", api.EncodingsApi.as_view(), name="api-encodings"),
]

"""Web page routes."""

from django.urls import path

from frontend import views, views_corpora, views_exports, views_models, views_search

urlpatterns = [
    path("", views.home, name="home"),
    path("corpora/<int:corpus_id>/", views_corpora.corpus_settings, name="corpus"),
    path("documents/import/", views.document_import, name="document-import"),
    path("documents/<int:document_id>/", views.document_detail, name="document"),
    path("documents/<int:document_id>/remove/", views.document_remove_form, name="document-remove"),
    path("pages/<int:page_id>/", views.page_detail, name="page"),
    path("people/<int:person_id>/", views.person_detail, name="person"),
    path("search/", views_search.search, name="search"),
    path("stats/", views_search.stats, name="stats"),
    path("exports/", views_exports.exports, name="exports"),
    path("runs/<int:run_id>/", views_models.run_detail, name="run"),
    path("training/", views_models.training, name="training"),
]

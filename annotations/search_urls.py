"""API routes for search (mounted under /api/)."""

urlpatterns: list = []

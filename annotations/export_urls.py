"""API routes for export (mounted under /api/)."""

urlpatterns: list = []

"""API routes of the detection app (mounted under /api/)."""

urlpatterns: list = []

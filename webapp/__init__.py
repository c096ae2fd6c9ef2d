"""Visages Django project; importing it loads the Celery app so shared tasks bind to it."""

from webapp.celery import app as celery_app

__all__ = ("celery_app",)

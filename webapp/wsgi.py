"""WSGI entry point for gunicorn (and runserver).

A server with DEBUG off must be given SECRET_KEY: the key that settings generate for a checkout's
commands differs between hosts and lies beside the data, so production never serves with it.
"""

import gc
import os

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "webapp.settings")

if settings.SECRET_KEY_GENERATED and not settings.DEBUG:
    raise ImproperlyConfigured(
        "SECRET_KEY must be set when DEBUG is off: a web server does not serve with the generated key "
        "(set DEBUG=1 for development)"
    )

application = get_wsgi_application()
# What is loaded by now (Django, DRF, the apps, their modules) lives as long as the process: the
# garbage collector's full passes leave it alone instead of walking it again. A full pass over it
# took ~60 ms of a search's time every few dozen requests at 10 M faces (docs/benchmarks.md).
gc.freeze()

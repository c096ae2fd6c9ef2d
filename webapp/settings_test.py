"""The test suite's settings (pyproject.toml): webapp.settings in its development shape.

DEBUG defaults to off, for production. The suite runs the development shape of the settings'
module-level choices (a local-memory cache, unhashed static files, cookies over plain HTTP), as
scripts/run.sh does; an explicit DEBUG in the environment still wins. Processes the suite starts
(a Celery worker, `manage.py` subprocesses) inherit the same environment.
"""

import os

os.environ.setdefault("DEBUG", "1")

from webapp.settings import *  # noqa: E402,F403

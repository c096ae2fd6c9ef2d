"""Bench helper: point Django at a throwaway data dir (SQLite) unless DATABASE_URL is set, then migrate."""

from __future__ import annotations

import os
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def setup(prefix: str) -> Path:
    """Configure and migrate a fresh database for a benchmark; returns the data dir."""
    sys.path.insert(0, str(ROOT))
    data_dir = Path(tempfile.mkdtemp(prefix=f"visages-{prefix}-"))
    os.environ["VISAGES_DATA_DIR"] = str(data_dir)
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "webapp.settings")
    os.environ.setdefault("IIIF_ALLOW_PRIVATE_HOSTS", "1")
    os.environ.setdefault("IIIF_DEFAULT_MIN_INTERVAL", "0")
    import django
    from django.core.management import call_command

    django.setup()
    call_command("migrate", verbosity=0)
    return data_dir

"""Bench helper: a fresh database of the run's own, migrated before anything is measured.

SQLite (the default): a file in a throwaway data dir. When DATABASE_URL names a PostgreSQL
server: a new database on that server named for the run, dropped when the run ends. Either way
the bench never touches the app's own database, and every migration is applied first.
"""

from __future__ import annotations

import atexit
import os
import re
import secrets
import sys
import tempfile
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

ROOT = Path(__file__).resolve().parents[1]
POSTGRES_SCHEMES = ("postgres", "postgresql", "pgsql")


def fresh_database_url(prefix: str, sqlite_path: Path) -> str:
    """A new, empty database for this run: `sqlite_path`, or a new PostgreSQL database when DATABASE_URL names one."""
    url = os.environ.get("DATABASE_URL", "")
    parts = urlsplit(url)
    if parts.scheme not in POSTGRES_SCHEMES:
        return f"sqlite:///{sqlite_path}"
    import psycopg
    from psycopg import sql

    # PostgreSQL names are at most 63 bytes; the pid and a random tail keep concurrent runs apart.
    base = re.sub(r"\W", "_", f"{parts.path.lstrip('/') or 'visages'}_{prefix}")[:40]
    name = f"{base}_{os.getpid()}_{secrets.token_hex(3)}"
    # libpq knows postgres:// and postgresql://, not every alias dj-database-url accepts.
    admin = urlunsplit(parts._replace(scheme="postgresql", path="/postgres"))
    with psycopg.connect(admin, autocommit=True) as connection:
        connection.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    atexit.register(_drop_database, admin, name)
    return urlunsplit(parts._replace(path=f"/{name}"))


def _drop_database(admin: str, name: str) -> None:
    import psycopg
    from psycopg import sql

    if "django" in sys.modules:
        from django.db import connections

        connections.close_all()
    # FORCE: a server thread or pooled connection the bench left open does not keep it alive.
    with psycopg.connect(admin, autocommit=True) as connection:
        connection.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))


def setup(prefix: str) -> Path:
    """Configure Django on a fresh database (see fresh_database_url) and migrate it; returns the data dir."""
    sys.path.insert(0, str(ROOT))
    data_dir = Path(tempfile.mkdtemp(prefix=f"visages-{prefix}-"))
    os.environ["VISAGES_DATA_DIR"] = str(data_dir)
    os.environ["DATABASE_URL"] = fresh_database_url(prefix, data_dir / "visages.sqlite3")
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "webapp.settings")
    os.environ.setdefault("IIIF_ALLOW_PRIVATE_HOSTS", "1")
    os.environ.setdefault("IIIF_DEFAULT_MIN_INTERVAL", "0")
    import django
    from django.core.management import call_command

    django.setup()
    call_command("migrate", verbosity=0)
    return data_dir


def start_server(*, static_handler: bool = False):
    """The app in a thread on a free loopback port: (thread, base URL).

    `static_handler`: static files from the apps' folders (Django's test handler, as under DEBUG);
    otherwise as deployed (WhiteNoise, from the collected files).
    """
    from django.contrib.staticfiles.handlers import StaticFilesHandler
    from django.test.testcases import LiveServerThread

    handler = StaticFilesHandler if static_handler else (lambda wsgi_handler: wsgi_handler)
    thread = LiveServerThread("127.0.0.1", handler, port=0)
    thread.daemon = True
    thread.start()
    thread.is_ready.wait()
    if thread.error:
        raise thread.error
    return thread, f"http://127.0.0.1:{thread.port}"


def session_cookie(user, base_url: str) -> dict:
    """A Playwright cookie that logs the browser in as `user`."""
    from django.test import Client

    client = Client()
    client.force_login(user)
    return {"name": "sessionid", "value": client.cookies["sessionid"].value, "url": base_url}

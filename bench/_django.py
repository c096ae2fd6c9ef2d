"""Bench helper: a fresh database of the run's own, migrated before anything is measured.

SQLite (the default): a file in a throwaway data dir. When DATABASE_URL names a PostgreSQL
server: a new database on that server named for the run, dropped when the run ends. Either way
the bench never touches the app's own database, and every migration is applied first.

Benches run one after another (the suite's smoke runs) may start from a template migrated once
(`python bench/_django.py template DIR` prints it as BENCH_SQLITE_TEMPLATE=PATH or
BENCH_POSTGRES_TEMPLATE=NAME; `drop NAME` drops the latter): with that variable set, each fresh
database is a copy of it (a file copy; PostgreSQL's CREATE DATABASE ... TEMPLATE), which the
bench still migrates, so a migration the template lacks is applied all the same.
"""

from __future__ import annotations

import atexit
import os
import re
import secrets
import shutil
import sys
import tempfile
from collections.abc import Iterable
from datetime import UTC, date, datetime
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

ROOT = Path(__file__).resolve().parents[1]
POSTGRES_SCHEMES = ("postgres", "postgresql", "pgsql")


SQLITE_TEMPLATE = "BENCH_SQLITE_TEMPLATE"
POSTGRES_TEMPLATE = "BENCH_POSTGRES_TEMPLATE"


def fresh_database_url(prefix: str, sqlite_path: Path, *, sqlite: bool = False) -> str:
    """A new database for this run: `sqlite_path` (always, with `sqlite`), or a new PostgreSQL database when
    DATABASE_URL names one; empty, or a copy of the migrated template the environment names (see above)."""
    url = os.environ.get("DATABASE_URL", "")
    if sqlite or urlsplit(url).scheme not in POSTGRES_SCHEMES:
        template = os.environ.get(SQLITE_TEMPLATE)
        if template:
            shutil.copyfile(template, sqlite_path)
        return f"sqlite:///{sqlite_path}"
    name, url = _postgres_database_created(url, prefix, template=os.environ.get(POSTGRES_TEMPLATE))
    atexit.register(_drop_database, _postgres_admin_url(url), name)
    return url


def _postgres_admin_url(url: str) -> str:
    # libpq knows postgres:// and postgresql://, not every alias dj-database-url accepts.
    return urlunsplit(urlsplit(url)._replace(scheme="postgresql", path="/postgres"))


def _postgres_database_created(url: str, prefix: str, *, template: str | None = None) -> tuple[str, str]:
    """A new database on DATABASE_URL's server, named for the run (a copy of `template` when given): (name, URL)."""
    import psycopg
    from psycopg import sql

    parts = urlsplit(url)
    # PostgreSQL names are at most 63 bytes; the pid and a random tail keep concurrent runs apart.
    base = re.sub(r"\W", "_", f"{parts.path.lstrip('/') or 'visages'}_{prefix}")[:40]
    name = f"{base}_{os.getpid()}_{secrets.token_hex(3)}"
    create = sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name))
    if template:
        create += sql.SQL(" TEMPLATE {}").format(sql.Identifier(template))
    with psycopg.connect(_postgres_admin_url(url), autocommit=True) as connection:
        connection.execute(create)
    return name, urlunsplit(parts._replace(path=f"/{name}"))


def _drop_database(admin: str, name: str) -> None:
    import psycopg
    from psycopg import sql

    if "django" in sys.modules:
        from django.db import connections

        connections.close_all()
    # FORCE: a server thread or pooled connection the bench left open does not keep it alive.
    with psycopg.connect(admin, autocommit=True) as connection:
        connection.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))


def bulk_insert(
    model,
    columns: tuple[str, ...],
    rows: Iterable[tuple],
    *,
    batch: int = 50_000,
    now: datetime | None = None,
    triggers: bool = True,
) -> None:
    """Load rows into a model's table fast: COPY on PostgreSQL, executemany on SQLite, one transaction.

    `rows` hold the values of `columns` (plain ints, floats, strings, booleans, None); every other stored
    column gets the model's default as the app would store it (now for auto_now fields), so a column a
    migration adds (NOT NULL, no database default) fails the load loudly or is filled, never left out.
    With "id" among the columns, PostgreSQL's id sequence is moved past the loaded ids. With `triggers`
    off, PostgreSQL runs no trigger per row (for rows that carry their denormalised columns, with the
    summaries recounted after the load; this needs a superuser).
    """
    from django.db import connection, transaction

    table = model._meta.db_table
    defaults = column_defaults(model, columns, now=now)
    names = ", ".join(connection.ops.quote_name(column) for column in (*columns, *defaults))
    filled = tuple(defaults.values())
    with transaction.atomic():
        if connection.vendor == "postgresql":
            connection.ensure_connection()
            with connection.connection.cursor() as cursor:
                if not triggers:
                    cursor.execute("SET LOCAL session_replication_role = replica")
                with cursor.copy(f"COPY {table} ({names}) FROM STDIN") as copy:
                    for row in rows:
                        copy.write_row((*row, *filled))
                if "id" in columns:
                    cursor.execute(
                        f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), (SELECT max(id) FROM {table}))"
                    )
        else:
            statement = f"INSERT INTO {table} ({names}) VALUES ({', '.join('?' * (len(columns) + len(filled)))})"
            cursor = connection.connection.cursor()
            chunk = []
            for row in rows:
                chunk.append(tuple(_sqlite_value(value) for value in (*row, *filled)))
                if len(chunk) == batch:
                    cursor.executemany(statement, chunk)
                    chunk = []
            cursor.executemany(statement, chunk)


def _sqlite_value(value):
    """The text Django's SQLite backend stores for dates, datetimes (naive UTC) and booleans."""
    if isinstance(value, datetime):
        return value.astimezone(UTC).replace(tzinfo=None).isoformat(" ")
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, bool):
        return int(value)
    return value


def column_defaults(model, columns: tuple[str, ...], *, now: datetime | None = None) -> dict:
    """The database value of the model's default for each stored column not in `columns`.

    Columns set on every save or creation (`auto_now`, `auto_now_add`) take `now` (default: this moment).
    """
    from django.db import connection

    stored = [field for field in model._meta.concrete_fields if not field.generated]
    unknown = set(columns) - {field.column for field in stored}
    if unknown:
        raise SystemExit(f"{model._meta.db_table} has no column {', '.join(sorted(unknown))}: update the bench")
    now = now or datetime.now(UTC)
    defaults = {}
    for field in stored:
        if field.column in columns:
            continue
        if getattr(field, "auto_now", False) or getattr(field, "auto_now_add", False):
            value = now
        else:
            value = field.get_default()
        if value is None and not field.null:
            raise SystemExit(
                f"{model._meta.db_table}.{field.column} is NOT NULL without a model default: "
                "give it a value in the bench"
            )
        defaults[field.column] = field.get_db_prep_save(value, connection)
    return defaults


def setup(prefix: str) -> Path:
    """Configure Django on a fresh database (see fresh_database_url) and migrate it; returns the data dir."""
    data_dir = Path(tempfile.mkdtemp(prefix=f"visages-{prefix}-"))
    os.environ["VISAGES_DATA_DIR"] = str(data_dir)
    os.environ["DATABASE_URL"] = fresh_database_url(prefix, data_dir / "visages.sqlite3")
    os.environ.setdefault("IIIF_ALLOW_PRIVATE_HOSTS", "1")
    os.environ.setdefault("IIIF_DEFAULT_MIN_INTERVAL", "0")
    _django_migrated()
    return data_dir


def _django_migrated() -> None:
    """Django configured on the environment's DATABASE_URL, every migration applied."""
    sys.path.insert(0, str(ROOT))
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "webapp.settings")
    import django
    from django.core.management import call_command

    django.setup()
    call_command("migrate", verbosity=0)


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


def template_made(workdir: Path) -> tuple[str, str]:
    """A database migrated once for benches to copy: (the environment variable naming it, its value).

    SQLite: `workdir`/template.sqlite3; PostgreSQL (DATABASE_URL): a new database on that server, kept
    until `drop` (the benches copying it each make and drop their own)."""
    url = os.environ.get("DATABASE_URL", "")
    if urlsplit(url).scheme in POSTGRES_SCHEMES:
        name, os.environ["DATABASE_URL"] = _postgres_database_created(url, "template")
        made = (POSTGRES_TEMPLATE, name)
    else:
        path = workdir / "template.sqlite3"
        os.environ["DATABASE_URL"] = f"sqlite:///{path}"
        made = (SQLITE_TEMPLATE, str(path))
    os.environ["VISAGES_DATA_DIR"] = str(workdir / "data")
    _django_migrated()
    from django.db import connections

    # A PostgreSQL template may have no session open when it is copied.
    connections.close_all()
    return made


def _template_dropped(name: str) -> None:
    if "_template_" not in name:
        raise SystemExit(f"{name} is not a bench template")
    _drop_database(_postgres_admin_url(os.environ["DATABASE_URL"]), name)


if __name__ == "__main__":
    import argparse

    parser = argparse.ArgumentParser(description="A migrated template for benches run one after another.")
    commands = parser.add_subparsers(dest="command", required=True)
    commands.add_parser("template", help="migrate one; prints VARIABLE=VALUE").add_argument("workdir", type=Path)
    commands.add_parser("drop", help="drop a PostgreSQL template (DATABASE_URL's server)").add_argument("name")
    args = parser.parse_args()
    if args.command == "template":
        variable, value = template_made(args.workdir)
        print(f"{variable}={value}")
    else:
        _template_dropped(args.name)

"""Tests of data migrations: move the test database to a migration and back to the latest."""

from __future__ import annotations

from collections.abc import Iterator

from django.core.management import call_command
from django.db import connection
from django.db.migrations.executor import MigrationExecutor


def migrate(target: tuple[str, str]):
    """Migrate the test database to `target` (forwards or backwards); the apps as they were there."""
    executor = MigrationExecutor(connection)
    executor.loader.build_graph()
    executor.migrate([target])
    return MigrationExecutor(connection).loader.project_state([target]).apps


def at_migration(target: tuple[str, str]) -> Iterator[None]:
    """For a fixture: the database at `target` during the test, at the latest migration after it (as
    the other tests expect it)."""
    migrate(target)
    yield
    call_command("migrate", verbosity=0)

"""SQL building blocks of the search planner: expressions that steer each database's planner."""

from __future__ import annotations

from collections.abc import Iterable

from django.core.exceptions import EmptyResultSet
from django.db.models import (
    BooleanField,
    F,
)
from django.db.models.expressions import Func


class Unindexed(Func):
    """A column's value that SQLite will not look up through an index (unary plus).

    SQLite's planner likes to start from any index that matches a condition and then sort every
    match; for one slice of results in a given order, walking the ordering's index and testing
    each row is far cheaper. PostgreSQL weighs this itself, so it gets the plain column.
    """

    template = "%(expressions)s"
    arity = 1

    def as_sqlite(self, compiler, connection, **extra_context):
        return super().as_sql(compiler, connection, template="+%(expressions)s", **extra_context)


class InIds(Func):
    """`expression IN ids`, sent as one array parameter on PostgreSQL.

    A search may fetch a few thousand pages by id; as an IN list, each id is a placeholder that
    Django and psycopg prepare and quote one by one (about 10 ms for 2,000 ids), as `= ANY(array)`
    the list binds as a single value.
    """

    output_field = BooleanField()
    arity = 1

    def __init__(self, expression, ids: Iterable[int]):
        super().__init__(expression)
        self.ids = list(ids)

    def as_sql(self, compiler, connection, **extra_context):
        if not self.ids:
            raise EmptyResultSet
        column, params = compiler.compile(self.source_expressions[0])
        return f"{column} IN ({', '.join(['%s'] * len(self.ids))})", (*params, *self.ids)

    def as_postgresql(self, compiler, connection, **extra_context):
        if not self.ids:
            raise EmptyResultSet
        column, params = compiler.compile(self.source_expressions[0])
        # An array literal written at once: psycopg would adapt (and inspect) the list item by item.
        return f"{column} = ANY(%s::bigint[])", (*params, "{" + ",".join(str(int(pk)) for pk in self.ids) + "}")


def walk_column(name: str, walk: bool):
    return Unindexed(F(name)) if walk else F(name)

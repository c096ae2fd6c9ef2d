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


class Unordered(Func):
    """A date column that PostgreSQL will not read in order from an index (the date plus zero days).

    Ordering by it sorts the matches: for a search by date whose matches are few, cheaper than
    walking the date index from the first page and testing every page dated before the range,
    which PostgreSQL otherwise picks for one slice (it assumes matches spread evenly over dates).
    """

    template = "%(expressions)s"
    arity = 1

    def as_postgresql(self, compiler, connection, **extra_context):
        return super().as_sql(compiler, connection, template="(%(expressions)s + 0)", **extra_context)


# Up to this many ids, SQLite gets an IN list (its planner knows how many); more go as one JSON parameter.
IN_LIST_MAX = 2000


class InIds(Func):
    """`expression IN ids`, sent as one array parameter on PostgreSQL.

    A search may fetch a few thousand pages by id; as an IN list, each id is a placeholder that
    Django and psycopg prepare and quote one by one (about 10 ms for 2,000 ids), as `= ANY(array)`
    the list binds as a single value. SQLite reads a long list from one JSON array (json_each),
    which also keeps it under SQLite's limit on parameters.
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
        if len(self.ids) > IN_LIST_MAX:
            return f"{column} IN (SELECT value FROM json_each(%s))", (*params, _json_ids(self.ids))
        return f"{column} IN ({', '.join(['%s'] * len(self.ids))})", (*params, *self.ids)

    def as_postgresql(self, compiler, connection, **extra_context):
        if not self.ids:
            raise EmptyResultSet
        column, params = compiler.compile(self.source_expressions[0])
        # An array literal written at once: psycopg would adapt (and inspect) the list item by item.
        return f"{column} = ANY(%s::bigint[])", (*params, "{" + _comma_separated(self.ids) + "}")


def _json_ids(ids: list[int]) -> str:
    return "[" + _comma_separated(ids) + "]"


def _comma_separated(ids: list[int]) -> str:
    """The ids as integers written one after the other: the body of an array literal, PostgreSQL's or JSON's."""
    return ",".join(str(int(pk)) for pk in ids)


def walk_column(name: str, walk: bool):
    return Unindexed(F(name)) if walk else F(name)


# A page's copy of its document's date span as one range: a missing end is its start day, a missing
# start its end day. Must match the expression of the GiST index of migration 0016 (PostgreSQL).
DATE_SPAN_SQL = "daterange(COALESCE({start}, {end}), COALESCE({end}, {start}), '[]')"
# A document's span in days on SQLite, as its index (migration 0019) is written: queries must use the same text.
DOCUMENT_SPAN_DAYS_SQL = "julianday(date_end) - julianday(date_start)"


class DateSpanOverlaps(Func):
    """Whether a date span (start, end columns) overlaps [low, high] (either bound may be missing).

    PostgreSQL: one range test the span's GiST index answers, instead of ORed bounds on two columns
    that no index answers (every page's dates then read for a one-year search). Other databases get
    the same test as bounds; the planner only uses it when low <= high.
    """

    output_field = BooleanField()
    arity = 2

    def __init__(self, start, end, *, low, high):
        super().__init__(start, end)
        self.low, self.high = low, high

    def as_sql(self, compiler, connection, **extra_context):
        (start, start_params), (end, end_params) = (compiler.compile(e) for e in self.source_expressions)
        start_or_end, end_or_start = f"COALESCE({start}, {end})", f"COALESCE({end}, {start})"
        conditions, params = [f"{start_or_end} IS NOT NULL"], [*start_params, *end_params]
        if self.low is not None:
            conditions.append(f"{end_or_start} >= %s")
            params += [*end_params, *start_params, self.low]
        if self.high is not None:
            conditions.append(f"{start_or_end} <= %s")
            params += [*start_params, *end_params, self.high]
        return "(" + " AND ".join(conditions) + ")", params

    def as_postgresql(self, compiler, connection, **extra_context):
        (start, start_params), (end, end_params) = (compiler.compile(e) for e in self.source_expressions)
        if start_params or end_params:
            return self.as_sql(compiler, connection, **extra_context)
        span = DATE_SPAN_SQL.format(start=start, end=end)
        return f"(COALESCE({start}, {end}) IS NOT NULL AND {span} && daterange(%s::date, %s::date, '[]'))", [
            self.low,
            self.high,
        ]

"""Year summaries for statistics: FaceYearSummary and PageYearSummary, appended to by database
triggers in the transaction of every write of a face, a page or a document (services, imports,
detection, cascades, the admin, the shell), and filled here from the rows already stored.

Pages also get their most confident face per gender and for children (page_counts_refresh keeps
them), which is what a page contributes to PageYearSummary. The SQL is written out here, frozen
with the migration; annotations.search.summaries rebuilds and reads the tables with the same steps.
"""

from django.db import migrations, models

# SUMMARY_CONFIDENCE_STEPS in annotations.search.summaries: a confidence's step is the highest k with
# confidence >= STEPS[k]; a curated face (confidence 1 for searches) is at the last step.
STEPS = [round(k / 20, 2) for k in range(21)]
CURATED = "('accepted', 'edited', 'added')"
SELECTORS = ("", "female", "male", "unknown", "child")
FACE_TABLE, PAGE_TABLE = "annotations_faceyearsummary", "annotations_pageyearsummary"
FACE_COLUMNS = "corpus_id, year, end_year, is_front_page, gender, child, status, confidence_step, n"


def step(value: str) -> str:
    whens = " ".join(f"WHEN {value} >= {STEPS[k]!r} THEN {k}" for k in range(len(STEPS) - 1, 0, -1))
    return f"CASE WHEN {value} IS NULL THEN NULL {whens} ELSE 0 END"


def face_step(face: str) -> str:
    return (
        f"CASE WHEN {face}.status = 'rejected' THEN NULL WHEN {face}.status IN {CURATED} "
        f"THEN {len(STEPS) - 1} ELSE {step(f'{face}.confidence')} END"
    )


def page_max(page: str) -> str:
    """The page's most confident face for the selector `s.selector`."""
    columns = {"": "max_confidence", **{name: f"max_confidence_{name}" for name in SELECTORS[1:]}}
    whens = " ".join(f"WHEN '{name}' THEN {page}.{column}" for name, column in columns.items())
    return f"CASE s.selector {whens} END"


SELECTORS_SQL = " UNION ALL ".join(f"SELECT '{name}' AS selector" for name in SELECTORS)


class Dialect:
    """The trigger SQL of one database; `page_columns`: page columns the page rows are also counted by
    (after is_front_page, as in a later migration's PageYearSummary)."""

    def __init__(self, vendor: str, page_columns: tuple[str, ...] = ()):
        self.postgresql = vendor == "postgresql"
        self.page_columns = page_columns

    def year(self, value: str) -> str:
        if self.postgresql:
            return f"CAST(EXTRACT(YEAR FROM {value}) AS integer)"
        return f"CAST(strftime('%Y', {value}) AS INTEGER)"

    def face_row(self, face: str, sign: int) -> str:
        """One face row's count, under its page's key."""
        return (
            f"INSERT INTO {FACE_TABLE} ({FACE_COLUMNS}) "
            f"SELECT d.corpus_id, {self.year('p.document_date')}, {self.year('p.document_date_end')}, "
            f"p.is_front_page, {face}.gender, {face}.child, {face}.status, {face_step(face)}, {sign} "
            f"FROM annotations_page p JOIN annotations_document d ON d.id = p.document_id "
            f"WHERE p.id = {face}.page_id"
        )

    def page_faces(self, page: str, corpus: str, where: str, sign: int) -> str:
        """The counts of the faces of the pages `where` selects (p, and its document d), under the key
        of the page row `page` in `corpus`."""
        return (
            f"INSERT INTO {FACE_TABLE} ({FACE_COLUMNS}) "
            f"SELECT {corpus}, {self.year(f'{page}.document_date')}, {self.year(f'{page}.document_date_end')}, "
            f"{page}.is_front_page, f.gender, f.child, f.status, {face_step('f')}, {sign} * COUNT(*) "
            f"FROM annotations_face f JOIN annotations_page p ON p.id = f.page_id "
            f"JOIN annotations_document d ON d.id = p.document_id "
            f"WHERE {where} GROUP BY 1, 2, 3, 4, 5, 6, 7, 8"
        )

    def page_rows(self, page: str, corpus: str, where: str, sign: int, *, source: str) -> str:
        """The counts of pages by selector (a selector without faces: none), under the key of the page
        row `page` in `corpus`: the rows `where` selects from `source`."""
        keyed = ("is_front_page", *self.page_columns)
        group = ", ".join(str(k) for k in range(1, len(keyed) + 6))
        return (
            f"INSERT INTO {PAGE_TABLE} (corpus_id, year, end_year, {', '.join(keyed)}, selector, confidence_step, n) "
            f"SELECT {corpus}, {self.year(f'{page}.document_date')}, {self.year(f'{page}.document_date_end')}, "
            f"{', '.join(f'{page}.{column}' for column in keyed)}, s.selector, {step(page_max(page))}, {sign} * COUNT(*) "
            f"FROM {source} CROSS JOIN ({SELECTORS_SQL}) s "
            f"WHERE ({where}) AND (s.selector = '' OR {page_max(page)} IS NOT NULL) GROUP BY {group}"
        )

    def one_page(self, row: str, sign: int) -> str:
        """The page row `row` (OLD or NEW), counted in its document's corpus (none when the document is
        gone: a flush of every table, as between transactional tests on SQLite)."""
        return self.page_rows(row, "d.corpus_id", f"d.id = {row}.document_id", sign, source="annotations_document d")

    def page_faces_moved(self, row: str, sign: int) -> str:
        """The faces of the page row `row` (OLD or NEW), counted under that row's key."""
        corpus = f"(SELECT corpus_id FROM annotations_document WHERE id = {row}.document_id)"
        return self.page_faces(row, corpus, f"f.page_id = {row}.id", sign)

    def document_moved(self, sign: int) -> list[str]:
        """A document's pages and faces, out of its old corpus (-1) or into its new one (+1)."""
        corpus = "OLD.corpus_id" if sign < 0 else "NEW.corpus_id"
        where = "p.document_id = NEW.id AND OLD.corpus_id <> NEW.corpus_id"
        return [
            self.page_faces("p", corpus, where, sign),
            self.page_rows("p", corpus, where, sign, source="annotations_page p"),
        ]

    def fill(self) -> list[str]:
        """Every stored face and page, counted."""
        pages = "annotations_page p JOIN annotations_document d ON d.id = p.document_id"
        return [
            self.page_faces("p", "d.corpus_id", "1 = 1", 1),
            self.page_rows("p", "d.corpus_id", "1 = 1", 1, source=pages),
        ]


PAGE_KEY = ("document_id", "document_date", "document_date_end", "is_front_page")
PAGE_MAXIMA = (
    "max_confidence",
    "max_confidence_female",
    "max_confidence_male",
    "max_confidence_unknown",
    "max_confidence_child",
)
FACE_KEY = ("page_id", "gender", "child", "status", "confidence")


def changed(columns, distinct: str) -> str:
    return " OR ".join(f"OLD.{column} {distinct} NEW.{column}" for column in columns)


def page_function_postgresql(sql: Dialect, page_changes: tuple[str, ...], *, create: str = "CREATE") -> str:
    """The page trigger's function: a page's row moves when `page_changes` (or its key) change, its
    faces when its key does."""
    return f"""{create} FUNCTION annotations_page_summaries() RETURNS trigger AS $$
BEGIN
    IF TG_OP = 'UPDATE' AND NOT ({changed(PAGE_KEY + page_changes, "IS DISTINCT FROM")}) THEN
        RETURN NULL;
    END IF;
    IF TG_OP IN ('UPDATE', 'DELETE') THEN
        {sql.one_page("OLD", -1)};
    END IF;
    IF TG_OP IN ('UPDATE', 'INSERT') THEN
        {sql.one_page("NEW", 1)};
    END IF;
    IF TG_OP = 'UPDATE' AND ({changed(PAGE_KEY, "IS DISTINCT FROM")}) THEN
        {sql.page_faces_moved("OLD", -1)};
        {sql.page_faces_moved("NEW", 1)};
    END IF;
    RETURN NULL;
END
$$ LANGUAGE plpgsql"""


def document_function_postgresql(sql: Dialect, *, create: str = "CREATE") -> str:
    """The document trigger's function: a document moved to another corpus moves its counts before its
    pages take new dates (whose own trigger then reads the document's new corpus for both sides)."""
    return f"""{create} FUNCTION annotations_document_to_pages() RETURNS trigger AS $$
BEGIN
    IF OLD.corpus_id <> NEW.corpus_id THEN
        {";".join(sql.document_moved(-1))};
        {";".join(sql.document_moved(1))};
    END IF;
    IF {changed(("date_start", "date_end"), "IS DISTINCT FROM")} THEN
        UPDATE annotations_page SET document_date = NEW.date_start, document_date_end = NEW.date_end
        WHERE document_id = NEW.id;
    END IF;
    RETURN NULL;
END
$$ LANGUAGE plpgsql"""


def postgresql_statements() -> list[str]:
    sql = Dialect("postgresql")
    return [
        f"""CREATE FUNCTION annotations_face_summaries() RETURNS trigger AS $$
BEGIN
    IF TG_OP = 'UPDATE' AND NOT ({changed(FACE_KEY, "IS DISTINCT FROM")}) THEN
        RETURN NULL;
    END IF;
    IF TG_OP IN ('UPDATE', 'DELETE') THEN
        {sql.face_row("OLD", -1)};
    END IF;
    IF TG_OP IN ('UPDATE', 'INSERT') THEN
        {sql.face_row("NEW", 1)};
    END IF;
    RETURN NULL;
END
$$ LANGUAGE plpgsql""",
        """CREATE TRIGGER annotations_face_summaries AFTER INSERT OR DELETE OR UPDATE ON annotations_face
    FOR EACH ROW EXECUTE FUNCTION annotations_face_summaries()""",
        page_function_postgresql(sql, PAGE_MAXIMA),
        """CREATE TRIGGER annotations_page_summaries AFTER INSERT OR DELETE OR UPDATE ON annotations_page
    FOR EACH ROW EXECUTE FUNCTION annotations_page_summaries()""",
        # Replaces 0014's (see document_function_postgresql).
        "DROP TRIGGER annotations_document_dates_to_pages ON annotations_document",
        "DROP FUNCTION annotations_document_dates_to_pages()",
        document_function_postgresql(sql),
        """CREATE TRIGGER annotations_document_to_pages
    AFTER UPDATE OF corpus_id, date_start, date_end ON annotations_document
    FOR EACH ROW EXECUTE FUNCTION annotations_document_to_pages()""",
        f"""CREATE FUNCTION annotations_corpus_summaries() RETURNS trigger AS $$
BEGIN
    DELETE FROM {FACE_TABLE} WHERE corpus_id = OLD.id;
    DELETE FROM {PAGE_TABLE} WHERE corpus_id = OLD.id;
    RETURN NULL;
END
$$ LANGUAGE plpgsql""",
        """CREATE TRIGGER annotations_corpus_summaries AFTER DELETE ON annotations_corpus
    FOR EACH ROW EXECUTE FUNCTION annotations_corpus_summaries()""",
    ]


POSTGRESQL_DROP = [
    "DROP TRIGGER annotations_corpus_summaries ON annotations_corpus",
    "DROP FUNCTION annotations_corpus_summaries()",
    "DROP TRIGGER annotations_document_to_pages ON annotations_document",
    "DROP FUNCTION annotations_document_to_pages()",
    """CREATE FUNCTION annotations_document_dates_to_pages() RETURNS trigger AS $$
BEGIN
    UPDATE annotations_page SET document_date = NEW.date_start, document_date_end = NEW.date_end
    WHERE document_id = NEW.id;
    RETURN NULL;
END
$$ LANGUAGE plpgsql""",
    """CREATE TRIGGER annotations_document_dates_to_pages
    AFTER UPDATE OF date_start, date_end ON annotations_document
    FOR EACH ROW
    WHEN (OLD.date_start IS DISTINCT FROM NEW.date_start OR OLD.date_end IS DISTINCT FROM NEW.date_end)
    EXECUTE FUNCTION annotations_document_dates_to_pages()""",
    "DROP TRIGGER annotations_page_summaries ON annotations_page",
    "DROP FUNCTION annotations_page_summaries()",
    "DROP TRIGGER annotations_face_summaries ON annotations_face",
    "DROP FUNCTION annotations_face_summaries()",
]


def page_triggers_sqlite(sql: Dialect, page_changes: tuple[str, ...]) -> list[str]:
    """The page triggers: a page's row moves when `page_changes` (or its key) change, its faces when its key does."""
    return [
        f"""CREATE TRIGGER annotations_page_summaries_insert AFTER INSERT ON annotations_page
    BEGIN {sql.one_page("NEW", 1)}; END""",
        f"""CREATE TRIGGER annotations_page_summaries_delete AFTER DELETE ON annotations_page
    BEGIN {sql.one_page("OLD", -1)}; END""",
        f"""CREATE TRIGGER annotations_page_summaries_update AFTER UPDATE ON annotations_page
    WHEN {changed(page_changes, "IS NOT")} AND NOT ({changed(PAGE_KEY, "IS NOT")})
    BEGIN {sql.one_page("OLD", -1)}; {sql.one_page("NEW", 1)}; END""",
        f"""CREATE TRIGGER annotations_page_summaries_move AFTER UPDATE ON annotations_page
    WHEN {changed(PAGE_KEY, "IS NOT")}
    BEGIN
        {sql.one_page("OLD", -1)}; {sql.one_page("NEW", 1)};
        {sql.page_faces_moved("OLD", -1)}; {sql.page_faces_moved("NEW", 1)};
    END""",
    ]


def document_trigger_sqlite(sql: Dialect) -> str:
    """In one trigger: a document moved to another corpus moves its counts before its pages take new
    dates (SQLite promises no order between two triggers)."""
    return f"""CREATE TRIGGER annotations_document_to_pages AFTER UPDATE OF corpus_id, date_start, date_end
    ON annotations_document
    BEGIN
        {"; ".join(sql.document_moved(-1))}; {"; ".join(sql.document_moved(1))};
        UPDATE annotations_page SET document_date = NEW.date_start, document_date_end = NEW.date_end
        WHERE document_id = NEW.id AND ({changed(("date_start", "date_end"), "IS NOT")});
    END"""


CORPUS_TRIGGER_SQLITE = f"""CREATE TRIGGER annotations_corpus_summaries AFTER DELETE ON annotations_corpus
    BEGIN
        DELETE FROM {FACE_TABLE} WHERE corpus_id = OLD.id;
        DELETE FROM {PAGE_TABLE} WHERE corpus_id = OLD.id;
    END"""


def sqlite_statements() -> list[str]:
    sql = Dialect("sqlite")
    return [
        f"""CREATE TRIGGER annotations_face_summaries_insert AFTER INSERT ON annotations_face
    BEGIN {sql.face_row("NEW", 1)}; END""",
        f"""CREATE TRIGGER annotations_face_summaries_delete AFTER DELETE ON annotations_face
    BEGIN {sql.face_row("OLD", -1)}; END""",
        f"""CREATE TRIGGER annotations_face_summaries_update AFTER UPDATE ON annotations_face
    WHEN {changed(FACE_KEY, "IS NOT")}
    BEGIN {sql.face_row("OLD", -1)}; {sql.face_row("NEW", 1)}; END""",
        *page_triggers_sqlite(sql, PAGE_MAXIMA),
        # Replaces 0014's (see document_trigger_sqlite).
        "DROP TRIGGER annotations_document_dates_to_pages",
        document_trigger_sqlite(sql),
        CORPUS_TRIGGER_SQLITE,
    ]


SQLITE_DROP = [
    "DROP TRIGGER annotations_corpus_summaries",
    "DROP TRIGGER annotations_document_to_pages",
    """CREATE TRIGGER annotations_document_dates_to_pages AFTER UPDATE OF date_start, date_end ON annotations_document
    WHEN OLD.date_start IS NOT NEW.date_start OR OLD.date_end IS NOT NEW.date_end
    BEGIN
        UPDATE annotations_page SET document_date = NEW.date_start, document_date_end = NEW.date_end
        WHERE document_id = NEW.id;
    END""",
    *(
        f"DROP TRIGGER annotations_{table}_summaries_{event}"
        for table, events in (
            ("page", ("move", "update", "delete", "insert")),
            ("face", ("update", "delete", "insert")),
        )
        for event in events
    ),
]

PAGE_MAXIMA_FILL = f"""
    UPDATE annotations_page SET {
    ", ".join(
        f"max_confidence_{name} = (SELECT MAX(search_confidence) FROM annotations_face f "
        f"WHERE f.page_id = annotations_page.id AND f.status <> 'rejected' AND "
        + ("f.child" if name == "child" else f"f.gender = '{name}'")
        + ")"
        for name in SELECTORS[1:]
    )
}
    WHERE face_count > 0
"""


def create_triggers(apps, schema_editor):
    postgresql = schema_editor.connection.vendor == "postgresql"
    schema_editor.execute(PAGE_MAXIMA_FILL, params=None)
    for statement in Dialect(schema_editor.connection.vendor).fill():
        schema_editor.execute(statement, params=None)
    for statement in postgresql_statements() if postgresql else sqlite_statements():
        schema_editor.execute(statement, params=None)


def drop_triggers(apps, schema_editor):
    postgresql = schema_editor.connection.vendor == "postgresql"
    for statement in POSTGRESQL_DROP if postgresql else SQLITE_DROP:
        schema_editor.execute(statement, params=None)


class Migration(migrations.Migration):
    dependencies = [
        ("annotations", "0014_page_document_date"),
    ]

    operations = [
        *(
            migrations.AddField(
                model_name="page", name=f"max_confidence_{name}", field=models.FloatField(blank=True, null=True)
            )
            for name in ("female", "male", "unknown", "child")
        ),
        migrations.CreateModel(
            name="FaceYearSummary",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                ("year", models.IntegerField(null=True)),
                ("end_year", models.IntegerField(null=True)),
                ("is_front_page", models.BooleanField()),
                ("gender", models.CharField(max_length=7)),
                ("child", models.BooleanField()),
                ("status", models.CharField(max_length=10)),
                ("confidence_step", models.SmallIntegerField(null=True)),
                ("n", models.IntegerField()),
                (
                    "corpus",
                    models.ForeignKey(
                        db_constraint=False,
                        db_index=False,
                        on_delete=models.deletion.DO_NOTHING,
                        related_name="+",
                        to="annotations.corpus",
                    ),
                ),
            ],
            options={
                "indexes": [models.Index(fields=["corpus", "year"], name="face_summary_corpus_year_idx")],
            },
        ),
        migrations.CreateModel(
            name="PageYearSummary",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                ("year", models.IntegerField(null=True)),
                ("end_year", models.IntegerField(null=True)),
                ("is_front_page", models.BooleanField()),
                ("selector", models.CharField(blank=True, max_length=7)),
                ("confidence_step", models.SmallIntegerField(null=True)),
                ("n", models.IntegerField()),
                (
                    "corpus",
                    models.ForeignKey(
                        db_constraint=False,
                        db_index=False,
                        on_delete=models.deletion.DO_NOTHING,
                        related_name="+",
                        to="annotations.corpus",
                    ),
                ),
            ],
            options={
                "indexes": [models.Index(fields=["corpus", "year"], name="page_summary_corpus_year_idx")],
            },
        ),
        migrations.RunPython(create_triggers, drop_triggers),
    ]

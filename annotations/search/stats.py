"""Statistics over the faces a search selects: counts and gender shares per year.

Every count is also given apart for curated faces (status accepted, edited or added:
`CURATED_STATUSES`, the one definition also behind `FaceQuerySet.curated_by_status()`) and for
predicted faces (status predicted, no curator has stood behind them yet), with the share of faces
that are curated, so the curated figures can be published on their own and the gap seen.
"""

from __future__ import annotations

from datetime import date

from django.db import connection
from django.db.models import (
    Count,
    F,
    Q,
    Sum,
)
from django.db.models.functions import Coalesce, ExtractYear

from annotations.access import faces_visible_to, pages_visible_to
from annotations.models import (
    CURATED_STATUSES,
    Face,
    FaceStatus,
    Gender,
    Page,
)
from annotations.search.params import GENDER_COLUMN, SearchParams
from annotations.search.planner import (
    all_corpora_visible,
    bound_face_counts,
    faces_select,
    page_conditions,
    search_params_narrowed,
    visible_corpus_ids,
)
from annotations.search.summaries import faces_by_year_from_summaries, summaries_answer

# Gaps between the first and last year are filled with zero rows only up to this span.
MAX_FILLED_YEARS = 500
# Where a face comes from, by status: what a curator stood behind, and what only a model says.
SOURCES = {"curated": Q(status__in=CURATED_STATUSES), "predicted": Q(status=FaceStatus.PREDICTED)}
COUNTED = ("faces", "female", "male", "unknown", "child")
SOURCE_COLUMNS = tuple(f"{source}_{name}" for source in SOURCES for name in COUNTED)
# The page column that counts each of COUNTED among a page's non-rejected faces (curated_<column>:
# among those a curator stood behind): the search's column for that gender, all faces for "faces".
PAGE_COLUMNS = {name: GENDER_COLUMN["" if name == "faces" else name] for name in COUNTED}


def _source_counts() -> dict:
    """Per-source face counts, as aggregates over faces."""
    counts = {}
    for source, condition in SOURCES.items():
        counts[f"{source}_faces"] = Count("id", filter=condition)
        counts[f"{source}_female"] = Count("id", filter=condition & Q(gender=Gender.FEMALE))
        counts[f"{source}_male"] = Count("id", filter=condition & Q(gender=Gender.MALE))
        counts[f"{source}_unknown"] = Count("id", filter=condition & Q(gender=Gender.UNKNOWN))
        counts[f"{source}_child"] = Count("id", filter=condition & Q(child=True))
    return counts


def faces_by_year(*, user, params: SearchParams) -> list[dict]:
    """Per year of the document date: pages, pages with faces, selected faces by gender, shares.

    Read from the year summaries when they answer the filters exactly (whole corpora or years, front
    pages, a gender, a confidence step), else counted from the pages and faces.
    """
    all_visible = all_corpora_visible(user)
    if summaries_answer(params):
        counted = faces_by_year_from_summaries(
            corpus_ids=visible_corpus_ids(user, all_visible=all_visible), params=params
        )
        by_year = {year: _empty_year(year) | counts for year, counts in counted.items()}
        return [_with_shares(row) for row in _fill_years(by_year, params)]
    # A title or full-text filter resolved once into document ids, as a search does.
    params = search_params_narrowed(params)
    visible = Page.objects.all() if all_visible else pages_visible_to(user)
    pages = bound_face_counts(visible.filter(page_conditions(params)), params)
    if params.selects_faces:
        low, high = params.face_count_bounds()
        faces = Face.objects.all() if all_visible else faces_visible_to(user)
        faces = faces.filter(page_conditions(params, prefix="page__"))
        # A selected face's page has one selected face already: only other bounds narrow further.
        if (low, high) != (1, None):
            faces = faces.filter(page__in=pages.values("pk"))
        rows = list(
            faces_select(faces, params)
            .order_by()
            .values(period=_year_or_day("page__document_date"))
            .annotate(
                # First: the annotations below shadow the `child` field these conditions read.
                **_source_counts(),
                faces=Count("id"),
                pages_with_faces=Count("page_id", distinct=True),
                female=Count("id", filter=Q(gender=Gender.FEMALE)),
                male=Count("id", filter=Q(gender=Gender.MALE)),
                unknown=Count("id", filter=Q(gender=Gender.UNKNOWN)),
                child=Count("id", filter=Q(child=True)),
            )
        )
        if low >= 1:
            # Every matching page has a selected face.
            rows = [{**row, "pages": row["pages_with_faces"]} for row in rows]
        else:
            rows += list(pages.order_by().values(period=_year_or_day("document_date")).annotate(pages=Count("id")))
    else:
        # The page columns count every visible face, and those a curator stood behind; the model's
        # (predicted) faces are the others.
        rows = list(
            pages.order_by()
            .values(period=_year_or_day("document_date"))
            .annotate(
                pages=Count("id"),
                pages_with_faces=Count("id", filter=Q(face_count__gt=0)),
                **{name: Coalesce(Sum(column), 0) for name, column in PAGE_COLUMNS.items()},
                **{f"curated_{name}": Coalesce(Sum(f"curated_{column}"), 0) for name, column in PAGE_COLUMNS.items()},
            )
        )
        for row in rows:
            row.update({f"predicted_{name}": row[name] - row[f"curated_{name}"] for name in COUNTED})
    by_year: dict[int | None, dict] = {}
    for row in rows:
        period = row.pop("period")
        year = period.year if isinstance(period, date) else period
        total = by_year.setdefault(year, _empty_year(year))
        for key, value in row.items():
            total[key] += value
    return [_with_shares(row) for row in _fill_years(by_year, params)]


def _year_or_day(field: str):
    """What the rows are grouped by before they are summed into years: the year on PostgreSQL, the day
    on SQLite, where extracting the year costs a Python function call per row (and there are far
    fewer days than pages)."""
    return ExtractYear(field) if connection.vendor == "postgresql" else F(field)


def faces_totals(rows: list[dict]) -> dict:
    """The sums of per-year rows, with the same shares."""
    total = _empty_year(None)
    for row in rows:
        for key in ("pages", "pages_with_faces", *COUNTED, *SOURCE_COLUMNS):
            total[key] += row[key]
    del total["year"]
    return _with_shares(total)


def _empty_year(year: int | None) -> dict:
    return {
        "year": year,
        "pages": 0,
        "pages_with_faces": 0,
        "faces": 0,
        "female": 0,
        "male": 0,
        "unknown": 0,
        "child": 0,
        **dict.fromkeys(SOURCE_COLUMNS, 0),
    }


def _fill_years(by_year: dict, params: SearchParams) -> list[dict]:
    """Dated rows in year order with empty years in between (and across the asked range); undated last."""
    years = [year for year in by_year if year is not None]
    if params.date_from and params.date_to:
        years += [params.date_from.year, params.date_to.year]
    rows = []
    if years and max(years) - min(years) <= MAX_FILLED_YEARS:
        rows = [by_year.get(year) or _empty_year(year) for year in range(min(years), max(years) + 1)]
    else:
        rows = [by_year[year] for year in sorted(y for y in by_year if y is not None)]
    if None in by_year:
        rows.append(by_year[None])
    return rows


def _with_shares(row: dict) -> dict:
    """Add the share of women's and men's faces (among faces of known gender), faces per page,
    the same gender share among curated faces only, and the share of faces that are curated."""
    gendered = row["female"] + row["male"]
    curated_gendered = row["curated_female"] + row["curated_male"]
    return {
        **row,
        "female_share": round(row["female"] / gendered, 4) if gendered else None,
        "male_share": round(row["male"] / gendered, 4) if gendered else None,
        "faces_per_page": round(row["faces"] / row["pages"], 4) if row["pages"] else None,
        "curated_female_share": round(row["curated_female"] / curated_gendered, 4) if curated_gendered else None,
        "curated_share": round(row["curated_faces"] / row["faces"], 4) if row["faces"] else None,
    }

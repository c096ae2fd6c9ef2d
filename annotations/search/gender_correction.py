"""The women's share per year corrected for the gender model's measured errors.

A model that reads some women as men and some men as women pulls every share it counts towards
the middle: on heritage pages the shipped model reads about a fifth of each sex as the other
(docs/benchmarks.md, "Heritage evaluation"), so a year whose faces are 20 % women shows about a
third. Where curators have reviewed pages, how the model read the faces they curated is known,
and the share among the faces only the model has read can be corrected
(detection/inference/prevalence.py: the Rogan–Gladen estimator).

The two rates are measured on the faces curators accepted or edited on reviewed pages among the
pages the statistics select (the model's reading being the face as it was before a curator first
changed it, from its revisions), so they follow the corpus, the period or the title asked for.
Faces the model read as `unknown`, and faces curators could not sex, take no part in either rate.
Curated faces count as they are. The 95 % interval resamples the reviewed pages (the rates' own
uncertainty) and, for each year, its predicted faces (the year's own sampling noise).

The estimate assumes the rates measured on reviewed pages hold on the others: pages reviewed
because they are easy, or one kind of document reviewed more than another, bias it.
"""

from __future__ import annotations

from dataclasses import replace

from django.db.models import OuterRef, Subquery
from django.db.models.fields.json import KeyTextTransform
from django.utils.translation import gettext as _

from annotations.access import faces_visible_to
from annotations.models import Face, FaceRevision, FaceStatus, Gender, ReviewStatus
from annotations.search.params import SearchParams
from annotations.search.planner import all_corpora_visible, page_conditions, search_params_narrowed
from detection.inference.prevalence import MEASURED_PER_CLASS_MIN, TOO_FEW, ReadingRates, ShareCorrector

# Faces read for the rates, at most (in no set order: ordering them would read every face).
MEASURED_FACES_MAX = 50_000
CORRECTED_KEYS = ("corrected_female_share", "corrected_female_share_low", "corrected_female_share_high")


def women_share_correct(*, user, params: SearchParams, rows: list[dict]) -> dict:
    """Add the corrected women's share to the statistics' rows (in place); the measurement behind it.

    Refused (rows left at None, the reason said) with a gender filter: the share is then fixed by it.
    """
    if params.gender:
        shares_corrected(rows, None)
        return {"available": False, "reason": _("The women's share is not corrected with a gender filter.")}
    rates, read, capped = reading_rates_measure(user=user, params=params)
    reason = refusal(rates)
    shares_corrected(rows, None if reason else ShareCorrector(rates))
    women_as_women, men_as_women = rates.point_rates
    counts = rates.per_unit.sum(axis=0)
    return {
        "available": not reason,
        "reason": reason,
        "faces": read,
        "pages": rates.units,
        "capped": capped,
        "women": rates.positives,
        "men": rates.negatives,
        "women_read_as_women": _rate(women_as_women),
        "men_read_as_women": _rate(men_as_women),
        "readings": {
            "female": {"female": int(counts[0]), "male": int(counts[1])},
            "male": {"female": int(counts[2]), "male": int(counts[3])},
        },
    }


def refusal(rates: ReadingRates) -> str:
    """Why the measured rates allow no correction, for the user ('' when they do)."""
    if not rates.shortfall:
        return ""
    if rates.shortfall == TOO_FEW:
        return _(
            "Too few reviewed faces to measure the model's errors: %(women)s women and %(men)s men "
            "curated on reviewed pages, %(minimum)s of each are needed."
        ) % {"women": rates.positives, "men": rates.negatives, "minimum": MEASURED_PER_CLASS_MIN}
    women_as_women, men_as_women = rates.point_rates
    return _(
        "The model tells women from men too poorly on the reviewed pages to correct its readings "
        "(women read as women %(women)s %%, men read as women %(men)s %%)."
    ) % {"women": round(100 * women_as_women, 1), "men": round(100 * men_as_women, 1)}


def _rate(value: float) -> float | None:
    return None if value != value else round(value, 4)  # NaN: nobody of that sex measured


def reading_rates_measure(*, user, params: SearchParams) -> tuple[ReadingRates, int, bool]:
    """How the model read the faces curators accepted or edited on the reviewed pages the search selects:
    the rates per page, the faces read, and whether MEASURED_FACES_MAX cut them short.

    Only the pages' filters apply (a gender or confidence filter would choose faces by the model's
    reading); a review status filter is set aside, since only reviewed pages are read.
    """
    params = search_params_narrowed(replace(params, review_status=""))
    faces = Face.objects.all() if all_corpora_visible(user) else faces_visible_to(user)
    first_reading = (
        FaceRevision.objects.filter(face=OuterRef("pk"), before__isnull=False)
        .order_by("created_at", "id")
        .annotate(reading=KeyTextTransform("gender", "before"))
        .values("reading")[:1]
    )
    rows = list(
        faces.filter(
            page_conditions(params, prefix="page__"),
            page__review_status=ReviewStatus.REVIEWED,
            status__in=(FaceStatus.ACCEPTED, FaceStatus.EDITED),
            gender__in=(Gender.FEMALE, Gender.MALE),
        )
        .order_by()
        .annotate(reading=Subquery(first_reading))
        .values_list("page_id", "gender", "reading")[: MEASURED_FACES_MAX + 1]
    )
    capped = len(rows) > MEASURED_FACES_MAX
    rows = rows[:MEASURED_FACES_MAX]
    # Pages whose faces the model read as women or men only: the unit of review the interval resamples.
    per_page: dict[int, list[tuple[str, str]]] = {}
    for page_id, gender, reading in rows:
        if reading in (Gender.FEMALE, Gender.MALE):
            per_page.setdefault(page_id, []).append((gender, reading))
    rates = ReadingRates.from_readings(per_page.values(), positive=Gender.FEMALE, negative=Gender.MALE)
    return rates, len(rows), capped


def shares_corrected(rows: list[dict], corrector: ShareCorrector | None) -> None:
    """Add `corrected_female_share` and its 95 % interval (`_low`, `_high`) to each row, in place.

    A row's curated women and men count as they are; its predicted faces the model read as women or
    men are corrected. None where the row has no face of known sex, or without a corrector.
    """
    for row in rows:
        share = (
            corrector.share(
                labelled_positive=row["curated_female"],
                labelled_negative=row["curated_male"],
                read_positive=row["predicted_female"],
                read_negative=row["predicted_male"],
            )
            if corrector
            else None
        )
        row.update(zip(CORRECTED_KEYS, (None,) * 3 if share is None else (round(v, 4) for v in share), strict=True))

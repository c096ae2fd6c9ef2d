"""Reading the messy dates of manifest metadata into (start, end) days."""

from __future__ import annotations

from datetime import date

import pytest

from annotations.iiif.dates import parse_date


def year(first: int, last: int | None = None) -> tuple[date, date]:
    return date(first, 1, 1), date(last or first, 12, 31)


def day(y: int, m: int, d: int) -> tuple[date, date]:
    return date(y, m, d), date(y, m, d)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("1922", year(1922)),
        ("1390-1405", year(1390, 1405)),
        ("1820-1822", year(1820, 1822)),
        ("1910-1920", year(1910, 1920)),
        ("1914/1918", year(1914, 1918)),
        ("1914-18", year(1914, 1918)),
        ("1910 à 1920", year(1910, 1920)),
        ("1910 to 1920", year(1910, 1920)),
        ("1914-1918?", year(1914, 1918)),
        ("  1922  ", year(1922)),
    ],
)
def test_it_reads_years_and_year_ranges(text: str, expected: tuple[date, date]) -> None:
    assert parse_date(text) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("1915-03-12", day(1915, 3, 12)),
        ("12/03/1915", day(1915, 3, 12)),
        ("12.03.1915", day(1915, 3, 12)),
        ("12 mars 1915", day(1915, 3, 12)),
        ("12 March 1915", day(1915, 3, 12)),
        ("March 12, 1915", day(1915, 3, 12)),
        ("1er février 1915", day(1915, 2, 1)),
        ("12 Décembre 1915", day(1915, 12, 12)),
        ("1915-03-12T00:00:00Z", day(1915, 3, 12)),
        ("1713-01-01T00:00:00+01:00", day(1713, 1, 1)),
        ("1916-02-29", day(1916, 2, 29)),
    ],
)
def test_it_reads_single_days(text: str, expected: tuple[date, date]) -> None:
    assert parse_date(text) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("1915-03", (date(1915, 3, 1), date(1915, 3, 31))),
        ("mars 1915", (date(1915, 3, 1), date(1915, 3, 31))),
        ("févr. 1916", (date(1916, 2, 1), date(1916, 2, 29))),
        ("03/1915", (date(1915, 3, 1), date(1915, 3, 31))),
    ],
)
def test_it_reads_whole_months(text: str, expected: tuple[date, date]) -> None:
    assert parse_date(text) == expected


@pytest.mark.parametrize(
    "text", ["[ca 1910]", "ca. 1910", "circa 1910", "vers 1910", "c. 1910", "1910?", "[1910]", "[1910?]"]
)
def test_it_reads_approximate_years_as_the_whole_year(text: str) -> None:
    assert parse_date(text) == year(1910)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("191-", year(1910, 1919)),
        ("191?", year(1910, 1919)),
        ("[191-?]", year(1910, 1919)),
        ("191X", year(1910, 1919)),
        ("18..", year(1800, 1899)),
        ("19XX", year(1900, 1999)),
        ("19??", year(1900, 1999)),
        ("XIXe siècle", year(1801, 1900)),
        ("XVe s.", year(1401, 1500)),
    ],
)
def test_it_reads_unknown_digits_as_a_decade_or_century(text: str, expected: tuple[date, date]) -> None:
    assert parse_date(text) == expected


@pytest.mark.parametrize(
    "text",
    [
        "",
        "   ",
        "s.d.",
        "n.d.",
        "[s.d.]",
        "garbage",
        "Paris",
        "1915-02-30",
        "1915-02-29",
        "31/04/1915",
        "1915-13",
        "0000",
        "1920-1910",
    ],
)
def test_it_gives_no_dates_for_missing_invalid_or_unreadable_text(text: str) -> None:
    assert parse_date(text) == (None, None)


def test_it_gives_no_dates_for_non_text() -> None:
    assert parse_date(None) == (None, None)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    "text, expected",
    [
        ("1916 (date in the source repository's metadata)", (date(1916, 1, 1), date(1916, 12, 31))),
        ("1915-03-12 (printed on the front page)", (date(1915, 3, 12), date(1915, 3, 12))),
        (
            "c. 1860-1900 (estimated from the studio mount; not in the source repository)",
            (date(1860, 1, 1), date(1900, 12, 31)),
        ),
        ("12 mars 1915 (d'après le registre)", (date(1915, 3, 12), date(1915, 3, 12))),
    ],
)
def test_it_reads_a_date_followed_by_a_cataloguer_s_note_in_parentheses(text: str, expected) -> None:
    # A note was read as part of the date, so the whole text was unreadable and the document undated.
    assert parse_date(text) == expected


@pytest.mark.parametrize("text", ["(printed) 1915", "Paris (1915)", "1915 (or 1916?)", "1920-1910 (sic)"])
def test_a_note_does_not_make_unreadable_text_a_date(text: str) -> None:
    assert parse_date(text) == (None, None)

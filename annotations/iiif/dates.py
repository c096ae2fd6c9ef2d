"""Turn the messy dates found in IIIF manifests into a (start, end) pair of days (SPECS.md §3.3).

Catalogue dates come as years, ranges, ISO days, European dd/mm/yyyy, French or English
month names, "circa" forms and unknown digits ("191-", "18..", "19XX"). Anything we cannot
read with confidence gives (None, None) rather than a guess.
"""

from __future__ import annotations

import calendar
import re
import unicodedata
from datetime import date

DateRange = tuple[date | None, date | None]

_NO_DATE: DateRange = (None, None)

_MONTHS = {
    # French
    "janvier": 1,
    "janv": 1,
    "fevrier": 2,
    "fevr": 2,
    "fev": 2,
    "mars": 3,
    "avril": 4,
    "avr": 4,
    "mai": 5,
    "juin": 6,
    "juillet": 7,
    "juil": 7,
    "aout": 8,
    "septembre": 9,
    "octobre": 10,
    "novembre": 11,
    "decembre": 12,
    # English
    "january": 1,
    "jan": 1,
    "february": 2,
    "feb": 2,
    "march": 3,
    "mar": 3,
    "april": 4,
    "apr": 4,
    "may": 5,
    "june": 6,
    "jun": 6,
    "july": 7,
    "jul": 7,
    "august": 8,
    "aug": 8,
    "september": 9,
    "sept": 9,
    "sep": 9,
    "october": 10,
    "oct": 10,
    "november": 11,
    "nov": 11,
    "december": 12,
    "dec": 12,
}
_MONTH = r"(?P<month>[a-z]+)\.?"
_YEAR = r"(?P<year>\d{4})"
_DAY = r"(?P<day>\d{1,2})(?:er|st|nd|rd|th)?"

# Whole-string forms of a single date, tried in order; each names the groups it captured.
_SINGLE_PATTERNS = [
    re.compile(rf"^{_YEAR}$"),
    re.compile(rf"^{_YEAR}-(?P<month>\d{{1,2}})-{_DAY}(?:t[\d:.]+(?:z|[+-]\d{{2}}:?\d{{2}})?)?$"),
    re.compile(rf"^{_YEAR}-(?P<month>\d{{2}})$"),
    re.compile(rf"^{_DAY}[/.-](?P<month>\d{{1,2}})[/.-]{_YEAR}$"),
    re.compile(rf"^(?P<month>\d{{1,2}})[/.]{_YEAR}$"),
    re.compile(rf"^{_DAY} {_MONTH},? {_YEAR}$"),
    re.compile(rf"^{_MONTH} {_DAY},? {_YEAR}$"),
    re.compile(rf"^{_MONTH},? {_YEAR}$"),
]
# "191-", "191?", "18..", "19XX", "19--": a decade or a century with its last digits unknown.
_UNKNOWN_DIGITS = re.compile(r"^(?P<known>\d{2,3})(?P<unknown>[-.?x_u]{1,2})$")
_CENTURY = re.compile(r"^(?P<roman>[ivxl]+)(?:e|eme|th)?\.? (?:siecle|s\.?|century)$")
_ROMAN = {"i": 1, "v": 5, "x": 10, "l": 50}
_RANGE_SEPARATOR = re.compile(r"\s*(?:/|-|–|—|\bto\b|\ba\b|\bau\b)\s*")
# Marks of uncertainty that do not change which period a cataloguer meant.
_APPROXIMATE = re.compile(r"\b(?:circa|ca|c|vers|env|environ|about|approx)\b\.?")


# Cataloguers' notes after the date: parentheses with no digit in them, at the end.
_TRAILING_NOTE = re.compile(r"(?:\s*\([^()\d]*\))+\s*$")


def parse_date(text: str) -> DateRange:
    """Return the first and last day that a free-text catalogue date covers, or (None, None).

    A note in parentheses after the date ("1916 (date from the mount)") is set aside when the whole text
    cannot be read; a note with digits in it ("1915 (or 1916?)") may change the date and is not.
    """
    candidates = [text]
    # The text without its note is read only when there was a note to set aside.
    if isinstance(text, str) and (without_note := _TRAILING_NOTE.sub("", text)) != text:
        candidates.append(without_note)
    for candidate in candidates:
        cleaned = _normalise(candidate)
        if not cleaned:
            continue
        for parse in (_parse_single, _parse_range):
            start, end = parse(cleaned)
            if start is not None and end is not None:
                return start, end
    return _NO_DATE


def _normalise(text: str) -> str:
    """Lower-case, drop accents, brackets and "circa" words, squeeze spaces."""
    if not isinstance(text, str):
        return ""
    decomposed = unicodedata.normalize("NFKD", text)
    ascii_text = "".join(char for char in decomposed if not unicodedata.combining(char)).lower()
    without_brackets = re.sub(r"[\[\]()]", " ", ascii_text)
    without_circa = _APPROXIMATE.sub(" ", without_brackets)
    return " ".join(without_circa.split()).strip(" ,;")


def _parse_single(text: str) -> DateRange:
    """Read text as one year, month, day, decade or century."""
    # "[191-?]" doubts an already vague decade: try with and without the trailing "?".
    for candidate in (text, text.rstrip("?")):
        unknown = _UNKNOWN_DIGITS.match(candidate)
        if unknown and len(unknown["known"]) + len(unknown["unknown"]) == 4:
            span = 10 ** len(unknown["unknown"])
            first = int(unknown["known"]) * span
            return _year_span(first, first + span - 1)
    century = _CENTURY.match(text)
    if century:
        number = _roman_to_int(century["roman"])
        return _year_span((number - 1) * 100 + 1, number * 100) if number else _NO_DATE
    # A trailing "?" only marks doubt once the unknown-digit forms above are ruled out.
    text = text.rstrip("?").strip()
    for pattern in _SINGLE_PATTERNS:
        match = pattern.match(text)
        if match:
            return _from_parts(match.groupdict())
    return _NO_DATE


def _parse_range(text: str) -> DateRange:
    """Read text as two dates joined by a separator ("1390-1405", "1914/1918", "1914-18")."""
    for separator in _RANGE_SEPARATOR.finditer(text):
        left, right = text[: separator.start()], text[separator.end() :]
        start, _ = _parse_single(left)
        if start is None:
            continue
        right_bare = right.rstrip("?")
        if left.isdigit() and right_bare.isdigit() and len(right_bare) == 2:
            # "1914-18": the end year is written with its last digits only.
            end_year = start.year - start.year % 100 + int(right_bare)
            end = date(end_year, 12, 31) if end_year >= start.year else None
        else:
            _, end = _parse_single(right)
        if end is not None and start <= end:
            return start, end
    return _NO_DATE


def _from_parts(parts: dict[str, str | None]) -> DateRange:
    """Build the span of a year, a month of a year, or a single day."""
    year = int(parts["year"] or "0")
    month_text = parts.get("month")
    if month_text is None:
        return _year_span(year, year)
    month = int(month_text) if month_text.isdigit() else _MONTHS.get(month_text, 0)
    if not 1 <= month <= 12 or year < 1:
        return _NO_DATE
    day_text = parts.get("day")
    if day_text is None:
        return date(year, month, 1), date(year, month, calendar.monthrange(year, month)[1])
    try:
        day = date(year, month, int(day_text))
    except ValueError:
        return _NO_DATE
    return day, day


def _year_span(first: int, last: int) -> DateRange:
    """Span from 1 January of first to 31 December of last."""
    if first < 1 or last > 9999 or first > last:
        return _NO_DATE
    return date(first, 1, 1), date(last, 12, 31)


def _roman_to_int(roman: str) -> int:
    """Value of a roman numeral up to L (centuries), 0 if it is not one."""
    total = 0
    for index, char in enumerate(roman):
        value = _ROMAN[char]
        following = _ROMAN[roman[index + 1]] if index + 1 < len(roman) else 0
        total += -value if value < following else value
    return total

"""CSV cells that spreadsheets open as text, never as formulas (OWASP "CSV injection").

Titles, canvas ids and labels come from imported manifests: a cell such as
`=HYPERLINK("http://…"&A1)` would run when a curator opens the export in a spreadsheet.
"""

from collections.abc import Iterable

# A cell starting with one of these is read as a formula (tab and CR by some spreadsheets).
FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")


def spreadsheet_cell(value):
    """Text starting like a formula gets a leading apostrophe; numbers and other values stay as they are."""
    if isinstance(value, str) and value.startswith(FORMULA_PREFIXES):
        return "'" + value
    return value


def spreadsheet_row(values: Iterable) -> list:
    """A CSV row with every text cell made safe (spreadsheet_cell)."""
    return [spreadsheet_cell(value) for value in values]

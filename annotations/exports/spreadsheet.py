"""CSV cells that spreadsheets open as text, never as formulas (OWASP "CSV injection").

Titles, canvas ids and labels come from imported manifests: a cell such as
`=HYPERLINK("http://…"&A1)` would run when a curator opens the export in a spreadsheet.
"""

from collections.abc import Iterable

# A cell starting with one of these is read as a formula (tab and CR by some spreadsheets).
FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")


def spreadsheet_row(values: Iterable) -> list:
    """A CSV row whose text cells starting like a formula get a leading apostrophe; other values stay as they are."""
    return ["'" + value if isinstance(value, str) and value.startswith(FORMULA_PREFIXES) else value for value in values]

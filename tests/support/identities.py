"""Photos of five people with their face boxes, for the face-similarity tests and the model metrics."""

from pathlib import Path

IDENTITIES = Path(__file__).resolve().parent.parent / "fixtures" / "faces" / "identities"
# (file, person, face box x1, y1, x2, y2): see tests/fixtures/faces/identities/README.md.
PHOTOS = [
    ("obama1.jpg", "obama", (231, 53, 391, 278)),
    ("alex_lacamoire1.jpg", "alex", (262, 42, 388, 233)),
    ("kit_with_rose.jpg", "rose", (72, 97, 143, 190)),
    ("kit_with_rose.jpg", "kit", (237, 69, 323, 188)),
    ("obama_and_biden.jpg", "biden", (242, 127, 301, 206)),
    ("obama_and_biden.jpg", "obama", (365, 112, 428, 193)),
    ("kit_harington.jpg", "kit", (364, 41, 428, 124)),
    ("biden.jpg", "biden", (126, 48, 207, 165)),
]
# The portrait crops of tests/fixtures/faces (boxes in synthetic_pages.FIXTURE_FACES), by person.
CROPS = [("obama.jpg", "obama"), ("rose_leslie.jpg", "rose"), ("alex_lacamoire.jpg", "alex")]

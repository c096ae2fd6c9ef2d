"""Build the bundled demo document (demo/excelsior-1915): newspaper-like pages with real faces.

Run from the repository root with the dev requirements installed:
    PYTHONPATH=. .venv/bin/python scripts/make_demo.py
"""

import json
from pathlib import Path

from PIL import Image

from tests.support.synthetic_pages import newspaper_page

TARGET = Path("demo/excelsior-1915")
PAGES = (
    ((300, 260, 260), (1100, 300, 180), (500, 1200, 90), (1200, 1250, 60), (400, 1900, 120), (1150, 1950, 45)),
    ((250, 300, 140), (900, 320, 140), (350, 1300, 70), (1000, 1350, 200)),
    ((700, 500, 300), (300, 1600, 50), (1000, 1700, 80)),
)


def main() -> None:
    TARGET.mkdir(parents=True, exist_ok=True)
    truth = {}
    for number, faces in enumerate(PAGES, start=1):
        pixels, boxes = newspaper_page(1600, 2300, faces=list(faces), seed=number, halftone=number == 2)
        name = f"excelsior-1915-03-12-p{number}.jpg"
        Image.fromarray(pixels).save(TARGET / name, "JPEG", quality=78, optimize=True)
        truth[name] = boxes
    (TARGET / "metadata.json").write_text(
        json.dumps(
            {
                "label": "Excelsior (demo), 12 mars 1915",
                "date": "1915-03-12",
                "summary": "Synthetic newspaper pages with real face photos, for trying Visages offline.",
                "attribution": "Faces: NASA (astronaut, public domain) and face_recognition examples (MIT)",
                "metadata": [
                    {"label": "Title", "value": "Excelsior (demo)"},
                    {"label": "Date", "value": "1915-03-12"},
                    {"label": "Type", "value": "fascicule"},
                ],
            },
            indent=2,
            ensure_ascii=False,
        )
        + "\n"
    )
    (TARGET.parent / "excelsior-1915-ground-truth.json").write_text(json.dumps(truth, indent=2) + "\n")


if __name__ == "__main__":
    main()

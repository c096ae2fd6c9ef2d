"""Agreement between two labellings of the same pages (#14): the AI agent's dev-set labels and a curator's blind
check of them (`import_dataset --boxes-only`, reviewed, then `export_labelme --names labels`), or two
curators' exports of one set.

    .venv/bin/python bench/label_agreement.py bench/data/heritage_dev checked/
    .venv/bin/python bench/label_agreement.py --smoke     # two generated labellings: checks the figures

Pages are paired by file name (the `d<N>_p<order>` a dataset keeps through a round trip); on each page the faces
(LabelMe `face` shapes) are paired where their boxes overlap at IoU ≥ 0.5. It prints how many faces each
labelling drew and how many both drew, then, among those, how often gender and child agree, with Cohen's kappa
(the agreement beyond what each labelling's own shares would give by chance: raw agreement flatters a set that
is mostly men), and the confusion matrices (rows: the first labelling). Nothing is written anywhere.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from detection.inference.metrics import (  # noqa: E402
    CHILD_CLASSES,
    GENDER_CLASSES,
    IOU_THRESHOLD,
    ConfusionMatrix,
    cohen_kappa,
    confusion_matrix,
    match,
)
from detection.training.data import LabelledBox, LabelledImage, read_labelme_folder  # noqa: E402


def agreement(first: list[LabelledImage], second: list[LabelledImage]) -> dict:
    """Faces of each labelling on the pages both hold, the faces both drew, and their attribute confusions."""
    by_name = {image.image_path.stem: image for image in second}
    paired = [(image, by_name[image.image_path.stem]) for image in first if image.image_path.stem in by_name]
    genders: list[tuple[str, str]] = []
    children: list[tuple[str, str]] = []
    faces_first = faces_second = 0
    for one, other in paired:
        mine, theirs = _faces(one), _faces(other)
        faces_first += len(mine)
        faces_second += len(theirs)
        for index, matched in enumerate(match([face.box for face in theirs], [face.box for face in mine])):
            if matched is None:
                continue
            genders.append((mine[matched].gender, theirs[index].gender))
            children.append((CHILD_CLASSES[mine[matched].child], CHILD_CLASSES[theirs[index].child]))
    return {
        "pages": len(paired),
        "pages_first_only": len(first) - len(paired),
        "pages_second_only": len(second) - len(paired),
        "faces_first": faces_first,
        "faces_second": faces_second,
        "both": len(genders),
        "gender": confusion_matrix(genders, GENDER_CLASSES),
        "child": confusion_matrix(children, CHILD_CLASSES),
    }


def _faces(image: LabelledImage) -> list[LabelledBox]:
    # Both labellings are read as drawn: every face scores 1, so pairing goes by overlap alone.
    return [labelled for labelled in image.boxes if labelled.is_face]


def report(result: dict, first: str, second: str) -> list[str]:
    both = result["both"]
    lines = [
        f"# label_agreement: {first} (A) and {second} (B)",
        f"{result['pages']} pages in both ({result['pages_first_only']} in A only, {result['pages_second_only']} "
        f"in B only); faces paired at IoU ≥ {IOU_THRESHOLD}",
        "",
        "| figure | value |",
        "|---|---:|",
        f"| faces A drew | {result['faces_first']} |",
        f"| faces B drew | {result['faces_second']} |",
        f"| faces both drew | {both} |",
        f"| share of A's faces B drew | {_ratio(both, result['faces_first'])} |",
        f"| share of B's faces A drew | {_ratio(both, result['faces_second'])} |",
    ]
    for name in ("gender", "child"):
        matrix: ConfusionMatrix = result[name]
        agreed = sum(matrix.counts[index][index] for index in range(len(matrix.classes)))
        kappa = cohen_kappa(matrix)
        lines.append(f"| {name}: same label | {_ratio(agreed, both)} |")
        lines.append(f"| {name}: Cohen's kappa | {'–' if kappa is None else f'{kappa:.3f}'} |")
    for name in ("gender", "child"):
        matrix = result[name]
        lines += ["", f"| {name} (rows A, columns B) | " + " | ".join(matrix.classes) + " |"]
        lines.append("|---|" + "---:|" * len(matrix.classes))
        lines += [f"| {figures.label} | " + " | ".join(map(str, figures.row)) + " |" for figures in matrix.per_class]
    return lines


def _ratio(part: int, whole: int) -> str:
    return "–" if not whole else f"{part / whole:.3f}"


def smoke_labellings(root: Path) -> tuple[Path, Path]:
    """Two labellings of 2 pages: B misses one of A's 10 faces, adds one, calls 2 of A's 5 women men and 1 of
    A's 2 children an adult."""
    first, second = root / "a", root / "b"
    for folder in (first, second):
        folder.mkdir()
    genders = ["female"] * 5 + ["male"] * 5
    children = [True, True] + [False] * 8
    for page in range(2):
        shapes_a, shapes_b = [], []
        for index in range(page * 5, page * 5 + 5):
            x = 10 + 60 * (index % 5)
            shape = {"label": "face", "points": [[x, 10], [x + 40, 60]], "shape_type": "rectangle"}
            shapes_a.append({**shape, "gender": genders[index], "flags": {"child": children[index]}})
            if index == 9:
                continue
            gender = "male" if index in (0, 1) else genders[index]
            child = False if index == 1 else children[index]
            shapes_b.append({**shape, "gender": gender, "flags": {"child": child}})
        if page == 1:
            extra = {"label": "face", "points": [[10, 100], [50, 150]], "shape_type": "rectangle"}
            shapes_b.append({**extra, "gender": "unknown", "flags": {"child": False}})
        for folder, shapes in ((first, shapes_a), (second, shapes_b)):
            name = f"d1_p{page + 1:04d}"
            (folder / f"{name}.jpg").write_bytes(b"")
            record = {"shapes": shapes, "imagePath": f"{name}.jpg", "imageWidth": 400, "imageHeight": 200}
            (folder / f"{name}.json").write_text(json.dumps(record))
    return first, second


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("first", nargs="?", help="LabelMe folder A (rows of the confusion matrices)")
    parser.add_argument("second", nargs="?", help="LabelMe folder B")
    parser.add_argument("--smoke", action="store_true", help="two generated labellings instead of folders")
    args = parser.parse_args()
    if args.smoke:
        with tempfile.TemporaryDirectory() as root:
            first, second = smoke_labellings(Path(root))
            result = agreement(read_labelme_folder(first), read_labelme_folder(second))
        print("\n".join(report(result, "smoke A", "smoke B")))
        return
    if not (args.first and args.second):
        parser.error("give two LabelMe folders, or --smoke")
    folders = [Path(args.first), Path(args.second)]
    for folder in folders:
        if not folder.is_dir():
            parser.error(f"no such folder: {folder}")
    result = agreement(read_labelme_folder(folders[0]), read_labelme_folder(folders[1]))
    print("\n".join(report(result, str(folders[0]), str(folders[1]))))


if __name__ == "__main__":
    main()

"""Every script in bench/ still runs, at a tiny scale, on a fresh database it creates and migrates itself (#19).

Benchmarks are not timed tests: these check that each bench finishes and prints its table, never a timing.
Each runs in a fresh interpreter, as a person would run it, with the suite's DATABASE_URL (if any): on the
PostgreSQL pass the bench makes a new database on that server for the run and drops it at the end. Each
bench's database starts as a copy of one this module migrates once (bench/_django.py), and the bench migrates
its copy as a real run migrates an empty one: the eight seconds of migrations are spent once, not per bench.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from django.db import connection

ROOT = Path(__file__).resolve().parents[1]
# Generous for a loaded machine; the smoke runs take seconds each on an idle one.
TIMEOUT_S = 300
NUMBER = r"-?\d[\d,]*(?:\.\d+)?"


@pytest.fixture(scope="module", autouse=True)
def migrated_template(tmp_path_factory):
    """The database every bench of this module copies (BENCH_SQLITE_TEMPLATE or BENCH_POSTGRES_TEMPLATE)."""
    workdir = tmp_path_factory.mktemp("bench-template")
    made = subprocess.run(
        [sys.executable, str(ROOT / "bench" / "_django.py"), "template", str(workdir)],
        cwd=ROOT,
        env={**os.environ, "TMPDIR": str(workdir)},
        capture_output=True,
        text=True,
        timeout=TIMEOUT_S,
    )
    assert made.returncode == 0, made.stderr[-4000:]
    variable, value = made.stdout.strip().splitlines()[-1].split("=", 1)
    os.environ[variable] = value
    yield
    del os.environ[variable]
    if variable == "BENCH_POSTGRES_TEMPLATE":
        dropped = subprocess.run(
            [sys.executable, str(ROOT / "bench" / "_django.py"), "drop", value],
            cwd=ROOT,
            capture_output=True,
            text=True,
        )
        assert dropped.returncode == 0, dropped.stderr[-4000:]


def run_bench(script: str, *args: str, tmp_path: Path, env: dict[str, str] | None = None) -> str:
    """Run bench/<script> in a fresh interpreter; returns its standard output once it exited 0."""
    environment = {
        **os.environ,
        "VISAGES_DATA_DIR": str(tmp_path / "data"),
        # Throwaway data dirs and SQLite files the bench makes land here, not in the system tmp dir.
        "TMPDIR": str(tmp_path),
        **(env or {}),
    }
    done = subprocess.run(
        [sys.executable, str(ROOT / "bench" / script), *args],
        cwd=ROOT,
        env=environment,
        capture_output=True,
        text=True,
        timeout=TIMEOUT_S,
    )
    assert done.returncode == 0, f"{script} exited {done.returncode}\n{done.stdout[-4000:]}\n{done.stderr[-4000:]}"
    return done.stdout


def table(output: str, header: str) -> list[str]:
    """The lines under the first line starting with `header`, up to a blank line (Markdown separators left out)."""
    lines = output.splitlines()
    starts = [i for i, line in enumerate(lines) if line.strip().startswith(header)]
    assert starts, f"no table headed {header!r} in:\n{output}"
    rows = []
    for line in lines[starts[0] + 1 :]:
        if not line.strip():
            break
        if not re.fullmatch(r"\|[-:|]+\|", line.strip()):
            rows.append(line)
    assert rows, f"the table headed {header!r} has no row:\n{output}"
    return rows


def cells(row: str) -> list[str]:
    """The cells of a Markdown table row."""
    return [cell.strip() for cell in row.strip().strip("|").split("|")]


def on_postgres() -> bool:
    return connection.vendor == "postgresql"


def test_import_bench(tmp_path):
    output = run_bench("import_bench.py", "--canvases", "20", "--repeat", "1", tmp_path=tmp_path)

    assert re.search(rf"# import_bench: 20 canvases, .*, {'postgresql' if on_postgres() else 'sqlite'}$", output, re.M)
    rows = table(output, "step")
    steps = {}
    for row in rows:
        match = re.fullmatch(rf"(.+?)\s+({NUMBER})\s+({NUMBER})(\s+target.*)?", row)
        assert match, row
        steps[match[1]] = float(match[2])
    assert {"fetch (loopback)", "parse", "store (new)", "store (re-import)", "parse + store"} <= set(steps)


def test_search_bench(tmp_path):
    output = run_bench("search_bench.py", "--scale", "0.0002", "--repeat", "1", tmp_path=tmp_path)

    assert re.search(rf"^database: {'postgresql' if on_postgres() else 'sqlite'} ", output, re.M)
    generated = re.search(rf"generated ({NUMBER}) faces on ({NUMBER}) pages", output)
    assert generated, output
    results = {}
    for row in table(output, "#  "):
        match = re.fullmatch(rf"\s*(\d+)\s+({NUMBER})\s+({NUMBER})\s+(\d+)\s+search/pages/\?(.*)", row)
        if match:
            results[match[5]] = int(match[4])
    assert results, output
    # The search without filters finds every page the bulk load wrote: the load is whole and consistent.
    assert results[""] == int(generated[2].replace(",", ""))
    assert re.search(rf"worst p95 over the 20 page searches: {NUMBER} ms", output)


def test_export_bench(tmp_path):
    output = run_bench("export_bench.py", "--faces", "50", "--faces-per-page", "5", tmp_path=tmp_path)

    inserted = re.search(rf"Inserted ({NUMBER}) faces on ({NUMBER}) pages in {NUMBER} s \((\w+)\)", output)
    assert inserted, output
    assert inserted[3] == ("PostgreSQL" if on_postgres() else "SQLite")
    exported = {}
    for row in table(output, "| export |"):
        kind, faces, pages, *_ = cells(row)
        exported[kind] = (faces, pages)
    assert exported == {kind: (inserted[1], inserted[2]) for kind in ("csv", "coco", "labelme", "index")}


def test_similarity_bench(tmp_path):
    output = run_bench("similarity_bench.py", "--sizes", "2000", "--queries", "20", "--probes", "4", tmp_path=tmp_path)

    rows = [cells(row) for row in table(output, "| data |")]
    assert {(row[0], row[1]) for row in rows} == {("random", "2,000"), ("clustered", "2,000")}
    for row in rows:
        assert 0.0 <= float(row[-1]) <= 1.0, row
    # Exact search is the reference its recall is measured against.
    assert all(float(row[-1]) == 1.0 for row in rows if row[2] == "exact")


def test_similarity_bench_on_disk(tmp_path):
    output = run_bench(
        "similarity_bench.py",
        *("--disk", "--sizes", "2000", "--queries", "10", "--workers", "2", "--probes", "4", "--baseline", "--web"),
        tmp_path=tmp_path,
    )

    rows = [cells(row) for row in table(output, "| encodings |")]
    assert [(row[0], row[2]) for row in rows] == [("2,000", "2"), ("2,000", "1")]
    for row in rows:
        assert 0.0 <= float(row[6]) <= 1.0 and float(row[7]) > 0, row
    # --web: the disk workers loaded Django and every view before their first reading; the in-memory one did not.
    web_start, bare_start = (float(row[7].replace(",", "")) for row in rows)
    assert web_start > bare_start + 20, rows


@pytest.mark.worker
def test_load_bench(tmp_path):
    # DEBUG off, as deployed: throttles and the cache live in Redis (REDIS_URL).
    database = [] if on_postgres() else ["--sqlite"]
    output = run_bench(
        "load_bench.py",
        *database,
        *("--reviewers", "2", "--seconds", "2", "--baseline-seconds", "1", "--warmup-seconds", "1"),
        *("--think", "0.1", "--web-workers", "1", "--web-threads", "2"),
        tmp_path=tmp_path,
    )

    assert re.search(rf"# load_bench: 2 reviewers, .*, {'PostgreSQL' if on_postgres() else 'SQLite'};", output)
    phases = {}
    for row in table(output, "phase"):
        match = re.fullmatch(rf"(.+?)\s+{NUMBER}\s+(\d+)\s+(?:{NUMBER}\s+){{6}}(\d+)\s+\{{.*\}}", row)
        if match:
            phases[match[1]] = (int(match[2]), int(match[3]))
    assert set(phases) == {"read (GET, baseline)", "save (PATCH)"}, output
    for requests, errors in phases.values():
        assert requests > 0
        # Every reviewer saves with the version it last saw: nothing refused, nothing lost.
        assert errors == 0, output


@pytest.mark.worker
def test_worker_scale_bench(tmp_path):
    output = run_bench("worker_scale_bench.py", "--smoke", tmp_path=tmp_path)

    assert re.search(
        rf"# worker_scale_bench: 6 pages, .*, {'postgresql' if on_postgres() else 'sqlite'}; load average ", output
    )
    rows = {}
    for row in table(output, "| workers |"):
        workers, budget, *numbers = cells(row)
        rows[(int(workers), budget)] = [float(number) for number in numbers]
    assert set(rows) == {(1, "shared (Redis)"), (2, "shared (Redis)")}, output
    for pages_per_s, _, _, requests, refused, _, _, budget, lost, twice in rows.values():
        assert pages_per_s > 0 and budget == 20
        # Every page fetched and detected once: nothing lost, nothing done twice, one served request per page.
        assert (lost, twice) == (0, 0), output
        assert requests - refused == 6, output


@pytest.mark.realmodel
def test_detect_bench(tmp_path):
    # A smaller derivative than the default 2000 px keeps the smoke run short; the code path is the same.
    output = run_bench(
        "detect_bench.py",
        *("--pages", "1", "--detectors", "haar"),
        tmp_path=tmp_path,
        env={"DETECTION_MAX_DERIVATIVE": "1000"},
    )

    faces = re.search(r"1 pages of \d+x\d+, (\d+) faces; derivative 1000 px", output)
    assert faces, output
    (row,) = [cells(row) for row in table(output, "| detector |")]
    assert row[:2] == ["haar", "no"]
    found, recall = int(row[8]), row[9]
    assert 0 < found and re.fullmatch(r"\d+%", recall)


@pytest.mark.realmodel
def test_model_metrics(tmp_path):
    output = run_bench(
        "model_metrics.py",
        "--pages",
        "1",
        "--skip",
        "res10",
        "mtcnn",
        "dlib-mmod",
        "centerface",
        "trained",
        tmp_path=tmp_path,
    )

    detectors = [cells(row) for row in table(output, "| detector |")]
    assert [(row[0], row[1]) for row in detectors] == [("haar", "plain"), ("haar", "halftone")]
    attributes = [cells(row) for row in table(output, "| model |")]
    assert [(row[0], row[1]) for row in attributes] == [("onnx-age-gender", "plain"), ("onnx-age-gender", "halftone")]
    for row in attributes:
        assert 0.0 <= float(row[3]) <= 1.0, row
    assert re.search(r"^dlib encoder: \d+ faces of 5 people; ", output, re.M)


@pytest.mark.browser
def test_ui_bench(tmp_path):
    output = run_bench(
        "ui_bench.py",
        *("--smoke", "--faces", "50", "--frames", "5", "--rounds", "1", "--width", "800", "--height", "1100"),
        tmp_path=tmp_path,
    )

    rows = {}
    for row in table(output, "faces  variant"):
        # Rows start with the number of faces; the legend under the table does not.
        match = re.fullmatch(r"\s*(\d+)\s+(.+?)\s{2,}(.*)", row)
        if match:
            rows[match[2]] = match[3].split()
    assert set(rows) == {"bare OpenSeadragon", "Visages review", "Visages, boxes hidden"}, output
    review = rows["Visages review"]
    # Every cell measured (none "never ready"), and the page drew boxes.
    assert len(review) == 11 and review[0] != "never"
    assert 0 < int(review[-1]) <= 50


@pytest.mark.browser
def test_grid_bench(tmp_path):
    output = run_bench("grid_bench.py", "--smoke", "--faces", "12", tmp_path=tmp_path)

    rows = {row[0]: row for row in (cells(row) for row in table(output, "| policy |"))}
    assert set(rows) == {"walk every tile", "jump to wrong ones"}, output
    for row in rows.values():
        # 12 faces, 2 predicted wrong, every one of them curated with its true gender at the end.
        assert (row[1], row[2], row[6]) == ("12", "2", "12/12"), row
    # Walking presses one key a face and Enter; jumping skips the right ones.
    assert int(rows["walk every tile"][3]) == 13, output
    assert 0 < int(rows["jump to wrong ones"][3]) < 13, output


def test_heritage_eval_smoke(tmp_path):
    # Stand-in models on generated pages: every face found at 0.9, every ornament at 0.6, every third face
    # read as the other sex. curated_page puts 5 faces and 4 ornaments on a page.
    output = run_bench("heritage_eval.py", "--smoke", "--bootstrap", "200", tmp_path=tmp_path)

    assert re.search(
        r"^12 pages of 6 documents .* reading 6 pages \(reporting half\) of 3 documents, 30 faces", output, re.M
    )
    assert re.search(
        r"^labels of these faces: 0 checked by a curator, 0 left .*, 30 as the AI agent made", output, re.M
    )
    rows = {cells(row)[0]: cells(row)[1:] for row in table(output, "| figure |")}
    assert rows["precision"] == ["0.556", "0.556 – 0.556"]
    assert rows["recall"][0] == "1.000" and rows["AP@0.5"][0] == "1.000"
    assert rows["labelled as the other sex"][0] == "0.333"
    assert rows["gender accuracy (curated female/male)"][0] == "0.667"
    low, high = (float(value) for value in rows["gender accuracy (curated female/male)"][1].split(" – "))
    assert low <= 0.667 <= high and low < high
    gender = [cells(row) for row in table(output, "| gender (rows curated) |")]
    counts = [[int(count) for count in row[1:4]] for row in gender[:3]]
    assert sum(map(sum, counts)) == 30 and counts[2] == [0, 0, 0]
    assert counts[0][1] + counts[1][0] == 10, "one face in three labelled as the other sex"


def test_heritage_eval_corrects_the_womens_share_with_the_tuning_halfs_rates(tmp_path):
    # The stand-in reads every third face as the other sex; the tuning half holds too few women and
    # men to measure that (20 of each are needed), so the share read is left uncorrected, and said so.
    output = run_bench("heritage_eval.py", "--smoke", "--share-correction", "--bootstrap", "20", tmp_path=tmp_path)

    rows = {cells(row)[0]: cells(row)[1:] for row in table(output, "| faces |")}
    curated, read, corrected = rows["reporting half"][:3]
    assert 0 < float(curated) < 1 and read != curated and corrected == "–"
    thinned = rows["reporting half, 1 woman in 3 kept (seed 0)"]
    assert float(thinned[0]) < float(curated), "fewer women kept"
    assert re.search(r"^no correction: too_few$", output, re.M), output
    assert re.search(r"measured on the tuning half's matched faces \(\d+ women, \d+ men on 6 pages", output)


def test_heritage_eval_says_where_the_faces_are_missed_document_by_document(tmp_path):
    # The stand-in finds every face at 0.9 and every ornament at 0.6 (a false box at the 0.5 threshold): 3
    # reporting documents of 2 pages, each page 5 faces and 4 ornaments.
    output = run_bench("heritage_eval.py", "--smoke", "--by-document", "--bootstrap", "20", tmp_path=tmp_path)

    rows = [cells(row) for row in table(output, "| document |")]
    assert len(rows) == 3
    assert {tuple(row[1:]) for row in rows} == {("2", "10", "10", "0", "8", "1.000")}
    at_threshold = run_bench(
        "heritage_eval.py", "--smoke", "--by-document", "--threshold", "0.95", "--bootstrap", "20", tmp_path=tmp_path
    )
    assert {tuple(cells(row)[1:]) for row in table(at_threshold, "| document |")} == {
        ("2", "10", "0", "10", "0", "0.000")
    }


def test_heritage_eval_reads_the_tuning_half_when_asked(tmp_path):
    # Exploring a change reads the tuning half, so the reporting half stays unseen until the final run.
    output = run_bench("heritage_eval.py", "--smoke", "--half", "tuning", "--bootstrap", "20", tmp_path=tmp_path)

    assert re.search(r"^12 pages of 6 documents .* reading 6 pages \(tuning half\) of 3 documents", output, re.M)


def test_heritage_eval_splits_by_document_whatever_the_file_order():
    sys.path.insert(0, str(ROOT / "bench"))
    from heritage_eval import split_by_document

    from detection.training.data import LabelledImage

    images = [
        LabelledImage(image_path=Path(f"{doc}-{page}.jpg"), boxes=(), document=doc, page=f"{doc}-{page}")
        for doc in ("a", "b", "c", "d", "e")
        for page in range(3)
    ]

    tuning, reporting = split_by_document(images)
    again = split_by_document(list(reversed(images)))

    assert {i.document for i in tuning} & {i.document for i in reporting} == set()
    assert (len({i.document for i in tuning}), len({i.document for i in reporting})) == (3, 2)
    assert {i.page for i in again[0]} == {i.page for i in tuning}


def test_heritage_eval_keeps_each_document_s_half_when_documents_are_added(tmp_path):
    # With halves cut from the hash order of every document, adding documents moved the cut and sent
    # earlier documents to the other half (three did, between the 102- and 126-page sets): SPLIT.csv
    # freezes each document's half, and only new documents are split, among themselves, by the hash rule.
    sys.path.insert(0, str(ROOT / "bench"))
    from heritage_eval import frozen_split, split_by_document

    from detection.training.data import LabelledImage

    def pages(documents):
        return [LabelledImage(image_path=Path(f"{d}.jpg"), boxes=(), document=d, page=d) for d in documents]

    first = [str(n) for n in range(1, 11)]
    tuning, reporting = split_by_document(pages(first))
    split_file = tmp_path / "SPLIT.csv"
    split_file.write_text(
        "document,half\n"
        + "".join(f"{i.document},tuning\n" for i in tuning)
        + "".join(f"{i.document},reporting\n" for i in reporting)
    )
    grown = first + [str(n) for n in range(11, 41)]
    unfrozen = split_by_document(pages(grown))
    assert {i.document for i in unfrozen[0]} & {i.document for i in reporting}, "the hash cut moves documents"

    frozen_tuning, frozen_reporting = split_by_document(pages(grown), frozen=frozen_split(tmp_path))

    assert {i.document for i in tuning} <= {i.document for i in frozen_tuning}
    assert {i.document for i in reporting} <= {i.document for i in frozen_reporting}
    new = {str(n) for n in range(11, 41)}
    assert len({i.document for i in frozen_tuning} & new) == len({i.document for i in frozen_reporting} & new) == 15
    assert frozen_split(tmp_path / "elsewhere") == {}, "a set without SPLIT.csv is split by the hash rule alone"
    split_file.write_text("document,half\n1,validation\n")
    with pytest.raises(ValueError, match="validation"):
        frozen_split(tmp_path)


def test_heritage_eval_keys_a_page_on_the_document_its_file_name_gives():
    # A curator's check of the dev set imports it into another Visages instance (import_dataset) and
    # exports it back under the same file names (export_labelme --names labels): the documents' ids in the
    # files are that instance's then, so SPLIT.csv and SOURCES.csv key on the d<document> of the file name.
    sys.path.insert(0, str(ROOT / "bench"))
    from heritage_eval import split_by_document

    from detection.training.data import LabelledImage

    def page(name, document):
        return LabelledImage(image_path=Path(f"{name}.jpg"), boxes=(), document=document, page=name)

    images = [page("d12_p0003", "907"), page("d12_p0004", "908"), page("d5_p0001", "907"), page("scan", "")]
    frozen = {"12": "reporting", "5": "tuning", "scan": "tuning"}

    tuning, reporting = split_by_document(images, frozen)

    assert [image.page for image in reporting] == ["d12_p0003", "d12_p0004"]
    assert [image.page for image in tuning] == ["d5_p0001", "scan"]


def test_heritage_eval_says_how_many_of_the_faces_it_reads_a_curator_checked():
    # The dev set's labels are an AI agent's until a curator checks them in Visages, where they come in as the
    # `ai-agent`'s proposals: a face the curator confirmed or corrected reads accepted or edited, one drawn
    # on a page of the check reads curator/added, one left as proposed reads ai-agent/predicted; on a page
    # no check touched, every face is the agent's as exported from its own instance (curator/added).
    sys.path.insert(0, str(ROOT / "bench"))
    from heritage_eval import label_provenance

    from detection.inference.types import Detection
    from detection.training.data import LabelledBox, LabelledImage

    def box(source, status, is_face=True):
        return LabelledBox(Detection(0, 0, 10, 10, 1.0), is_face, source=source, status=status)

    def page(name, *boxes):
        return LabelledImage(image_path=Path(f"{name}.jpg"), boxes=boxes, document="1", page=name)

    checked = page(
        "d1_p0001",
        box("ai-agent", "accepted"),
        box("ai-agent", "edited"),
        box("curator", "added"),
        box("ai-agent", "predicted"),
        box("ai-agent", "rejected", is_face=False),
    )
    unchecked = page("d2_p0001", box("curator", "added"), box("curator", "added"))

    assert label_provenance([checked, unchecked]) == {"checked": 3, "proposed": 1, "unchecked": 2}
    assert label_provenance([unchecked]) == {"checked": 0, "proposed": 0, "unchecked": 2}


def test_the_dev_set_s_frozen_split_is_the_one_its_figures_were_read_on():
    # SPLIT.csv was written from the hash rule on the 126-page set; docs/benchmarks.md's figures read these halves.
    sys.path.insert(0, str(ROOT / "bench"))
    from heritage_eval import frozen_split, split_by_document

    from detection.training.data import read_labelme_folder

    folder = ROOT / "bench" / "data" / "heritage_dev"
    images = read_labelme_folder(folder)
    tuning, reporting = split_by_document(images)
    frozen = frozen_split(folder)

    assert frozen == {i.document: "tuning" for i in tuning} | {i.document: "reporting" for i in reporting}
    assert (len(set(frozen)), sum(half == "reporting" for half in frozen.values())) == (72, 36)


def test_heritage_heads_smoke(tmp_path):
    # Generated readings (no model): every combination is cross-validated on the tuning half, one is chosen
    # there, then every one is read once on the reporting half; the counts cover every sexed face.
    output = run_bench("heritage_heads.py", "--smoke", "--report", tmp_path=tmp_path)

    assert re.search(r"^Gender, tuning half out of fold: 160 faces \(56 women, 104 men\) of 8 documents", output, re.M)
    nested = {cells(row)[0].split(" (")[0]: cells(row)[1:] for row in table(output, "| reading | band |")}
    assert list(nested) == ["onnx", "onnx-cal", "head", "gate", "stack", "stack-x"]
    for row in nested.values():
        women, men = ([int(n) for n in cell.split(" / ")] for cell in (row[1], row[4]))
        assert (sum(women), sum(men)) == (56, 104)
    chosen = re.search(r"^Chosen for the reporting half: (\S+) \(band ([0-9.]+);", output, re.M)
    assert chosen and chosen.group(1) in nested
    assert re.search(r"^Reporting half, read once .*: 80 faces \(28 women, 52 men\)", output, re.M)
    assert f"{chosen.group(1)} **chosen**" in output or f"{chosen.group(1)} (W" in output
    children = {tuple(cells(row)[:2]) for row in table(output, "| reading | half | children")}
    assert ("onnx age < 13", "reporting") in children


def test_heritage_heads_reads_found_faces_out_of_fold():
    # --matched: the tuning half's found faces are read with readings fitted on the other folds only, each
    # found face counted once whatever its fold.
    sys.path.insert(0, str(ROOT / "bench"))
    from heritage_heads import found_out_of_fold, gender_cv, generated_faces

    faces = generated_faces()
    tuning = faces.take(faces.half == "tuning")
    found = tuning.take(tuning.width >= 40)

    lines = found_out_of_fold(gender_cv(tuning), found)

    women, men = int((found.gender == "female").sum()), int((found.gender == "male").sum())
    assert f"{women + men} faces ({women} women, {men} men)" in lines[1]
    rows = [cells(line) for line in lines if line.startswith("| stack at 0.6 |")]
    assert len(rows) == 1
    counts = [[int(n) for n in rows[0][i].split(" / ")] for i in (2, 5)]
    assert (sum(counts[0]), sum(counts[1])) == (women, men)
    assert counts[0][0] > counts[0][1] and counts[1][0] > counts[1][1]


def test_heritage_heads_band_meets_the_other_sex_cap_before_labelling_more():
    sys.path.insert(0, str(ROOT / "bench"))
    from heritage_heads import choose_band, confusion

    # 20 women, 20 men; two men read as women at 0.7 (10 %): the band must leave them unknown.
    female = np.array([True] * 20 + [False] * 20)
    p = np.array([0.9] * 18 + [0.55, 0.3] + [0.1] * 18 + [0.7, 0.7])

    band = choose_band(p, female)

    assert band > 0.7
    assert confusion(p, female, band) == {"women": (18, 0, 2), "men": (18, 0, 2)}
    # Cut at 0.6, 10 % of the men would be read as women.
    assert confusion(p, female, 0.6)["men"] == (18, 2, 0)


def test_heritage_heads_gate_reads_the_head_below_its_width():
    sys.path.insert(0, str(ROOT / "bench"))
    from heritage_heads import fit_reading

    # The head is right on narrow faces, onnx on wide ones: the gate learns a width between them.
    rng = np.random.default_rng(0)
    female = np.arange(200) % 2 == 0
    sign = np.where(female, 1.0, -1.0)
    width = np.where(np.arange(200) % 4 < 2, 15.0, 60.0)
    head = np.where(width < 30, 3 * sign, -sign) + rng.normal(scale=0.3, size=200)
    onnx = np.where(width < 30, -sign, 3 * sign) + rng.normal(scale=0.3, size=200)

    gate = fit_reading("gate", head, onnx, width, female)

    assert 15 < gate.width <= 60
    p = gate(head, onnx, width)
    assert ((p >= 0.5) == female).mean() > 0.95


def test_heritage_heads_child_weights_cap_a_crowd():
    sys.path.insert(0, str(ROOT / "bench"))
    from heritage_heads import DOCUMENT_CHILDREN, child_weights

    child = np.array([True] * 60 + [True] * 2 + [False] * 38)
    documents = np.array(["crowd"] * 60 + ["album"] * 2 + ["album"] * 38)

    weights = child_weights(child, documents)

    crowd, album = weights[:60].sum(), weights[60:62].sum()
    assert crowd / weights[60] == pytest.approx(DOCUMENT_CHILDREN), "the crowd weighs five children"
    assert weights[child].sum() == pytest.approx(weights[~child].sum())
    assert crowd + album == pytest.approx(50.0)


@pytest.mark.realmodel
def test_heritage_eval_with_real_models(tmp_path):
    output = run_bench(
        "heritage_eval.py",
        *("--generated", "--detector", "haar", "--target-precision", "0.5", "--bootstrap", "100"),
        tmp_path=tmp_path,
    )

    assert "haar + onnx-age-gender, threshold" in output and "(the tuning half" in output
    rows = {cells(row)[0]: cells(row)[1:] for row in table(output, "| figure |")}
    for name in ("AP@0.5", "precision", "recall"):
        assert 0.0 <= float(rows[name][0]) <= 1.0, rows[name]
    assert float(rows["seconds per page"][0]) > 0


@pytest.mark.realmodel
def test_heritage_eval_fits_the_encoding_head_on_the_tuning_half(tmp_path):
    # The head is fitted at run time on the tuning half's curated faces (so it follows the dev set as it
    # grows), says what cross-validation chose, then reads the reporting half like any attribute model.
    output = run_bench(
        "heritage_eval.py",
        *("--generated", "--detector", "haar", "--attributes", "encoding-head", "--bootstrap", "20"),
        tmp_path=tmp_path,
    )

    assert "haar + encoding-head (encoding), threshold" in output
    assert re.search(r"^encoding head fitted on the tuning half: 6 pages, \d+ curated faces", output, re.M)
    heads = {cells(row)[0]: cells(row)[1:] for row in table(output, "| head |")}
    assert heads["gender"][2] == "3", "three documents, three folds"
    assert 0.0 <= float(heads["gender"][4]) <= 1.0
    rows = {cells(row)[0]: cells(row)[1:] for row in table(output, "| figure |")}
    assert rows["gender accuracy (curated female/male)"][0] != "–"


def test_heritage_eval_tiles_pages_as_a_run_does(tmp_path, settings):
    # The harness measures the default pipeline: its tiles are a run's (DETECTION_TILE_SIZE, DETECTION_TILE_OVERLAP),
    # not detect_tiled's own defaults (600 px tiles missed every small face of the real dev set).
    sys.path.insert(0, str(ROOT / "bench"))
    from heritage_eval import Pipeline
    from PIL import Image

    from detection.inference.tiling import tile_origins
    from detection.training.data import LabelledImage

    class Recorder:
        def __init__(self):
            self.shapes = []

        def detect(self, image):
            self.shapes.append(image.shape[:2])
            return []

    path = tmp_path / "page.jpg"
    Image.new("RGB", (1000, 800), "white").save(path)
    pipeline = Pipeline.__new__(Pipeline)
    pipeline.detector, pipeline.tiling, pipeline.max_face_share, pipeline.turned_faces = Recorder(), True, 0.8, False

    pipeline.detect(LabelledImage(image_path=path, boxes=(), document="d", page="p"))

    tiles = [shape for shape in pipeline.detector.shapes if shape != (800, 1000)]
    assert {max(shape) for shape in tiles} == {settings.DETECTION_TILE_SIZE}
    size = settings.DETECTION_TILE_SIZE
    step = round(size * (1 - settings.DETECTION_TILE_OVERLAP))
    assert len(tiles) == len(tile_origins(1000, size, step)) * len(tile_origins(800, size, step))


def test_heritage_eval_reads_turned_faces_as_a_run_does(tmp_path):
    from PIL import Image

    from bench.heritage_eval import Pipeline
    from detection.inference.types import AgeGender, Detection
    from detection.training.data import LabelledImage

    class SidewaysOnly:
        """Finds one face, only on the page turned (its height above its width)."""

        def detect(self, image):
            return [Detection(100, 200, 160, 280, 0.9)] if image.shape[0] > image.shape[1] else []

    class ReadsWhereShown:
        def __init__(self):
            self.shown = []

        def predict(self, image, box):
            self.shown.append((image.shape[:2], box.width, box.height))
            return AgeGender(age=40.0, age_confidence=0.5, gender="male", gender_confidence=0.9, child=False)

    path = tmp_path / "page.jpg"
    Image.new("RGB", (1000, 800), "white").save(path)
    pipeline = Pipeline.__new__(Pipeline)
    pipeline.detector, pipeline.tiling, pipeline.max_face_share = SidewaysOnly(), False, 0.8
    pipeline.attributes, pipeline.turned_faces = ReadsWhereShown(), True

    pixels, boxes = pipeline.detect(LabelledImage(image_path=path, boxes=(), document="d", page="p"))

    # Found on the page turned each way, at two places of the page, lying on their side; read standing upright.
    assert pixels.shape[:2] == (800, 1000)
    assert sorted((box.width, box.height) for box in boxes) == [(80, 60), (80, 60)]
    assert pipeline.read(pixels, boxes[0]) == ("male", False)
    assert pipeline.attributes.shown == [((1000, 800), 60, 80)]


def test_label_agreement_smoke(tmp_path):
    # B misses one of A's 10 faces and adds one; of the 9 both drew, B calls 2 of A's 5 women men and 1 of
    # A's 2 children an adult. Kappa by hand: gender (7/9 - 39/81) / (1 - 39/81), child (8/9 - 58/81) / (1 - 58/81).
    output = run_bench("label_agreement.py", "--smoke", tmp_path=tmp_path)

    assert re.search(r"^2 pages in both \(0 in A only, 0 in B only\)", output, re.M)
    rows = {cells(row)[0]: cells(row)[1] for row in table(output, "| figure |")}
    assert (rows["faces A drew"], rows["faces B drew"], rows["faces both drew"]) == ("10", "10", "9")
    assert rows["share of A's faces B drew"] == "0.900"
    assert (rows["gender: same label"], rows["gender: Cohen's kappa"]) == (
        "0.778",
        f"{(7 / 9 - 39 / 81) / (1 - 39 / 81):.3f}",
    )
    assert (rows["child: same label"], rows["child: Cohen's kappa"]) == (
        "0.889",
        f"{(8 / 9 - 58 / 81) / (1 - 58 / 81):.3f}",
    )
    gender = {cells(row)[0]: cells(row)[1:] for row in table(output, "| gender (rows A, columns B) |")}
    assert gender["female"] == ["3", "2", "0"] and gender["male"] == ["0", "4", "0"]

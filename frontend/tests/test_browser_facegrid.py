"""Browser: a curator reviews the face results of a search in the review grid, from the keyboard (#17).

Bulk writes go through POST /api/faces/bulk/: a face another curator changed after the grid loaded
shows its conflict on its tile while the others go through, and Ctrl+Z undoes the batch.
"""

from __future__ import annotations

import json
import re

import pytest
from django.contrib.auth import get_user_model
from playwright.sync_api import expect

from annotations.ingest.manifests import document_import_run, document_request_import
from annotations.models import Corpus, CorpusMembership, CorpusRole, Face, FaceStatus, Gender, ReviewStatus
from annotations.services import face_update
from annotations.tests.factories import make_face
from tests.support.manifests import jpeg_bytes

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

PAGES = 4
PER_PAGE = 25


@pytest.fixture
def review_corpus(tmp_path, logged_in_page):
    """100 predicted male faces on four scanned pages of a corpus carol curates, gender confidences all different."""
    carol = get_user_model().objects.get(username="carol")
    corpus = Corpus.objects.create(name="Le Miroir", is_public=False)
    CorpusMembership.objects.create(corpus=corpus, user=carol, role=CorpusRole.CURATOR)
    folder = tmp_path / "miroir"
    folder.mkdir()
    for n in range(1, PAGES + 1):
        (folder / f"f{n}.jpg").write_bytes(jpeg_bytes(1000, 1000, label=f"p{n}"))
    (folder / "metadata.json").write_text(json.dumps({"label": "Le Miroir 1916", "date": "1916-05-01"}))
    document = document_import_run(document_id=document_request_import(corpus=corpus, source=str(folder)).pk)
    faces = []
    for page in document.pages.order_by("order"):
        for n in range(PER_PAGE):
            faces.append(
                make_face(
                    page=page,
                    x=20 + 190 * (n % 5),
                    y=20 + 190 * (n // 5),
                    w=150,
                    h=170,
                    gender=Gender.MALE,
                    gender_confidence=round(0.5 + 0.004 * ((len(faces) * 37) % 100), 3),
                )
            )
    return {"corpus": corpus, "faces": faces, "carol": carol}


def open_grid(page, live_server, count: int = 100):
    page.set_viewport_size({"width": 1400, "height": 900})
    page.goto(f"{live_server.url}/search/?view=review")
    expect(page.locator("#result-count")).to_have_text(f"{count} faces")
    expect(page.locator(".grid-tile")).to_have_count(count)
    page.locator("#result-grid").focus()


def tile_ids(page) -> list[int]:
    ids = page.locator(".grid-tile").evaluate_all("(tiles) => tiles.map((tile) => tile.dataset.faceId)")
    return [int(face_id) for face_id in ids]


def test_bulk_set_gender_with_one_conflicting_face_then_undo_the_batch(
    logged_in_page, live_server, review_corpus, tmp_path
):
    page = logged_in_page
    faces = review_corpus["faces"]
    open_grid(page, live_server)
    # Lowest gender confidence first.
    expected_order = sorted(faces, key=lambda face: (face.gender_confidence, face.pk))
    assert tile_ids(page) == [face.pk for face in expected_order]

    # Another curator changes one face after the grid loaded.
    dora = get_user_model().objects.create_user("dora")
    CorpusMembership.objects.create(corpus=review_corpus["corpus"], user=dora, role=CorpusRole.CURATOR)
    changed = expected_order[40]
    face_update(face=Face.objects.get(pk=changed.pk), user=dora, expected_version=1, data={"gender": Gender.UNKNOWN})

    page.keyboard.press("Control+a")
    expect(page.locator('.grid-tile[aria-selected="true"]')).to_have_count(100)
    page.keyboard.press("f")

    expect(page.locator("#grid-status")).to_contain_text("Gender set to Woman on 99 faces. 1 not changed")
    conflict = page.locator(f"#tile-{changed.pk}")
    expect(conflict).to_have_attribute("data-outcome", "conflict")
    expect(conflict.locator(".tile-note")).to_contain_text("Changed by someone else")
    expect(conflict).to_have_attribute("data-gender", "unknown")
    expect(page.locator('.grid-tile[data-gender="female"]')).to_have_count(99)
    others = Face.objects.exclude(pk=changed.pk)
    assert set(others.values_list("gender", "status", "version").distinct()) == {(Gender.FEMALE, FaceStatus.EDITED, 2)}
    assert Face.objects.get(pk=changed.pk).gender == Gender.UNKNOWN
    page.screenshot(path=tmp_path / "facegrid-conflict.png")

    page.keyboard.press("Control+z")

    expect(page.locator("#grid-status")).to_have_text("Undone on 99 faces.")
    expect(page.locator('.grid-tile[data-gender="male"]')).to_have_count(99)
    assert set(others.values_list("gender", "status", "version").distinct()) == {(Gender.MALE, FaceStatus.PREDICTED, 3)}
    assert (Face.objects.get(pk=changed.pk).gender, Face.objects.get(pk=changed.pk).version) == (Gender.UNKNOWN, 2)


def test_keys_set_the_focused_face_move_on_and_enter_accepts_the_untouched_ones(
    logged_in_page, live_server, review_corpus
):
    page = logged_in_page
    faces = review_corpus["faces"][:6]
    Face.objects.exclude(pk__in=[face.pk for face in faces]).update(status=FaceStatus.REJECTED)
    open_grid(page, live_server, count=6)
    ids = tile_ids(page)
    # From the other views, the grid link lists the faces still to review (untouched model faces).
    expect(page.locator("#view-review")).to_have_attribute("href", re.compile(r"view=review.*source=model"))

    page.keyboard.press("f")  # the first face is a woman; focus moves to the second
    expect(page.locator(".grid-tile").nth(1)).to_have_class(re.compile("is-focused"))
    page.keyboard.press("ArrowRight")  # the second is right as predicted
    page.keyboard.press("Shift+ArrowRight")  # the third and fourth are children
    page.keyboard.press("c")
    expect(page.locator("#grid-status")).to_contain_text("Marked 2 faces as children.")
    page.keyboard.press("x")  # the fifth is no face at all
    page.keyboard.press("Enter")
    expect(page.locator("#grid-status")).to_contain_text("Accepted 2 faces.")

    state = {face.pk: (face.gender, face.child, face.status) for face in Face.objects.filter(pk__in=ids)}
    assert [state[face_id] for face_id in ids] == [
        (Gender.FEMALE, False, FaceStatus.EDITED),
        (Gender.MALE, False, FaceStatus.ACCEPTED),
        (Gender.MALE, True, FaceStatus.EDITED),
        (Gender.MALE, True, FaceStatus.EDITED),
        (Gender.MALE, False, FaceStatus.REJECTED),
        (Gender.MALE, False, FaceStatus.ACCEPTED),
    ]
    page.keyboard.press("Control+z")  # undoes the accept of the untouched faces only
    expect(page.locator("#grid-status")).to_have_text("Undone on 2 faces.")
    assert Face.objects.get(pk=ids[1]).status == FaceStatus.PREDICTED
    assert Face.objects.get(pk=ids[4]).status == FaceStatus.REJECTED


def test_each_tile_says_where_its_page_stands_in_review_and_follows_a_change(
    logged_in_page, live_server, review_corpus
):
    page = logged_in_page
    scans = list(review_corpus["corpus"].documents.get().pages.order_by("order"))
    scans[1].__class__.objects.filter(pk=scans[1].pk).update(review_status=ReviewStatus.REVIEWED)
    open_grid(page, live_server)
    expect(page.locator('.grid-tile[data-page-status="reviewed"] .tile-page')).to_have_text(
        ["Page reviewed"] * PER_PAGE
    )
    expect(page.locator('.grid-tile[data-page-status="unreviewed"]')).to_have_count(PER_PAGE * 3)
    first = page.locator(".grid-tile").first
    assert Face.objects.get(pk=int(first.get_attribute("data-face-id"))).page_id == scans[0].pk, "least confident"
    expect(first.locator(".tile-page")).to_have_text("Page not reviewed")

    page.keyboard.press("a")  # the first face is right: accepting it is a curator's change of its page

    expect(page.locator("#grid-status")).to_contain_text("Accepted 1 face.")
    scans[0].refresh_from_db()
    assert scans[0].review_status == ReviewStatus.IN_REVIEW
    in_review = page.locator('.grid-tile[data-page-status="in_review"]')
    expect(in_review.locator(".tile-page")).to_have_text(["Page in review"] * PER_PAGE)
    shown = {int(face_id) for face_id in in_review.evaluate_all("(tiles) => tiles.map((t) => t.dataset.faceId)")}
    assert shown == set(Face.objects.filter(page=scans[0]).values_list("pk", flat=True)), "all its tiles follow"
    expect(page.locator('.grid-tile[data-page-status="reviewed"]')).to_have_count(PER_PAGE)

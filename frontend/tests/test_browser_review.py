"""Browser: a curator reviews a page on the canvas; every edit is saved, survives a reload, and
conflicts, undo, retries and the review status work through the real UI."""

from __future__ import annotations

import io
from types import SimpleNamespace

import pytest
from PIL import Image
from playwright.sync_api import expect
from rest_framework.response import Response

from annotations.api import FaceDetailApi
from annotations.ingest.manifests import document_import_run, document_request_import
from annotations.models import Corpus, CorpusMembership, CorpusRole, Face, FaceStatus, Gender, ReviewStatus
from annotations.services import (
    FacePrediction,
    face_reject,
    face_update,
    faces_store_predictions,
    page_set_review_status,
)
from tests.support.clients import browser_log_in
from tests.support.manifests import jpeg_bytes

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def review(page, live_server, django_user_model, tmp_path):
    """A curator `dora`, a two-page document of local scans, three predicted faces on page 1."""
    dora = django_user_model.objects.create_user("dora")
    corpus = Corpus.objects.create(name="Review", is_public=False)
    CorpusMembership.objects.create(corpus=corpus, user=dora, role=CorpusRole.CURATOR)
    scans = tmp_path / "scans"
    scans.mkdir()
    for n in (1, 2, 3):
        (scans / f"p{n}.jpg").write_bytes(jpeg_bytes(1600, 2000, label=f"page {n}"))
    document = document_import_run(document_id=document_request_import(corpus=corpus, source=str(scans)).pk)
    pages = list(document.pages.order_by("order"))
    faces = faces_store_predictions(
        page=pages[0],
        predictions=[
            FacePrediction(x=300, y=300, w=240, h=300, confidence=0.95, gender=Gender.MALE),
            FacePrediction(x=900, y=700, w=200, h=240, confidence=0.7),
            FacePrediction(x=400, y=1300, w=160, h=200, confidence=0.4, gender=Gender.FEMALE),
        ],
        source="res10",
    )
    page.set_viewport_size({"width": 1280, "height": 800})
    browser_log_in(page, live_server, dora)
    return SimpleNamespace(user=dora, corpus=corpus, document=document, pages=pages, faces=faces)


@pytest.fixture
def unavailable_saves(monkeypatch):
    """The live server answers 503 to PATCHes of the faces put in `.faces` (and records them).

    Injected in the server (it runs in this process), not by routing the browser's requests:
    a Playwright route now and then let such a PATCH through in CI.
    """
    save = FaceDetailApi.patch
    faces: set[int] = set()
    refused: list[int] = []

    def patch(view, request, pk: int):
        if pk in faces:
            refused.append(pk)
            return Response({"detail": "down"}, status=503)
        return save(view, request, pk)

    monkeypatch.setattr(FaceDetailApi, "patch", patch)
    return SimpleNamespace(faces=faces, refused=refused)


def open_review(page, live_server, db_page, query=""):
    page.goto(f"{live_server.url}/pages/{db_page.pk}/{query}")
    page.wait_for_selector("#review[data-ready='1']", timeout=20000)
    # The first frame with the image in place; later frames move boxes with it.
    page.wait_for_function("Number(document.getElementById('viewer').dataset.tilesLoaded || 0) > 0", timeout=20000)
    page.wait_for_timeout(300)


def wait_saved(page):
    expect(page.locator("#save-state")).to_have_text("All changes saved", timeout=10000)


def client_box(page, face_id):
    return page.evaluate(f"window.visagesReview.clientBox({face_id})")


def drag(page, start, end):
    page.mouse.move(*start)
    page.mouse.down()
    page.mouse.move((start[0] + end[0]) / 2, (start[1] + end[1]) / 2, steps=4)
    page.mouse.move(*end, steps=4)
    page.mouse.up()


def test_a_curator_draws_resizes_and_sets_gender_by_keyboard_and_it_persists(page, live_server, review):
    open_review(page, live_server, review.pages[0])
    viewer = page.locator("#viewer").bounding_box()

    page.keyboard.press("b")
    start = (viewer["x"] + viewer["width"] * 0.62, viewer["y"] + viewer["height"] * 0.15)
    drag(page, start, (start[0] + 60, start[1] + 70))
    wait_saved(page)

    added = Face.objects.get(status=FaceStatus.ADDED)
    assert (added.source, added.confidence, added.version) == ("curator", 1.0, 1)
    expect(page.locator("#editor-status")).to_have_text("added")
    box = client_box(page, added.pk)
    drag(page, (box["x"] + box["w"], box["y"] + box["h"]), (box["x"] + box["w"] + 40, box["y"] + box["h"] + 30))
    wait_saved(page)
    resized = Face.objects.get(pk=added.pk)
    assert resized.w > added.w + 20 and resized.h > added.h + 15
    assert (resized.x, resized.y) == (added.x, added.y)

    page.keyboard.press("f")
    wait_saved(page)
    assert Face.objects.get(pk=added.pk).gender == Gender.FEMALE

    page.reload()
    page.wait_for_selector("#review[data-ready='1']", timeout=20000)
    stored = page.evaluate(
        f"(() => {{ const f = window.visagesReview.face({added.pk}); return [f.gender, f.w, f.h]; }})()"
    )
    assert stored == ["female", resized.w, resized.h]
    expect(page.locator(".face-row.status-added")).to_contain_text("female")


def test_a_box_whose_create_answer_is_lost_is_created_once(page, live_server, review):
    open_review(page, live_server, review.pages[0])
    lost = []

    def lose_the_first_answer(route):
        if route.request.method == "POST" and not lost:
            lost.append(route.fetch().status)  # the server has made the face; its answer never arrives
            route.abort("internetdisconnected")
        else:
            route.continue_()

    page.route("**/api/faces/", lose_the_first_answer)
    viewer = page.locator("#viewer").bounding_box()
    page.keyboard.press("b")
    start = (viewer["x"] + viewer["width"] * 0.62, viewer["y"] + viewer["height"] * 0.15)
    drag(page, start, (start[0] + 60, start[1] + 70))
    wait_saved(page)

    assert lost == [201]
    added = Face.objects.get(status=FaceStatus.ADDED)
    assert added.revisions.count() == 1
    assert page.evaluate(f"window.visagesReview.face({added.pk}) !== undefined")


def test_moving_a_predicted_box_marks_it_edited(page, live_server, review):
    open_review(page, live_server, review.pages[0])
    face = review.faces[1]
    box = client_box(page, face.pk)

    drag(
        page,
        (box["x"] + box["w"] / 2, box["y"] + box["h"] / 2),
        (box["x"] + box["w"] / 2 + 30, box["y"] + box["h"] / 2),
    )
    wait_saved(page)

    moved = Face.objects.get(pk=face.pk)
    assert moved.x > face.x + 10 and moved.y == face.y and moved.w == face.w
    assert (moved.status, moved.version) == (FaceStatus.EDITED, 2)


def test_keyboard_review_accepts_rejects_and_marks_the_page_reviewed(page, live_server, review):
    open_review(page, live_server, review.pages[0])
    first, second, third = review.faces

    page.keyboard.press("j")
    expect(page.locator("#editor-title")).to_have_text(f"Face {first.pk}")
    page.keyboard.press("a")
    page.keyboard.press("j")
    page.keyboard.press("x")
    wait_saved(page)
    expect(page.locator("#editor-title")).to_have_text(f"Face {third.pk}")
    page.keyboard.press("c")
    page.keyboard.press("e")
    page.keyboard.type("34")
    page.keyboard.press("Enter")
    page.keyboard.press("r")
    wait_saved(page)

    assert Face.objects.get(pk=first.pk).status == FaceStatus.ACCEPTED
    assert Face.objects.get(pk=second.pk).status == FaceStatus.REJECTED
    third = Face.objects.get(pk=third.pk)
    assert (third.child, third.age, third.status) == (True, 34, FaceStatus.EDITED)
    review.pages[0].refresh_from_db()
    assert (review.pages[0].review_status, review.pages[0].reviewed_by) == (ReviewStatus.REVIEWED, review.user)
    expect(page.locator("#review-status")).to_have_text("Reviewed")


def test_a_review_status_someone_changed_meanwhile_is_shown_not_overwritten(
    page, live_server, review, django_user_model
):
    open_review(page, live_server, review.pages[0])
    eve = django_user_model.objects.create_user("eve")
    CorpusMembership.objects.create(corpus=review.corpus, user=eve, role=CorpusRole.CURATOR)
    page_set_review_status(page=review.pages[0], status=ReviewStatus.IN_REVIEW, user=eve, review_version=1)

    page.click("#mark-reviewed")

    expect(page.locator("#save-state")).to_contain_text("Someone else changed this page's review status", timeout=10000)
    expect(page.locator("#review-status")).to_have_text("In review")
    review.pages[0].refresh_from_db()
    assert (review.pages[0].review_status, review.pages[0].review_version) == (ReviewStatus.IN_REVIEW, 2)

    page.click("#mark-reviewed")
    wait_saved(page)

    review.pages[0].refresh_from_db()
    assert (review.pages[0].review_status, review.pages[0].reviewed_by) == (ReviewStatus.REVIEWED, review.user)
    expect(page.locator("#review-status")).to_have_text("Reviewed")


def test_the_page_s_review_history_says_who_reviewed_it_after_it_is_reopened(
    page, live_server, review, django_user_model
):
    eve = django_user_model.objects.create_user("eve")
    CorpusMembership.objects.create(corpus=review.corpus, user=eve, role=CorpusRole.CURATOR)
    page_set_review_status(page=review.pages[0], status=ReviewStatus.REVIEWED, user=eve, review_version=1)
    open_review(page, live_server, review.pages[0])
    history = page.locator("#review-history-list li")
    expect(history).to_have_count(1)
    page.click("#review-history summary")
    expect(history.first).to_contain_text("eve: Unreviewed → Reviewed, ")

    page.click("#mark-reviewed")  # dora reopens the page
    wait_saved(page)

    expect(page.locator("#review-status")).to_have_text("In review")
    expect(history).to_have_count(2)
    expect(history.nth(0)).to_contain_text("dora: Reviewed → In review, ")
    expect(history.nth(1)).to_contain_text("eve: Unreviewed → Reviewed, ")
    review.pages[0].refresh_from_db()
    assert review.pages[0].reviewed_by is None, "the page forgets its reviewer; its history does not"
    page.reload()
    page.wait_for_selector("#review[data-ready='1']", timeout=20000)
    expect(history).to_have_count(2)


def test_a_curator_s_first_face_change_shows_the_page_in_review_and_who_started_it(page, live_server, review):
    open_review(page, live_server, review.pages[0])
    expect(page.locator("#review-status")).to_have_text("Unreviewed")
    expect(page.locator("#review-history")).to_be_hidden()

    page.keyboard.press("j")
    expect(page.locator("#editor-title")).to_have_text(f"Face {review.faces[0].pk}")
    page.keyboard.press("a")  # accept: the first change of the page's faces
    wait_saved(page)

    expect(page.locator("#review-status")).to_have_text("In review")
    history = page.locator("#review-history-list li")
    expect(history).to_have_count(1)
    page.click("#review-history summary")
    expect(history.first).to_contain_text("dora: Unreviewed → In review, ")


def test_undo_and_redo_the_last_edit(page, live_server, review):
    open_review(page, live_server, review.pages[0])
    face = review.faces[0]
    page.keyboard.press("j")
    page.keyboard.press("u")
    wait_saved(page)
    assert Face.objects.get(pk=face.pk).gender == Gender.UNKNOWN

    page.keyboard.press("Control+z")
    wait_saved(page)
    undone = Face.objects.get(pk=face.pk)
    assert (undone.gender, undone.status) == (Gender.MALE, FaceStatus.PREDICTED)
    expect(page.locator("input[name=gender][value=male]")).to_be_checked()

    page.keyboard.press("Control+Shift+z")
    wait_saved(page)
    assert Face.objects.get(pk=face.pk).gender == Gender.UNKNOWN
    assert face.revisions.count() == 3


def test_a_stale_edit_shows_the_conflict_and_overwrites_nothing(page, live_server, review, django_user_model):
    open_review(page, live_server, review.pages[0])
    face = review.faces[0]
    other = django_user_model.objects.create_user("erin")
    face_update(face=Face.objects.get(pk=face.pk), user=other, expected_version=1, data={"gender": Gender.FEMALE})

    page.keyboard.press("j")
    page.keyboard.press("u")

    expect(page.locator("#conflict")).to_be_visible(timeout=10000)
    expect(page.locator("#conflict-text")).to_contain_text("someone else changed this face")
    expect(page.locator("#save-state")).to_contain_text("Conflict")
    stored = Face.objects.get(pk=face.pk)
    assert (stored.gender, stored.version) == (Gender.FEMALE, 2)

    page.click("#conflict-theirs")
    expect(page.locator("#conflict")).to_be_hidden()
    expect(page.locator("input[name=gender][value=female]")).to_be_checked()
    wait_saved(page)


def test_edits_made_offline_are_retried_until_saved(page, live_server, review):
    face = review.faces[0]
    # Opened at the face, so the edit below is this face's whatever the list selected before.
    open_review(page, live_server, review.pages[0], f"?face={face.pk}")
    expect(page.locator("input[name=gender][value=male]")).to_be_checked()
    # The browser goes offline (every request fails, as on a dropped connection) until the page has
    # said so: a route aborting the PATCH now and then let it through in CI.
    page.context.set_offline(True)
    page.keyboard.press("f")

    expect(page.locator("#save-state")).to_contain_text("Not saved", timeout=10000)
    assert Face.objects.get(pk=face.pk).gender == Gender.MALE
    page.context.set_offline(False)
    # Dispatched even if the scheduled retry got there first and hid the button.
    page.locator("#retry-now").dispatch_event("click")
    wait_saved(page)
    assert Face.objects.get(pk=face.pk).gender == Gender.FEMALE


def test_history_shows_changes_and_reverts_one(page, live_server, review):
    open_review(page, live_server, review.pages[0])
    face = review.faces[2]
    page.keyboard.press("j")
    page.keyboard.press("j")
    page.keyboard.press("j")
    page.keyboard.press("m")
    wait_saved(page)

    page.click("#face-history summary")
    expect(page.locator("#history-list li")).to_have_count(1)
    expect(page.locator("#history-list li").first).to_contain_text("gender female → male")
    page.click("#history-list li button")
    wait_saved(page)

    assert Face.objects.get(pk=face.pk).gender == Gender.FEMALE
    expect(page.locator("#history-list li")).to_have_count(2)
    expect(page.locator("input[name=gender][value=female]")).to_be_checked()


def test_page_keys_move_between_pages_and_to_the_next_unreviewed(page, live_server, review):
    first, second, third = review.pages
    type(second).objects.filter(pk=second.pk).update(review_status=ReviewStatus.REVIEWED)
    open_review(page, live_server, first)

    page.keyboard.press("n")
    expect(page).to_have_url(f"{live_server.url}/pages/{second.pk}/")
    page.wait_for_selector("#review[data-ready='1']")
    page.keyboard.press("p")
    expect(page).to_have_url(f"{live_server.url}/pages/{first.pk}/")
    page.wait_for_selector("#review[data-ready='1']")
    page.keyboard.press("Shift+N")
    expect(page).to_have_url(f"{live_server.url}/pages/{third.pk}/")


def on_screen_colours(page, face_id):
    """The colours on screen across the left edge of a face's box, halfway down (a 4-pixel strip)."""
    box = client_box(page, face_id)
    strip = {"x": round(box["x"]) - 1, "y": round(box["y"] + box["h"] / 2), "width": 4, "height": 1}
    data = Image.open(io.BytesIO(page.screenshot(clip=strip))).convert("RGB").tobytes()
    return {"#" + data[i : i + 3].hex() for i in range(0, len(data), 3)}


def test_the_confidence_slider_filters_boxes_and_list(page, live_server, review):
    open_review(page, live_server, review.pages[0])
    expect(page.locator(".face-row")).to_have_count(3)
    low = review.faces[2]
    # The box layer writes each predicted box's outline in its status colour, opaque.
    assert "#f9ab00" in on_screen_colours(page, low.pk)

    page.locator("#confidence-filter").fill("0.5")

    expect(page.locator(".face-row")).to_have_count(2)
    page.wait_for_timeout(100)
    assert "#f9ab00" not in on_screen_colours(page, low.pk), "the filtered-out box is gone from the canvas"
    expect(page.locator("#confidence-value")).to_have_text("0.50")
    expect(page.locator("#bulk-reject")).to_have_text("Reject < 0.50")


def test_bulk_reject_below_the_slider_threshold_asks_then_saves(page, live_server, review):
    open_review(page, live_server, review.pages[0])
    page.locator("#confidence-filter").fill("0.75")
    questions = []
    page.on("dialog", lambda dialog: (questions.append(dialog.message), dialog.accept()))

    page.click("#bulk-reject")
    wait_saved(page)

    assert questions == ["Reject 2 predicted faces with confidence < 0.75?"]
    statuses = [Face.objects.get(pk=face.pk).status for face in review.faces]
    assert statuses == [FaceStatus.PREDICTED, FaceStatus.REJECTED, FaceStatus.REJECTED]
    expect(page.locator("#face-counts")).to_contain_text("2 rejected")
    page.keyboard.press("Control+z")
    wait_saved(page)
    assert Face.objects.filter(status=FaceStatus.PREDICTED).count() == 3


def test_a_bulk_reject_with_a_face_changed_meanwhile_applies_the_others_and_shows_the_conflict(
    page, live_server, review, django_user_model
):
    open_review(page, live_server, review.pages[0])
    page.locator("#confidence-filter").fill("0.75")
    high, middle, low = review.faces
    other = django_user_model.objects.create_user("erin")
    face_update(face=Face.objects.get(pk=middle.pk), user=other, expected_version=1, data={"gender": Gender.MALE})
    questions = []
    page.on("dialog", lambda dialog: (questions.append(dialog.message), dialog.accept()))

    page.click("#bulk-reject")

    expect(page.locator("#save-state")).to_have_text("Conflict on 1 face: choose a version", timeout=10000)
    assert questions == ["Reject 2 predicted faces with confidence < 0.75?"]
    stored = Face.objects.get(pk=middle.pk)
    assert (stored.status, stored.gender, stored.version) == (FaceStatus.EDITED, Gender.MALE, 2), "erin's edit stays"
    assert Face.objects.get(pk=low.pk).status == FaceStatus.REJECTED, "the other face is rejected all the same"
    assert Face.objects.get(pk=high.pk).status == FaceStatus.PREDICTED
    page.keyboard.press("Control+z")
    # The conflict stays on show, so "All changes saved" never comes: wait for the queue to empty.
    page.wait_for_function("window.visagesReview.queue.pending === 0", timeout=10000)
    assert Face.objects.get(pk=low.pk).status == FaceStatus.PREDICTED, "undo takes back what the bulk did"
    assert Face.objects.get(pk=middle.pk).version == 2


def test_the_review_view_fits_1280x800_with_labelled_controls(page, live_server, review):
    open_review(page, live_server, review.pages[0])
    page.keyboard.press("j")

    viewer = page.locator("#viewer").bounding_box()
    panel = page.locator(".review-panel").bounding_box()
    bar = page.locator(".viewer-bar").bounding_box()
    assert viewer["x"] + viewer["width"] <= panel["x"] + 1, "the panel never covers the canvas"
    assert bar["y"] + bar["height"] <= viewer["y"] + 1 and bar["y"] + bar["height"] <= panel["y"] + 1
    assert panel["y"] + panel["height"] <= 801 and viewer["width"] > 700
    unlabelled = page.evaluate(
        """[...document.querySelectorAll('button, a[href], input')].filter((el) => el.offsetParent !== null)
           .filter((el) => !(el.innerText || el.getAttribute('aria-label') || (el.labels && el.labels.length)
                              || el.title)).map((el) => el.outerHTML)"""
    )
    assert unlabelled == []
    page.keyboard.press("?")
    expect(page.locator("#help-dialog")).to_be_visible()
    expect(page.locator("#help-dialog")).to_contain_text("Next unreviewed page")


def test_a_viewer_sees_faces_but_cannot_edit(page, live_server, review, django_user_model):
    fred = django_user_model.objects.create_user("fred")
    CorpusMembership.objects.create(corpus=review.corpus, user=fred, role=CorpusRole.VIEWER)
    page.context.clear_cookies()
    browser_log_in(page, live_server, fred)
    open_review(page, live_server, review.pages[0])

    expect(page.locator(".face-row")).to_have_count(3)
    expect(page.locator("#draw-box")).to_have_count(0)
    page.keyboard.press("j")
    page.keyboard.press("a")
    page.wait_for_timeout(300)
    assert Face.objects.get(pk=review.faces[0].pk).status == FaceStatus.PREDICTED
    expect(page.locator("#save-state")).to_have_text("Read only")


def zoom_over_home(page):
    viewport = "window.visagesReview.viewer.viewport"
    return page.evaluate(f"{viewport}.getZoom() / {viewport}.getHomeZoom()")


def unsaved_keys(page):
    return page.evaluate("Object.keys(localStorage).filter((key) => key.startsWith('visages.unsaved.'))")


def test_opening_at_a_face_selects_it_in_canvas_and_list_and_zooms_to_it(page, live_server, review):
    crowded = review.pages[1]
    faces_store_predictions(
        page=crowded,
        predictions=[
            FacePrediction(x=60 + (i % 6) * 250, y=60 + (i // 6) * 250, w=120, h=150, confidence=0.9) for i in range(42)
        ],
        source="res10",
    )
    target = Face.objects.filter(page=crowded).order_by("-y", "-x").first()

    open_review(page, live_server, crowded, f"?face={target.pk}")

    expect(page.locator("#editor-title")).to_have_text(f"Face {target.pk}")
    row = page.locator(".face-row[aria-selected=true]")
    expect(row).to_have_count(1)
    shown, listed = row.bounding_box(), page.locator("#face-list").bounding_box()
    assert listed["y"] <= shown["y"] and shown["y"] + shown["height"] <= listed["y"] + listed["height"] + 1
    assert zoom_over_home(page) > 2
    box, viewer = client_box(page, target.pk), page.locator("#viewer").bounding_box()
    assert viewer["x"] < box["x"] and box["x"] + box["w"] < viewer["x"] + viewer["width"]
    assert viewer["y"] < box["y"] and box["y"] + box["h"] < viewer["y"] + viewer["height"]


@pytest.mark.parametrize("which", ["rejected", "unknown"])
def test_an_unknown_or_rejected_face_id_opens_the_page_as_usual(page, live_server, review, which):
    rejected = face_reject(face=review.faces[2], user=review.user, expected_version=1)
    query = {"rejected": f"?face={rejected.pk}", "unknown": "?face=999999"}[which]
    errors = []
    page.on("pageerror", lambda error: errors.append(str(error)))

    open_review(page, live_server, review.pages[0], query)

    expect(page.locator("#face-editor")).to_be_hidden()
    expect(page.locator(".face-row")).to_have_count(2)
    assert zoom_over_home(page) == pytest.approx(1)
    assert errors == []


def test_an_address_with_a_bad_face_id_or_a_misspelt_parameter_names_it_and_links_to_the_page(
    page, live_server, review
):
    response = page.goto(f"{live_server.url}/pages/{review.pages[0].pk}/?face=abc&zoom=2")
    assert response.status == 400
    refused = page.locator("#refused-parameters li")
    expect(refused).to_have_count(2)
    expect(refused.nth(0)).to_contain_text("face: Give an id")
    expect(refused.nth(1)).to_contain_text("zoom: Unknown parameter; this request takes face.")

    page.click("text=Open the page without them")
    page.wait_for_selector("#review[data-ready='1']", timeout=20000)
    expect(page).to_have_url(f"{live_server.url}/pages/{review.pages[0].pk}/")
    expect(page.locator(".face-row")).to_have_count(3)


def test_unsaved_edits_survive_reloads_while_the_server_is_unreachable(page, live_server, review, unavailable_saves):
    face = review.faces[0]
    open_review(page, live_server, review.pages[0], f"?face={face.pk}")
    expect(page.locator("input[name=gender][value=male]")).to_be_checked()
    unavailable_saves.faces.add(face.pk)
    questions = []
    page.on("dialog", lambda dialog: (questions.append(dialog.type), dialog.accept()))
    page.keyboard.press("f")
    expect(page.locator("#save-state")).to_contain_text("Not saved", timeout=5000)

    page.reload()
    page.wait_for_selector("#review[data-ready='1']", timeout=20000)

    assert questions == ["beforeunload"], "leaving with unsaved edits asks first"
    expect(page.locator("#save-state")).to_contain_text("1 unsaved edit restored")
    expect(page.locator("#save-state")).to_contain_text("Not saved", timeout=5000)
    assert page.evaluate(f"window.visagesReview.face({face.pk}).gender") == "female"
    assert Face.objects.get(pk=face.pk).gender == Gender.MALE
    assert len(unsaved_keys(page)) == 1
    assert set(unavailable_saves.refused) == {face.pk}

    unavailable_saves.faces.clear()
    page.reload()
    page.wait_for_selector("#review[data-ready='1']", timeout=20000)
    wait_saved(page)

    stored = Face.objects.get(pk=face.pk)
    assert (stored.gender, stored.version, stored.revisions.count()) == (Gender.FEMALE, 2, 1)
    assert unsaved_keys(page) == []


def test_a_restored_edit_of_a_face_changed_meanwhile_shows_the_conflict(
    page, live_server, review, django_user_model, unavailable_saves
):
    face = review.faces[0]
    # Opened at the face, so the edit below is this face's whatever the list selected before.
    open_review(page, live_server, review.pages[0], f"?face={face.pk}")
    expect(page.locator("input[name=gender][value=male]")).to_be_checked()
    unavailable_saves.faces.add(face.pk)
    page.on("dialog", lambda dialog: dialog.accept())
    page.keyboard.press("f")
    expect(page.locator("#save-state")).to_contain_text("Not saved", timeout=5000)
    assert set(unavailable_saves.refused) == {face.pk}
    erin = django_user_model.objects.create_user("erin")
    face_update(face=Face.objects.get(pk=face.pk), user=erin, expected_version=1, data={"age": 50})

    unavailable_saves.faces.clear()
    page.reload()
    page.wait_for_selector("#review[data-ready='1']", timeout=20000)

    expect(page.locator("#save-state")).to_contain_text("Conflict on 1 face", timeout=10000)
    stored = Face.objects.get(pk=face.pk)
    assert (stored.gender, stored.age, stored.version) == (Gender.MALE, 50, 2)
    expect(page.locator("#conflict")).to_be_visible()
    page.click("#conflict-mine")
    wait_saved(page)
    stored = Face.objects.get(pk=face.pk)
    assert (stored.gender, stored.age, stored.version) == (Gender.FEMALE, 50, 3)
    assert unsaved_keys(page) == []


def test_arrow_keys_nudge_and_resize_the_selected_box_one_revision_per_burst(page, live_server, review):
    open_review(page, live_server, review.pages[0])
    face = review.faces[0]
    page.keyboard.press("j")
    page.wait_for_timeout(500)
    step = page.evaluate("window.visagesReview.nudgeStep()")
    center = page.evaluate("window.visagesReview.viewer.viewport.getCenter(true).toString()")

    for _ in range(3):
        page.keyboard.press("ArrowRight")
    page.keyboard.press("Shift+ArrowDown")
    wait_saved(page)

    moved = Face.objects.get(pk=face.pk)
    assert (moved.x, moved.y, moved.w, moved.h) == (300 + 3 * step, 300 + 10 * step, 240, 300)
    assert (moved.status, moved.revisions.count()) == (FaceStatus.EDITED, 1)
    assert page.evaluate("window.visagesReview.viewer.viewport.getCenter(true).toString()") == center

    page.keyboard.press("Alt+ArrowRight")
    page.keyboard.press("Alt+ArrowUp")
    wait_saved(page)
    resized = Face.objects.get(pk=face.pk)
    assert (resized.x, resized.y, resized.w, resized.h) == (moved.x, moved.y, 240 + step, 300 - step)
    assert resized.revisions.count() == 2

    page.keyboard.press("Control+z")
    wait_saved(page)
    undone = Face.objects.get(pk=face.pk)
    assert (undone.x, undone.y, undone.w, undone.h) == (moved.x, moved.y, 240, 300)

    page.keyboard.press("e")
    page.keyboard.press("ArrowLeft")
    page.keyboard.press("Escape")
    page.wait_for_timeout(700)
    assert Face.objects.get(pk=face.pk).revisions.count() == 3, "arrows in the age field are the field's"


def test_a_second_tab_leaves_a_live_tabs_unsaved_edits_alone_and_adopts_a_closed_ones(
    page, live_server, review, unavailable_saves
):
    face = review.faces[0]
    unavailable_saves.faces.add(face.pk)
    open_review(page, live_server, review.pages[0], f"?face={face.pk}")
    expect(page.locator("input[name=gender][value=male]")).to_be_checked()
    page.keyboard.press("f")
    expect(page.locator("#save-state")).to_contain_text("Not saved", timeout=5000)

    second = page.context.new_page()
    open_review(second, live_server, review.pages[0])
    expect(second.locator("#save-state")).to_have_text("All changes saved")
    assert len(unsaved_keys(second)) == 1

    page.close()
    unavailable_saves.faces.clear()
    third = second.context.new_page()
    open_review(third, live_server, review.pages[0])
    wait_saved(third)

    assert Face.objects.get(pk=face.pk).gender == Gender.FEMALE
    assert unsaved_keys(third) == []


def test_a_click_places_a_box_sized_like_the_nearest_faces(page, live_server, review):
    # A crowd's missed faces: one click each (b then click, or Shift+click), no box to drag.
    open_review(page, live_server, review.pages[0])
    anchor = review.faces[0]
    on_screen = client_box(page, anchor.pk)
    scale = on_screen["w"] / anchor.w

    def screen(x, y):
        return (on_screen["x"] + (x - anchor.x) * scale, on_screen["y"] + (y - anchor.y) * scale)

    page.keyboard.press("b")
    page.mouse.click(*screen(1200, 400))
    wait_saved(page)
    page.keyboard.down("Shift")
    page.mouse.click(*screen(1200, 1000))
    page.mouse.click(*screen(anchor.x + anchor.w / 2, anchor.y + anchor.h / 2))  # on a face: selects it
    page.keyboard.up("Shift")
    wait_saved(page)

    placed = list(Face.objects.filter(status=FaceStatus.ADDED).order_by("pk").values_list("x", "y", "w", "h"))
    # The three faces' median size is 200 x 240; each box is centred where the click was (to a pixel or two).
    assert [(w, h) for _x, _y, w, h in placed] == [(200, 240), (200, 240)]
    centres = [(x + w / 2, y + h / 2) for x, y, w, h in placed]
    for (cx, cy), (ex, ey) in zip(centres, [(1200, 400), (1200, 1000)], strict=True):
        assert abs(cx - ex) <= 3 and abs(cy - ey) <= 3
    assert page.evaluate("window.visagesReview.layer.selected.id") == anchor.pk

// The side panel of the review page: the list of faces in reading order, the editor of the
// selected face (crop, attributes, conflict), and selecting and stepping through faces.
import { faceCropUrl } from "../geometry.js";
import { faceLabel } from "../review.js";
import { $, isShown, readingOrder, review } from "./context.js";
import { change } from "./edits.js";
import { loadHistory } from "./history.js";
import { flushNudgeOff } from "./nudge.js";
import { renderPerson } from "./people.js";
import { fail } from "./saving.js";
import { FACE_STATUS, fixed, format, GENDER } from "../locale.js";

export const ROW_HEIGHT = 52;

function cropUrl(face, size) {
  const { pageData } = review;
  return faceCropUrl({
    serviceId: pageData.imageServiceId,
    version: pageData.imageServiceVersion || "2",
    box: face,
    canvasWidth: pageData.width,
    canvasHeight: pageData.height,
    imageWidth: pageData.imageWidth,
    imageHeight: pageData.imageHeight,
    size,
  });
}

function describe(face) {
  const parts = [GENDER[face.gender] || face.gender];
  if (face.age !== null && face.age !== undefined) parts.push(format(gettext("%(age)s y"), { age: Math.round(face.age) }));
  if (face.child) parts.push(gettext("child"));
  return parts.join(" · ");
}

export function fillRow(row, face, withThumbnail) {
  row.className = `face-row status-${face.status}${face.conflict ? " has-conflict" : ""}`;
  const src = withThumbnail ? cropUrl(face, 96) : "";
  row.innerHTML = "";
  const img = document.createElement("img");
  img.alt = "";
  img.loading = "lazy";
  img.width = 44;
  img.height = 44;
  if (src) img.src = src;
  const main = document.createElement("span");
  main.className = "row-main";
  const title = document.createElement("span");
  title.className = `row-title gender-${face.gender}`;
  title.textContent = describe(face);
  const meta = document.createElement("span");
  meta.className = "row-meta";
  const saving = face.pending ? ` · ${gettext("saving")}` : "";
  meta.textContent = `${FACE_STATUS[face.status]} · ${face.source} · ${fixed(face.confidence, 2)}${saving}`;
  main.append(title, meta);
  row.append(img, main);
  row.setAttribute(
    "aria-label",
    format(gettext("%(face)s, %(status)s, confidence %(confidence)s"), {
      face: describe(face),
      status: FACE_STATUS[face.status],
      confidence: fixed(face.confidence, 2),
    })
  );
}

export function refreshList() {
  const { faces, state, list } = review;
  state.shown = faces.filter(isShown).sort(readingOrder);
  list.setItems(state.shown);
  list.setSelected(state.selected);
  const rejected = faces.filter((f) => f.status === "rejected").length;
  $("face-counts").textContent = format(gettext("%(shown)s shown · %(faces)s faces · %(rejected)s rejected"), {
    shown: state.shown.length,
    faces: faces.length - rejected,
    rejected,
  });
  if (review.canEdit) {
    const threshold = fixed(state.minConfidence, 2);
    $("bulk-accept").textContent = format(gettext("Accept ≥ %(threshold)s"), { threshold });
    $("bulk-reject").textContent = format(gettext("Reject < %(threshold)s"), { threshold });
  }
}

export function refreshFace(face) {
  review.list.refresh(face);
  if (face === review.state.selected) renderEditor();
  review.layer.redraw();
}

export function renderEditor() {
  const face = review.state.selected;
  const editor = $("face-editor");
  editor.hidden = !face;
  if (!face) return;
  $("editor-title").textContent = face.id ? format(gettext("Face %(id)s"), { id: face.id }) : gettext("New face");
  const badge = $("editor-status");
  badge.textContent = FACE_STATUS[face.status];
  badge.className = `status-badge status-${face.status}`;
  $("editor-meta").textContent = format(gettext("%(source)s · confidence %(confidence)s · %(w)s×%(h)s px at %(x)s,%(y)s"), {
    source: face.source,
    confidence: fixed(face.confidence, 2),
    w: face.w,
    h: face.h,
    x: face.x,
    y: face.y,
  });
  const src = cropUrl(face, 144);
  const crop = $("editor-crop");
  if (src) crop.src = src;
  crop.hidden = !src;
  for (const radio of document.querySelectorAll("input[name=gender]")) radio.checked = radio.value === face.gender;
  const age = $("face-age");
  if (document.activeElement !== age) age.value = face.age == null ? "" : Math.round(face.age);
  $("face-child").checked = !!face.child;
  renderPerson(face);
  if (review.canEdit) {
    $("accept-face").disabled = !["predicted", "rejected"].includes(face.status);
    $("reject-face").disabled = face.status === "rejected";
  }
  const conflict = $("conflict");
  conflict.hidden = !face.conflict;
  if (face.conflict) {
    $("conflict-text").textContent = format(
      gettext("Conflict: someone else changed this face (now version %(version)s: %(face)s, %(status)s). Your change was not saved."),
      { version: face.conflict.version, face: faceLabel(face.conflict), status: FACE_STATUS[face.conflict.status] }
    );
  }
  if ($("face-history").open) loadHistory();
}

export function select(face) {
  if (face && !isShown(face)) face = null;
  flushNudgeOff(face);
  review.state.selected = face;
  review.layer.select(face);
  // The editor first: showing it shrinks the list, which then scrolls the row into what is left.
  renderEditor();
  review.list.setSelected(face);
}

export function step(delta) {
  const { state, list, layer } = review;
  if (!state.shown.length) return;
  const i = list.indexOf(state.selected);
  const next = i === undefined ? (delta > 0 ? 0 : state.shown.length - 1) : i + delta;
  const face = state.shown[Math.max(0, Math.min(state.shown.length - 1, next))];
  select(face);
  layer.reveal(face);
}

export function setDrawMode(on) {
  review.layer.setDrawMode(on);
  if (review.canEdit) $("draw-box").setAttribute("aria-pressed", String(on));
}

export function setGender(gender) {
  if (review.state.selected) change(review.state.selected, { gender }, format(gettext("Gender %(gender)s"), { gender: GENDER[gender] }));
}

export function toggleChild() {
  const face = review.state.selected;
  if (face) change(face, { child: !face.child }, gettext("Child"));
}

// The age belongs to the face selected when the field got focus, even if the blur that commits
// it comes from clicking another face.
let ageFace = null;

export function holdAgeFace() {
  ageFace = review.state.selected;
}

export function commitAge() {
  const face = ageFace || review.state.selected;
  const input = $("face-age");
  ageFace = null;
  if (!face) return;
  const raw = input.value.trim();
  const age = raw === "" ? null : Number(raw);
  if (age !== null && (!Number.isFinite(age) || age < 0 || age > 130)) {
    fail(gettext("Age must be between 0 and 130"));
    input.value = face.age ?? "";
    return;
  }
  change(face, { age }, gettext("Age"));
  renderEditor();
}

// Filters: the confidence slider and whether rejected faces show.
export function setMinConfidence(value) {
  const { state } = review;
  state.minConfidence = value;
  $("confidence-value").textContent = fixed(state.minConfidence, 2);
  if (state.selected && !isShown(state.selected)) select(null);
  refreshList();
  review.layer.redraw();
}

export function setShowRejected(on) {
  review.state.showRejected = on;
  refreshList();
  review.layer.redraw();
}

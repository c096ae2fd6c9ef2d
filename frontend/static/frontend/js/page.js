// Page review: the IIIF image in OpenSeadragon, every face as an editable box, a side panel in
// sync with it, keyboard shortcuts, autosave with conflict detection, undo/redo and history.
// Edits the server has not acknowledged are also kept in this browser and replayed on the next
// load, so a closed tab, a crash or a reload loses none of them.
//
// This module wires the page together: it creates the viewer, the box layer, the face list and the
// save queue, puts them in the shared state (page/context.js) and binds the controls. The modules
// under page/ hold the rest: panel.js (face list and editor), edits.js (what an edit does),
// saving.js (the queue, save state, conflicts, leaving), undo.js, history.js (a face's revisions),
// journal.js (unsaved edits kept in this browser), nudge.js (arrow-key moves) and keys.js.
import { SaveQueue } from "./api.js";
import { VirtualList } from "./facelist.js";
import { nudgeStep } from "./geometry.js";
import { $, isShown, review } from "./page/context.js";
import {
  bulk,
  change,
  createFace,
  followReviewStart,
  resolveConflict,
  setStatus,
  showReviewHistory,
  toggleReviewed,
} from "./page/edits.js";
import { loadHistory } from "./page/history.js";
import { openStore, persist, restoreUnsaved } from "./page/journal.js";
import { installKeys } from "./page/keys.js";
import {
  ROW_HEIGHT,
  commitAge,
  fillRow,
  holdAgeFace,
  refreshList,
  select,
  setDrawMode,
  setGender,
  setMinConfidence,
  setShowRejected,
  toggleChild,
} from "./page/panel.js";
import { acceptAllSimilar, commitPerson, loadSimilar, suggestPeople } from "./page/people.js";
import { fail, guardLeaving, showSaveState } from "./page/saving.js";
import { redo, undo } from "./page/undo.js";
import { BoxLayer } from "./review.js";
import { format } from "./locale.js";

const { root, pageData, faces, state, canEdit } = review;
const viewerEl = document.getElementById("viewer");

// ---- OpenSeadragon and the box layer ----

const serviceId = viewerEl.dataset.serviceId;
// Our own scans carry relative service ids; OpenSeadragon needs an absolute info.json URL.
const tileSource = serviceId
  ? new URL(serviceId.replace(/\/$/, "") + "/info.json", window.location.origin).href
  : { type: "image", url: new URL(viewerEl.dataset.imageUrl, window.location.origin).href };
const viewer = OpenSeadragon({
  element: viewerEl,
  prefixUrl: viewerEl.dataset.prefixUrl,
  tileSources: tileSource,
  showNavigator: true,
  crossOriginPolicy: "Anonymous",
  gestureSettingsMouse: { clickToZoom: false },
  // Tiles drawn with Canvas 2D, like our boxes. Without a GPU (headless, VMs, old laptops) WebGL
  // runs in software: creating its context costs ~0.7 s and each pan frame ~150 ms (bench/ui_bench.py).
  drawer: "canvas",
});
viewer.addHandler("tile-loaded", () => {
  viewerEl.dataset.tilesLoaded = String(Number(viewerEl.dataset.tilesLoaded || 0) + 1);
});

// An image host that sends no CORS headers cannot be drawn on our canvas: its info.json or its
// first tiles fail. We then ask our own server for one bounded copy (fetched by a worker, 202
// while it comes) and open that instead.
const DERIVATIVE_POLL_MS = 1000;
const DERIVATIVE_MAX_POLLS = 120;
let usingDerivative = false;

async function openDerivative(reason) {
  if (usingDerivative) {
    viewerEl.dataset.openFailed = reason;
    return;
  }
  usingDerivative = true;
  viewerEl.dataset.imageSource = "derivative-pending";
  const url = new URL(viewerEl.dataset.derivativeUrl, window.location.origin).href;
  for (let poll = 0; poll < DERIVATIVE_MAX_POLLS; poll++) {
    let response;
    try {
      response = await fetch(url, { credentials: "same-origin" });
    } catch (err) {
      response = null;
    }
    if (response && response.status === 200) {
      viewerEl.dataset.imageSource = "derivative";
      viewer.open({ type: "image", url });
      return;
    }
    if (response && response.status !== 202) {
      const body = await response.json().catch(() => ({}));
      viewerEl.dataset.openFailed = body.detail || `the page image could not be loaded (HTTP ${response.status})`;
      return;
    }
    await new Promise((resolve) => window.setTimeout(resolve, DERIVATIVE_POLL_MS));
  }
  viewerEl.dataset.openFailed = "the page image is still being fetched: reload the page later";
}

viewer.addHandler("open-failed", (event) => {
  openDerivative(event.message || "open failed");
});
viewer.addHandler("tile-load-failed", (event) => {
  if (!usingDerivative && !Number(viewerEl.dataset.tilesLoaded || 0)) {
    openDerivative(event.message || "tile load failed");
  }
});

const layer = new BoxLayer(viewer, {
  width: pageData.width,
  height: pageData.height,
  editable: canEdit,
  isShown,
  onSelect: (face) => select(face),
  onGeometry: (face, box) => change(face, box, gettext("Box moved")),
  onDraw: (box) => createFace(box),
});
layer.setFaces(faces);

const list = new VirtualList($("face-list"), {
  rowHeight: ROW_HEIGHT,
  renderRow: fillRow,
  onPick: (face) => {
    select(face);
    layer.reveal(face);
  },
});

// ---- saving ----

const queue = new SaveQueue({
  csrf: review.urls.csrfToken,
  onState: (saveState) => {
    persist();
    showSaveState();
    if (saveState.kind === "saved") followReviewStart();
  },
});
Object.assign(review, { viewer, layer, list, queue, store: openStore() });
setInterval(() => queue.timer && showSaveState(), 1000);
guardLeaving();

// ---- controls ----

$("confidence-filter").addEventListener("input", (event) => setMinConfidence(Number(event.target.value)));
$("show-rejected").addEventListener("change", (event) => setShowRejected(event.target.checked));
$("zoom-face").addEventListener("click", () => state.selected && layer.zoomTo(state.selected));
$("face-history").addEventListener("toggle", () => $("face-history").open && loadHistory());
$("help-button").addEventListener("click", () => $("help-dialog").showModal());
$("more-like-this").addEventListener("toggle", () => $("more-like-this").open && loadSimilar());
$("retry-now").addEventListener("click", () => queue.retryNow());
showReviewHistory(pageData.reviewHistory);
if (canEdit) {
  $("draw-box").addEventListener("click", () => setDrawMode(!layer.drawMode));
  $("bulk-accept").addEventListener("click", () => bulk("accept"));
  $("bulk-reject").addEventListener("click", () => bulk("reject"));
  $("accept-face").addEventListener("click", () => setStatus(state.selected, "accept"));
  $("reject-face").addEventListener("click", () => setStatus(state.selected, "reject"));
  $("undo").addEventListener("click", undo);
  $("redo").addEventListener("click", redo);
  $("mark-reviewed").addEventListener("click", toggleReviewed);
  $("conflict-theirs").addEventListener("click", () => resolveConflict(state.selected, false));
  $("conflict-mine").addEventListener("click", () => resolveConflict(state.selected, true));
  for (const radio of document.querySelectorAll("input[name=gender]")) {
    radio.addEventListener("change", () => setGender(radio.value));
  }
  $("face-child").addEventListener("change", toggleChild);
  $("similar-accept-all").addEventListener("click", acceptAllSimilar);
  $("face-person").addEventListener("focus", () => suggestPeople($("face-person").value.trim()));
  $("face-person").addEventListener("input", () => suggestPeople($("face-person").value.trim()));
  $("face-person").addEventListener("change", commitPerson);
  $("face-person").addEventListener("keydown", (event) => {
    if (event.key === "Enter") {
      event.preventDefault();
      event.target.blur();
    }
  });
  $("face-age").addEventListener("focus", holdAgeFace);
  $("face-age").addEventListener("change", commitAge);
  $("face-age").addEventListener("keydown", (event) => {
    if (event.key === "Enter") {
      event.preventDefault();
      event.target.blur();
    } else if (event.key === "Escape") {
      event.target.value = state.selected && state.selected.age != null ? Math.round(state.selected.age) : "";
      event.target.blur();
    }
  });
}
installKeys();

// ---- start ----
refreshList();
// ?face=<id> (the search page's face results) opens with that face selected and zoomed to; an
// id not on this page, or of a hidden (rejected) face, opens the page as usual.
const requestedFace = Number(new URLSearchParams(window.location.search).get("face"));
const startFace = requestedFace ? faces.find((f) => f.id === requestedFace && isShown(f)) : null;
if (startFace) select(startFace);
restoreUnsaved().catch((error) => fail(format(gettext("Could not restore the unsaved edits kept in this browser (%(error)s)"), { error: error.message })));
viewer.addHandler("open", () => {
  if (startFace) layer.zoomTo(startFace, true);
  layer.draw();
  root.dataset.ready = "1";
  window.visagesReview.readyAt = performance.now();
});
viewer.addOnceHandler("tile-loaded", () => list.enableThumbnails());
// For tests and the benchmark: the live objects, and where a face is on screen.
window.visagesReview = {
  viewer,
  layer,
  faces,
  queue,
  face: (id) => faces.find((f) => f.id === id),
  nudgeStep: (big = false) => nudgeStep(layer.transform().sx, big),
  clientBox: (id) => layer.clientBox(faces.find((f) => f.id === id)),
};
window.visagesViewer = viewer;

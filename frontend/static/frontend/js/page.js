// Page review: the IIIF image in OpenSeadragon, every face as an editable box, a side panel in
// sync with it, keyboard shortcuts, autosave with conflict detection, undo/redo and history.
// Edits the server has not acknowledged are also kept in this browser and replayed on the next
// load, so a closed tab, a crash or a reload loses none of them.
import { SaveQueue, UnsavedStore, getJSON, urlFor } from "./api.js";
import { VirtualList } from "./facelist.js";
import { ARROW_KEYS, faceCropUrl, nudgeBox, nudgeStep } from "./geometry.js";
import { BoxLayer, faceLabel } from "./review.js";

const root = document.getElementById("review");
const viewerEl = document.getElementById("viewer");
const pageData = JSON.parse(document.getElementById("page-data").textContent);
const urls = root.dataset;
const canEdit = pageData.canEdit;
const $ = (id) => document.getElementById(id);

const EDITABLE = ["x", "y", "w", "h", "age", "gender", "child", "person", "status"];
const ROW_HEIGHT = 52;
let nextKey = 1;
const faces = JSON.parse(document.getElementById("faces-data").textContent).map(local);
const state = { selected: null, minConfidence: 0, showRejected: false, shown: [], restored: 0 };
const undoStack = [];
const redoStack = [];
const conflicts = new Set();
// A burst of arrow-key nudges is saved as one edit once the keys have rested this long, so holding
// an arrow key writes one revision, not fifty.
const NUDGE_SAVE_MS = 500;
// The burst not saved yet: { face, box, moved, resized, timer }. Its box is shown as a preview and
// is kept with the unsaved edits; the face itself changes when the burst is saved.
let nudge = null;

function local(face) {
  return { ...face, key: nextKey++, pending: 0, conflict: null };
}

let nextRef = 1;
// Ties records of unsaved edits together across a reload: a face not created on the server yet,
// and the undo item whose revision a later undo reverts.
function newRef() {
  return `${Date.now().toString(36)}-${nextRef++}`;
}

// A random UUID for a box to create: it names the face in the unsaved-edits journal and goes with
// the request as its client_key, so a create sent again (its answer lost, or replayed after a
// reload) gets the face made the first time instead of a second one. crypto.randomUUID needs a
// secure context; getRandomValues does not.
function newFaceKey() {
  if (crypto.randomUUID) return crypto.randomUUID();
  const bytes = crypto.getRandomValues(new Uint8Array(16));
  bytes[6] = (bytes[6] & 0x0f) | 0x40;
  bytes[8] = (bytes[8] & 0x3f) | 0x80;
  const hex = Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}

function itemRef(item) {
  return item.ref || (item.ref = newRef());
}

function faceRef(face) {
  return face.id ? { face: face.id } : { tmp: face.tmp };
}

function snapshot(face) {
  const out = {};
  for (const field of EDITABLE) out[field] = face[field];
  return out;
}

// Predictions are filtered by the confidence slider; a curator's faces always show.
function isShown(face) {
  if (face.status === "rejected") return state.showRejected;
  return face.status !== "predicted" || face.confidence >= state.minConfidence;
}

function readingOrder(a, b) {
  return a.y - b.y || a.x - b.x || a.key - b.key;
}

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
  onGeometry: (face, box) => change(face, box, "Box moved"),
  onDraw: (box) => createFace(box),
});
layer.setFaces(faces);

// ---- side panel ----

const list = new VirtualList($("face-list"), {
  rowHeight: ROW_HEIGHT,
  renderRow: fillRow,
  onPick: (face) => {
    select(face);
    layer.reveal(face);
  },
});

function cropUrl(face, size) {
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
  const parts = [face.gender];
  if (face.age !== null && face.age !== undefined) parts.push(`${Math.round(face.age)} y`);
  if (face.child) parts.push("child");
  return parts.join(" · ");
}

function fillRow(row, face, withThumbnail) {
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
  const saving = face.pending ? " · saving" : "";
  meta.textContent = `${face.status} · ${face.source} · ${face.confidence.toFixed(2)}${saving}`;
  main.append(title, meta);
  row.append(img, main);
  row.setAttribute("aria-label", `${describe(face)}, ${face.status}, confidence ${face.confidence.toFixed(2)}`);
}

function refreshList() {
  state.shown = faces.filter(isShown).sort(readingOrder);
  list.setItems(state.shown);
  list.setSelected(state.selected);
  const rejected = faces.filter((f) => f.status === "rejected").length;
  $("face-counts").textContent =
    `${state.shown.length} shown · ${faces.length - rejected} faces · ${rejected} rejected`;
  if (canEdit) {
    const t = state.minConfidence.toFixed(2);
    $("bulk-accept").textContent = `Accept ≥ ${t}`;
    $("bulk-reject").textContent = `Reject < ${t}`;
  }
}

function refreshFace(face) {
  list.refresh(face);
  if (face === state.selected) renderEditor();
  layer.redraw();
}

function renderEditor() {
  const face = state.selected;
  const editor = $("face-editor");
  editor.hidden = !face;
  if (!face) return;
  $("editor-title").textContent = face.id ? `Face ${face.id}` : "New face";
  const badge = $("editor-status");
  badge.textContent = face.status;
  badge.className = `status-badge status-${face.status}`;
  $("editor-meta").textContent =
    `${face.source} · confidence ${face.confidence.toFixed(2)} · ${face.w}×${face.h} px at ${face.x},${face.y}`;
  const src = cropUrl(face, 144);
  const crop = $("editor-crop");
  if (src) crop.src = src;
  crop.hidden = !src;
  for (const radio of document.querySelectorAll("input[name=gender]")) radio.checked = radio.value === face.gender;
  const age = $("face-age");
  if (document.activeElement !== age) age.value = face.age == null ? "" : Math.round(face.age);
  $("face-child").checked = !!face.child;
  if (canEdit) {
    $("accept-face").disabled = !["predicted", "rejected"].includes(face.status);
    $("reject-face").disabled = face.status === "rejected";
  }
  const conflict = $("conflict");
  conflict.hidden = !face.conflict;
  if (face.conflict) {
    $("conflict-text").textContent =
      `Conflict: someone else changed this face (now version ${face.conflict.version}: ` +
      `${faceLabel(face.conflict)}, ${face.conflict.status}). Your change was not saved.`;
  }
  if ($("face-history").open) loadHistory();
}

function select(face) {
  if (face && !isShown(face)) face = null;
  if (nudge && nudge.face !== face) flushNudge();
  state.selected = face;
  layer.select(face);
  // The editor first: showing it shrinks the list, which then scrolls the row into what is left.
  renderEditor();
  list.setSelected(face);
}

function step(delta) {
  if (!state.shown.length) return;
  const i = list.indexOf(state.selected);
  const next = i === undefined ? (delta > 0 ? 0 : state.shown.length - 1) : i + delta;
  const face = state.shown[Math.max(0, Math.min(state.shown.length - 1, next))];
  select(face);
  layer.reveal(face);
}

// ---- history ----

async function loadHistory() {
  const face = state.selected;
  const listEl = $("history-list");
  if (!face || !face.id) {
    listEl.innerHTML = "<li>Not saved yet.</li>";
    return;
  }
  let data;
  try {
    data = await getJSON(urlFor(urls.historyUrl, face.id));
  } catch (error) {
    listEl.innerHTML = `<li>Could not load the history (${error.message}).</li>`;
    return;
  }
  if (face !== state.selected) return;
  listEl.innerHTML = "";
  for (const revision of data.results) {
    const li = document.createElement("li");
    const when = new Date(revision.created_at).toLocaleString();
    li.textContent = `${revision.action} by ${revision.user || "system"}, ${when}: ${changeSummary(revision)} `;
    if (canEdit) {
      const button = document.createElement("button");
      button.type = "button";
      button.className = "link";
      button.textContent = "Revert";
      button.setAttribute("aria-label", `Revert the ${revision.action} of ${when}`);
      button.addEventListener("click", () => revertTo(face, revision.id));
      li.append(button);
    }
    listEl.append(li);
  }
  if (!data.results.length) listEl.innerHTML = "<li>No changes yet.</li>";
}

function changeSummary(revision) {
  if (!revision.before) return "created";
  const changed = Object.keys(revision.after || {}).filter(
    (key) => JSON.stringify(revision.before[key]) !== JSON.stringify(revision.after[key])
  );
  return changed.map((key) => `${key} ${revision.before[key]} → ${revision.after[key]}`).join(", ") || "no change";
}

// ---- saving ----

// This browser's copy of the edits not acknowledged yet (none for read-only viewers).
const store = openStore();

function openStore() {
  if (!canEdit || !pageData.userId) return null;
  try {
    return new UnsavedStore(`u${pageData.userId}.p${pageData.id}`);
  } catch (error) {
    return null; // storage disabled: edits are still saved, only not kept across a crash
  }
}

const queue = new SaveQueue({
  csrf: urls.csrfToken,
  onState: () => {
    persist();
    showSaveState();
  },
});

// The queue's state, counting a burst of arrow-key nudges that is not queued yet.
function saveState() {
  const s = queue.state();
  if (!nudge) return s;
  return s.kind === "saved" ? { kind: "saving", pending: 1 } : { ...s, pending: s.pending + 1 };
}

function showSaveState() {
  const s = saveState();
  const el = $("save-state");
  const retry = $("retry-now");
  retry.hidden = s.kind !== "retrying";
  let text;
  let kind = s.kind;
  if (s.kind === "retrying") {
    const seconds = Math.max(0, Math.round((s.retryAt - Date.now()) / 1000));
    text = `Not saved (${s.error}): ${s.pending} change${s.pending === 1 ? "" : "s"} waiting, retrying in ${seconds} s`;
  } else if (s.kind === "saving") {
    text = `Saving ${s.pending} change${s.pending === 1 ? "" : "s"}…`;
  } else if (conflicts.size) {
    kind = "conflict";
    text = `Conflict on ${conflicts.size} face${conflicts.size === 1 ? "" : "s"}: choose a version`;
  } else if (state.lastError) {
    kind = "error";
    text = state.lastError;
  } else {
    text = "All changes saved";
  }
  if (s.kind === "saved") state.restored = 0;
  else if (state.restored) {
    const n = state.restored;
    text = `${n} unsaved edit${n === 1 ? "" : "s"} restored from this browser · ${text}`;
  }
  el.textContent = text;
  el.className = `save-state save-${kind}`;
  root.dataset.saveState = kind;
}
setInterval(() => queue.timer && showSaveState(), 1000);

function fail(message) {
  state.lastError = message;
  showSaveState();
}

// Server answers replace the local copy, unless newer local edits of that face are still queued.
function merge(face, server) {
  face.version = server.version;
  if (!face.id) face.id = server.id;
  if (face.pending === 0) {
    for (const field of [...EDITABLE, "confidence", "source"]) face[field] = server[field];
    layer.update(face);
  }
}

// Request builders; they run when the operation's turn comes, so they send the latest version.
const send = {
  patch: (face, changes) => ({
    method: "PATCH",
    url: urlFor(urls.faceUrl, face.id),
    body: { ...changes, version: face.version },
  }),
  accept: (face) => ({ method: "POST", url: urlFor(urls.acceptUrl, face.id), body: { version: face.version } }),
  reject: (face) => ({ method: "DELETE", url: urlFor(urls.faceUrl, face.id), body: { version: face.version } }),
  revert: (face, revision) => ({
    method: "POST",
    url: urlFor(urls.revertUrl, face.id),
    body: { revision, version: face.version },
  }),
};

// Queues one write of a face. `journal` describes it as plain data for the browser's buffer of
// unsaved edits. `expect` is what the write sets: a 409 showing exactly that, one version on from
// the version sent, is this very write whose answer was lost (a retry after a dropped connection,
// a replay after a crash), not someone else's change.
function faceOp(face, label, request, entryItem, { journal = null, expect = null } = {}) {
  face.pending += 1;
  let sentVersion = null;
  queue.push({
    face,
    label,
    journal:
      journal &&
      (() => {
        const described = journal();
        const item = entryItem ? itemRef(entryItem) : null;
        return described && { ...faceRef(face), version: face.version, label, item, ...described };
      }),
    request: () => {
      const r = face.id ? request() : null;
      if (!r) {
        // Nothing to send (its face was never created, or the change it undoes never saved).
        face.pending = Math.max(0, face.pending - 1);
        refreshFace(face);
        return null;
      }
      if (r.body && "version" in r.body) sentVersion = r.body.version;
      return r;
    },
    onSuccess: (data) => {
      face.pending -= 1;
      state.lastError = "";
      if (entryItem) entryItem.revision = data.version !== sentVersion ? data.revision : null;
      merge(face, data);
      refreshFace(face);
    },
    onConflict: (data) => {
      const server = data && data.face;
      if (server && expect && sentVersion !== null && server.version === sentVersion + 1) {
        if (Object.entries(expect).every(([key, value]) => server[key] === value)) {
          face.pending -= 1;
          state.lastError = "";
          merge(face, server);
          refreshFace(face);
          return;
        }
      }
      markConflict(face, data.face);
    },
    onFailure: (status, data) => {
      face.pending -= 1;
      fail(`Could not save “${label}” (${status}: ${(data && JSON.stringify(data.detail || data)) || "error"})`);
      reloadFace(face);
    },
  });
  refreshFace(face);
}

// Someone else changed the face: drop its queued writes and show both versions to choose from.
function markConflict(face, server) {
  face.pending = 0;
  queue.discard((op) => op.face === face);
  face.conflict = server;
  conflicts.add(face);
  fail(`Conflict on face ${face.id}`);
  refreshFace(face);
}

async function reloadFace(face) {
  try {
    merge(face, await getJSON(urlFor(urls.faceUrl, face.id)));
    refreshList();
    refreshFace(face);
  } catch (error) {
    fail(`Could not reload face ${face.id}: ${error.message}`);
  }
}

function record(items, label) {
  undoStack.push({ label, items });
  redoStack.length = 0;
  updateHistoryButtons();
}

function updateHistoryButtons() {
  if (!canEdit) return;
  $("undo").disabled = !undoStack.length;
  $("redo").disabled = !redoStack.length;
  $("undo").title = undoStack.length ? `Undo ${undoStack[undoStack.length - 1].label}` : "";
  $("redo").title = redoStack.length ? `Redo ${redoStack[redoStack.length - 1].label}` : "";
}

function applyLocal(face, values) {
  const geometry = ["x", "y", "w", "h"].some((k) => k in values && values[k] !== face[k]);
  Object.assign(face, values);
  if (geometry) layer.update(face);
}

// A curator's edit of geometry or attributes; status follows the server's rule.
function change(face, values, label) {
  if (!canEdit || face.conflict) return;
  flushNudge();
  const changes = {};
  for (const [key, value] of Object.entries(values)) if (face[key] !== value) changes[key] = value;
  if (!Object.keys(changes).length) return;
  queueChange(face, changes, label);
}

// Applies changes locally, records them for undo and queues their PATCH.
function queueChange(face, changes, label, item = {}) {
  const before = snapshot(face);
  applyLocal(face, changes);
  if (face.status === "predicted" || face.status === "accepted") face.status = "edited";
  Object.assign(item, { face, before, after: snapshot(face), revision: null });
  record([item], label);
  faceOp(face, label, () => send.patch(face, changes), item, {
    journal: () => ({ op: "patch", changes }),
    expect: changes,
  });
  if (["x", "y"].some((k) => k in changes)) refreshList();
}

function setStatus(face, action) {
  if (!canEdit || !face || face.conflict) return;
  flushNudge();
  if (action === "accept" && !["predicted", "rejected"].includes(face.status)) return;
  if (action === "reject" && face.status === "rejected") return;
  queueStatus(face, action);
  if (action === "reject" && !state.showRejected) {
    const i = list.indexOf(face);
    refreshList();
    const next = state.shown[Math.min(i, state.shown.length - 1)];
    select(next || null);
    if (next) layer.reveal(next);
  } else {
    refreshList();
  }
}

function queueStatus(face, action, item = {}) {
  const target = action === "accept" ? "accepted" : "rejected";
  const before = snapshot(face);
  face.status = target;
  Object.assign(item, { face, before, after: snapshot(face), revision: null });
  const label = action === "accept" ? "Accept" : "Reject";
  record([item], label);
  faceOp(face, label, () => send[action](face), item, {
    journal: () => ({ op: action }),
    expect: { status: target },
  });
}

function createFace(box, { tmp = newFaceKey(), item = {}, pick = true } = {}) {
  flushNudge();
  const face = local({
    id: null, page: pageData.id, ...box, confidence: 1, age: null, age_confidence: null, gender: "unknown",
    gender_confidence: null, child: false, status: "added", source: "curator", person: "", version: 0,
  });
  face.tmp = tmp;
  faces.push(face);
  layer.add(face);
  setDrawMode(false);
  Object.assign(item, { face, before: { ...snapshot(face), status: "rejected" }, after: snapshot(face), revision: null });
  record([item], "Draw box");
  face.pending += 1;
  queue.push({
    face,
    label: "Draw box",
    journal: () => ({ op: "create", tmp, box, label: "Draw box", item: itemRef(item) }),
    request: () => ({ method: "POST", url: urls.facesUrl, body: { page: pageData.id, ...box, client_key: tmp } }),
    onSuccess: (data) => {
      face.pending -= 1;
      face.id = data.id;
      item.revision = data.revision;
      merge(face, data);
      refreshFace(face);
    },
    onConflict: () => {},
    onFailure: (status, data) => {
      face.pending = 0;
      queue.discard((op) => op.face === face);
      faces.splice(faces.indexOf(face), 1);
      layer.setFaces(faces);
      if (state.selected === face) select(null);
      refreshList();
      fail(`Could not add the box (${status}: ${JSON.stringify(data)})`);
    },
  });
  refreshList();
  if (pick) select(face);
  return face;
}

// Undo and redo both revert a recorded revision; the revert's own revision is what the
// opposite stack then reverts, so the server's history holds every step.
function revertEntry(entry, target) {
  const inverse = { label: entry.label, items: [] };
  for (const item of entry.items) {
    const { face } = item;
    if (face.conflict) continue;
    applyLocal(face, item.before);
    const back = { face, before: item.after, after: item.before, revision: null };
    inverse.items.push(back);
    faceOp(face, `Undo ${entry.label}`, () => (item.revision ? send.revert(face, item.revision) : null), back, {
      // Before the edit it undoes is saved, its revision is not known yet: the record names that edit.
      journal: () => (item.revision ? { op: "revert", revision: item.revision } : { op: "revert", undoes: itemRef(item) }),
    });
  }
  target.push(inverse);
  updateHistoryButtons();
  refreshList();
  const face = entry.items.length === 1 ? entry.items[0].face : null;
  if (face && isShown(face)) select(face);
  else if (state.selected && !isShown(state.selected)) select(null);
  renderEditor();
}

function undo() {
  flushNudge();
  if (undoStack.length) revertEntry(undoStack.pop(), redoStack);
}

function redo() {
  flushNudge();
  if (redoStack.length) revertEntry(redoStack.pop(), undoStack);
}

function revertTo(face, revisionId) {
  if (face.conflict) return;
  flushNudge();
  faceOp(face, "Revert", () => send.revert(face, revisionId), null, {
    journal: () => ({ op: "revert", revision: revisionId }),
  });
  queue.idle().then(() => {
    refreshList();
    renderEditor();
  });
}

function resolveConflict(face, keepMine) {
  const server = face.conflict;
  if (!server) return;
  face.conflict = null;
  conflicts.delete(face);
  state.lastError = "";
  if (!keepMine) {
    merge(face, server);
  } else {
    const mine = snapshot(face);
    face.version = server.version;
    const changes = {};
    for (const key of ["x", "y", "w", "h", "age", "gender", "child", "person"]) {
      if (mine[key] !== server[key]) changes[key] = mine[key];
    }
    if (Object.keys(changes).length) {
      faceOp(face, "Overwrite", () => send.patch(face, changes), null, {
        journal: () => ({ op: "patch", changes }),
        expect: changes,
      });
    }
    if (mine.status !== server.status && (mine.status === "accepted" || mine.status === "rejected")) {
      const action = mine.status === "accepted" ? "accept" : "reject";
      faceOp(face, "Overwrite", () => send[action](face), null, {
        journal: () => ({ op: action }),
        expect: { status: mine.status },
      });
    }
  }
  refreshList();
  refreshFace(face);
  showSaveState();
}

function bulk(action) {
  const t = state.minConfidence;
  const matching = faces.filter(
    (f) => f.status === "predicted" && (action === "accept" ? f.confidence >= t : f.confidence < t)
  );
  if (!matching.length) {
    fail(`No predicted face ${action === "accept" ? "at or above" : "below"} ${t.toFixed(2)}`);
    return;
  }
  const verb = action === "accept" ? "Accept" : "Reject";
  const plural = matching.length === 1 ? "" : "s";
  const comparison = action === "accept" ? "≥" : "<";
  const question = `${verb} ${matching.length} predicted face${plural} with confidence ${comparison} ${t.toFixed(2)}?`;
  if (!window.confirm(question)) return;
  queueBulk(action, matching, `${verb} ${matching.length} faces`);
}

// Each face goes with the version it is based on (read when the request is sent, after earlier
// writes). The server answers face by face: a face someone changed meanwhile is a conflict, shown
// as one, while the other faces are applied all the same.
function queueBulk(action, targets, label) {
  flushNudge();
  const entry = { label, items: [] };
  const target = action === "accept" ? "accepted" : "rejected";
  const named = () => targets.filter((f) => f.id && !f.conflict).map((f) => ({ id: f.id, version: f.version }));
  let sent = new Map();
  queue.push({
    label,
    journal: () => ({ op: "bulk", action, label, faces: named() }),
    request: () => {
      const body = { action, faces: named() };
      if (!body.faces.length) return null;
      sent = new Map(body.faces.map((f) => [f.id, f.version]));
      return { method: "POST", url: urls.bulkUrl, body };
    },
    onSuccess: (data) => {
      const byId = new Map(faces.map((f) => [f.id, f]));
      const missing = [];
      for (const result of data.results) {
        const face = byId.get(result.id);
        if (!face) continue;
        if (result.status === "ok") {
          const before = snapshot(face);
          if (result.face.version !== sent.get(face.id)) {
            const after = { ...before, status: result.face.status };
            entry.items.push({ face, before, after, revision: result.face.revision });
          }
          merge(face, result.face);
        } else if (result.status === "conflict") {
          const server = result.current;
          // Exactly what this bulk sets, one version on: this very request, applied before its answer
          // was lost (a retry or a replay after a reload), not someone else's change.
          if (server.version === sent.get(face.id) + 1 && server.status === target) merge(face, server);
          else markConflict(face, server);
        } else {
          missing.push(face.id);
        }
      }
      if (entry.items.length) record(entry.items, entry.label);
      if (missing.length) fail(`${label}: face ${missing.join(", ")} is no longer on this page`);
      else if (!conflicts.size) state.lastError = "";
      if (state.selected && !isShown(state.selected)) select(null);
      refreshList();
      layer.redraw();
      renderEditor();
    },
    onFailure: (status, data) => fail(`Bulk ${action} failed (${status}: ${JSON.stringify(data)})`),
  });
}

// ---- page review status and navigation ----

const REVIEW_LABELS = { unreviewed: "Unreviewed", in_review: "In review", reviewed: "Reviewed" };

function setReviewStatus(status) {
  flushNudge();
  queue.push({
    label: "Review status",
    journal: () => ({ op: "review", status }),
    request: () => ({ method: "PATCH", url: urls.pageUrl, body: { review_status: status } }),
    onSuccess: (data) => {
      pageData.reviewStatus = data.review_status;
      const badge = $("review-status");
      badge.textContent = REVIEW_LABELS[data.review_status];
      badge.className = `review-badge review-${data.review_status}`;
      $("mark-reviewed").textContent = data.review_status === "reviewed" ? "Reopen review" : "Mark reviewed";
    },
    onFailure: (code) => fail(`Could not change the review status (${code})`),
  });
}

function toggleReviewed() {
  if (canEdit) setReviewStatus(pageData.reviewStatus === "reviewed" ? "in_review" : "reviewed");
}

// Leaving waits for queued saves, so moving on quickly never loses the last edit.
async function go(link) {
  if (!link) return;
  flushNudge();
  if (queue.pending) {
    $("save-state").textContent = "Saving before leaving…";
    await queue.idle();
  }
  if (conflicts.size) {
    showSaveState();
    return;
  }
  window.location.assign(link.href);
}

// The browser's "leave the page?" question while edits are unsaved. Leaving anyway keeps them in
// this browser until the page is opened again, which may be never if the tab is closed for good.
window.addEventListener("beforeunload", (event) => {
  flushNudge();
  if (queue.pending || conflicts.size) {
    event.preventDefault();
    event.returnValue = "";
  }
});

for (const id of ["prev-page", "next-page", "next-unreviewed", "next-unreviewed-corpus"]) {
  const link = $(id);
  if (link) {
    link.addEventListener("click", (event) => {
      if (!queue.pending && !nudge) return;
      event.preventDefault();
      go(link);
    });
  }
}

// ---- controls ----

function setDrawMode(on) {
  layer.setDrawMode(on);
  if (canEdit) $("draw-box").setAttribute("aria-pressed", String(on));
}

function setGender(gender) {
  if (state.selected) change(state.selected, { gender }, `Gender ${gender}`);
}

function toggleChild() {
  if (state.selected) change(state.selected, { child: !state.selected.child }, "Child");
}

// The age belongs to the face selected when the field got focus, even if the blur that commits
// it comes from clicking another face.
let ageFace = null;

function commitAge() {
  const face = ageFace || state.selected;
  const input = $("face-age");
  ageFace = null;
  if (!face) return;
  const raw = input.value.trim();
  const age = raw === "" ? null : Number(raw);
  if (age !== null && (!Number.isFinite(age) || age < 0 || age > 130)) {
    fail("Age must be between 0 and 130");
    input.value = face.age ?? "";
    return;
  }
  change(face, { age }, "Age");
  renderEditor();
}

$("confidence-filter").addEventListener("input", (event) => {
  state.minConfidence = Number(event.target.value);
  $("confidence-value").textContent = state.minConfidence.toFixed(2);
  if (state.selected && !isShown(state.selected)) select(null);
  refreshList();
  layer.redraw();
});
$("show-rejected").addEventListener("change", (event) => {
  state.showRejected = event.target.checked;
  refreshList();
  layer.redraw();
});
$("zoom-face").addEventListener("click", () => state.selected && layer.zoomTo(state.selected));
$("face-history").addEventListener("toggle", () => $("face-history").open && loadHistory());
$("help-button").addEventListener("click", () => $("help-dialog").showModal());
$("retry-now").addEventListener("click", () => queue.retryNow());
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
  $("face-age").addEventListener("focus", () => (ageFace = state.selected));
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

// ---- arrow-key nudges ----

function nudgeSelected(key, big, resize) {
  const face = state.selected;
  const t = layer.transform();
  if (!canEdit || !face || face.conflict || !t) return false;
  const from = nudge ? nudge.box : { x: face.x, y: face.y, w: face.w, h: face.h };
  const box = nudgeBox(from, key, nudgeStep(t.sx, big), { resize, width: pageData.width, height: pageData.height });
  if (!nudge) nudge = { face, moved: false, resized: false, timer: null };
  nudge.box = box;
  if (resize) nudge.resized = true;
  else nudge.moved = true;
  clearTimeout(nudge.timer);
  nudge.timer = setTimeout(flushNudge, NUDGE_SAVE_MS);
  layer.setPreview(face, box);
  persist();
  showSaveState();
  return true;
}

function flushNudge() {
  const burst = nudge;
  if (!burst) return;
  nudge = null;
  clearTimeout(burst.timer);
  layer.setPreview(null);
  const label = burst.resized ? (burst.moved ? "Move and resize box" : "Resize box") : "Move box";
  change(burst.face, burst.box, label);
  persist(); // drops the burst's draft record when it came back to where it started
  showSaveState();
}

function nudgeRecord() {
  if (!nudge) return null;
  const changes = {};
  for (const key of ["x", "y", "w", "h"]) if (nudge.box[key] !== nudge.face[key]) changes[key] = nudge.box[key];
  if (!Object.keys(changes).length) return null;
  return { ...faceRef(nudge.face), version: nudge.face.version, label: "Move box", item: null, op: "patch", changes };
}

// A press anywhere ends the burst first, so a drag or a click acts on the nudged box.
window.addEventListener("pointerdown", () => flushNudge(), true);

// ---- keyboard ----

$("face-list").addEventListener("keydown", (event) => {
  if (event.key === "ArrowDown" || event.key === "ArrowUp") {
    event.preventDefault();
    step(event.key === "ArrowDown" ? 1 : -1);
  }
});

// Letters go to the field while typing text; checkboxes, radios and sliders keep the shortcuts.
function typing(target) {
  if (!target.closest) return false;
  if (target.closest("textarea, select, [contenteditable]")) return true;
  return target.tagName === "INPUT" && !["checkbox", "radio", "range", "button", "submit"].includes(target.type);
}

// Arrow keys keep their own meaning on radio buttons and sliders and in the face list.
function ownArrows(target) {
  return !!target.closest && !!target.closest("input[type=radio], input[type=range], select, #face-list");
}

const KEYS = {
  j: () => step(1),
  k: () => step(-1),
  z: () => state.selected && layer.zoomTo(state.selected),
  n: () => go($("next-page")),
  p: () => go($("prev-page")),
  N: () => go($("next-unreviewed") || $("next-unreviewed-corpus")),
  v: () => $("show-rejected").click(),
  "?": () => $("help-dialog").showModal(),
  Escape: () => (layer.drawMode ? setDrawMode(false) : select(null)),
};
const EDIT_KEYS = {
  a: () => setStatus(state.selected, "accept"),
  x: () => setStatus(state.selected, "reject"),
  Delete: () => setStatus(state.selected, "reject"),
  f: () => setGender("female"),
  m: () => setGender("male"),
  u: () => setGender("unknown"),
  c: toggleChild,
  e: () => state.selected && $("face-age").focus(),
  b: () => setDrawMode(!layer.drawMode),
  r: toggleReviewed,
};

// Capture phase: our shortcuts run before OpenSeadragon's own keys (r rotates, f flips, a/d pan).
window.addEventListener(
  "keydown",
  (event) => {
    if (event.defaultPrevented || typing(event.target) || $("help-dialog").open) return;
    const mod = event.ctrlKey || event.metaKey;
    // With a face selected, arrows nudge it (Shift: 10x, Alt: resize) and never reach
    // OpenSeadragon, which would pan; with none selected they pan as before.
    if (ARROW_KEYS[event.key] && !mod && !ownArrows(event.target)) {
      if (nudgeSelected(event.key, event.shiftKey, event.altKey)) {
        event.preventDefault();
        event.stopPropagation();
      }
      return;
    }
    let action = null;
    const key = event.key.toLowerCase();
    if (event.altKey) return;
    if (mod && key === "z") action = canEdit ? (event.shiftKey ? redo : undo) : null;
    else if (mod && key === "y") action = canEdit ? redo : null;
    else if (!mod) action = KEYS[event.key] || (canEdit ? EDIT_KEYS[event.key] : null);
    if (!action) return;
    event.preventDefault();
    event.stopPropagation();
    action();
  },
  true
);

// ---- unsaved edits left by an earlier load (closed tab, crash, reload) ----

// Runs on every change of the queue and every nudge; the store writes only what changed.
function persist() {
  if (!store) return;
  const records = queue.journal();
  const draft = nudgeRecord();
  if (draft) records.push(draft);
  store.save(records);
}

async function restoreUnsaved() {
  if (!store) return;
  const entries = await store.orphans();
  const records = entries.flatMap((entry) => entry.records);
  if (records.length) {
    state.restored = replay(records);
    persist();
  }
  store.forget(entries.map((entry) => entry.key));
  showSaveState();
}

// Replays records in order through the same path as live edits. Each face's first write carries
// the version it was based on, so a face someone changed meanwhile answers 409 and shows the
// conflict instead of being overwritten.
function replay(records) {
  const created = new Map();
  const items = new Map();
  const based = new Set();
  const itemFor = (ref) => {
    if (!ref) return {};
    if (!items.has(ref)) items.set(ref, { ref, revision: null });
    return items.get(ref);
  };
  let count = 0;
  for (const r of records) {
    if (r.op === "bulk") replayBulk(r, based);
    else if (r.op === "review") setReviewStatus(r.status);
    else if (r.op === "create") created.set(r.tmp, createFace(r.box, { tmp: r.tmp, item: itemFor(r.item), pick: false }));
    else {
      const face = r.face ? faces.find((f) => f.id === r.face) : created.get(r.tmp);
      if (!face || !["patch", "accept", "reject", "revert"].includes(r.op)) continue;
      if (face.id && !based.has(face)) {
        face.version = r.version;
        based.add(face);
      }
      if (r.op === "patch") queueChange(face, r.changes, r.label, itemFor(r.item));
      else if (r.op === "revert") replayRevert(face, r, itemFor);
      else queueStatus(face, r.op, itemFor(r.item));
    }
    count += 1;
  }
  refreshList();
  layer.redraw();
  return count;
}

// A bulk action recorded before a reload: its faces, each at the version the action was based on.
function replayBulk(r, based) {
  const targets = [];
  for (const named of r.faces || []) {
    const face = faces.find((f) => f.id === named.id);
    if (!face) continue;
    if (!based.has(face)) {
      face.version = named.version;
      based.add(face);
    }
    targets.push(face);
  }
  if (targets.length) queueBulk(r.action, targets, r.label);
}

function replayRevert(face, r, itemFor) {
  const target = r.undoes ? itemFor(r.undoes) : null;
  const revision = () => r.revision || (target && target.revision);
  faceOp(face, r.label, () => (revision() ? send.revert(face, revision()) : null), r.item ? itemFor(r.item) : null, {
    journal: () => (revision() ? { op: "revert", revision: revision() } : { op: "revert", undoes: r.undoes }),
  });
}

// ---- start ----
refreshList();
// ?face=<id> (the search page's face results) opens with that face selected and zoomed to; an
// id not on this page, or of a hidden (rejected) face, opens the page as usual.
const requestedFace = Number(new URLSearchParams(window.location.search).get("face"));
const startFace = requestedFace ? faces.find((f) => f.id === requestedFace && isShown(f)) : null;
if (startFace) select(startFace);
restoreUnsaved().catch((error) => fail(`Could not restore the unsaved edits kept in this browser (${error.message})`));
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

// The review page's shared state, one object every module of the page reads and writes: the page
// and its faces from the template, what is selected and filtered, and the live objects page.js
// creates at start (viewer, layer, list, queue, store). Plus the small helpers on faces they share.

const root = document.getElementById("review");
const pageData = JSON.parse(document.getElementById("page-data").textContent);

export const EDITABLE = ["x", "y", "w", "h", "age", "gender", "child", "person", "status"];

export const $ = (id) => document.getElementById(id);

let nextKey = 1;

// A face as the page holds it: the server's fields plus a local key, its count of queued writes
// and the server's version when someone else changed it.
export function local(face) {
  return { ...face, key: nextKey++, pending: 0, conflict: null };
}

export const review = {
  root,
  pageData,
  urls: root.dataset,
  canEdit: pageData.canEdit,
  faces: JSON.parse(document.getElementById("faces-data").textContent).map(local),
  state: { selected: null, minConfidence: 0, showRejected: false, shown: [], restored: 0 },
  // Faces whose write met someone else's change, until the curator chooses a version.
  conflicts: new Set(),
  // Set by page.js at start.
  viewer: null,
  layer: null,
  list: null,
  queue: null,
  store: null,
};

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
export function newFaceKey() {
  if (crypto.randomUUID) return crypto.randomUUID();
  const bytes = crypto.getRandomValues(new Uint8Array(16));
  bytes[6] = (bytes[6] & 0x0f) | 0x40;
  bytes[8] = (bytes[8] & 0x3f) | 0x80;
  const hex = Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}

export function itemRef(item) {
  return item.ref || (item.ref = newRef());
}

export function faceRef(face) {
  return face.id ? { face: face.id } : { tmp: face.tmp };
}

export function snapshot(face) {
  const out = {};
  for (const field of EDITABLE) out[field] = face[field];
  return out;
}

// Predictions are filtered by the confidence slider; a curator's faces always show.
export function isShown(face) {
  const { state } = review;
  if (face.status === "rejected") return state.showRejected;
  return face.status !== "predicted" || face.confidence >= state.minConfidence;
}

export function readingOrder(a, b) {
  return a.y - b.y || a.x - b.x || a.key - b.key;
}

// The journal of unsaved edits: this browser's copy of the writes the server has not acknowledged
// (api.js UnsavedStore), replayed on the next load of the page, so a closed tab, a crash or a
// reload loses none of them.
import { UnsavedStore } from "../api.js";
import { review } from "./context.js";
import { createFace, queueBulk, queueChange, queueStatus, setReviewStatus } from "./edits.js";
import { nudgeRecord } from "./nudge.js";
import { refreshList } from "./panel.js";
import { faceOp, send, showSaveState } from "./saving.js";

// The store of this user's unsaved edits of this page (none for read-only viewers).
export function openStore() {
  const { pageData } = review;
  if (!review.canEdit || !pageData.userId) return null;
  try {
    return new UnsavedStore(`u${pageData.userId}.p${pageData.id}`);
  } catch (error) {
    return null; // storage disabled: edits are still saved, only not kept across a crash
  }
}

// Runs on every change of the queue and every nudge; the store writes only what changed.
export function persist() {
  const { store } = review;
  if (!store) return;
  const records = review.queue.journal();
  const draft = nudgeRecord();
  if (draft) records.push(draft);
  store.save(records);
}

// Unsaved edits left by an earlier load (closed tab, crash, reload).
export async function restoreUnsaved() {
  const { store } = review;
  if (!store) return;
  const entries = await store.orphans();
  const records = entries.flatMap((entry) => entry.records);
  if (records.length) {
    review.state.restored = replay(records);
    persist();
  }
  store.forget(entries.map((entry) => entry.key));
  showSaveState();
}

// Replays records in order through the same path as live edits. Each face's first write carries
// the version it was based on, so a face someone changed meanwhile answers 409 and shows the
// conflict instead of being overwritten.
function replay(records) {
  const { faces } = review;
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
    else if (r.op === "review") setReviewStatus(r.status, r.version ?? null);
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
  review.layer.redraw();
  return count;
}

// A bulk action recorded before a reload: its faces, each at the version the action was based on.
function replayBulk(r, based) {
  const targets = [];
  for (const named of r.faces || []) {
    const face = review.faces.find((f) => f.id === named.id);
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

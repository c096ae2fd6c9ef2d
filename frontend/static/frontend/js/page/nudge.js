// Arrow-key nudges of the selected box. A burst of them is saved as one edit once the keys have
// rested, so holding an arrow key writes one revision, not fifty.
import { nudgeBox, nudgeStep } from "../geometry.js";
import { faceRef, review } from "./context.js";
import { change } from "./edits.js";
import { persist } from "./journal.js";
import { showSaveState } from "./saving.js";

const NUDGE_SAVE_MS = 500;
// The burst not saved yet: { face, box, moved, resized, timer }. Its box is shown as a preview and
// is kept with the unsaved edits; the face itself changes when the burst is saved.
let nudge = null;

export function nudging() {
  return nudge !== null;
}

export function nudgeSelected(key, big, resize) {
  const face = review.state.selected;
  const { layer, pageData } = review;
  const t = layer.transform();
  if (!review.canEdit || !face || face.conflict || !t) return false;
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

export function flushNudge() {
  const burst = nudge;
  if (!burst) return;
  nudge = null;
  clearTimeout(burst.timer);
  review.layer.setPreview(null);
  const label = burst.resized ? (burst.moved ? gettext("Move and resize box") : gettext("Resize box")) : gettext("Move box");
  change(burst.face, burst.box, label);
  persist(); // drops the burst's draft record when it came back to where it started
  showSaveState();
}

// Ends the burst unless it is on this face (selecting the nudged face again keeps it going).
export function flushNudgeOff(face) {
  if (nudge && nudge.face !== face) flushNudge();
}

// The burst as a record of the unsaved-edits journal, or null when it changes nothing.
export function nudgeRecord() {
  if (!nudge) return null;
  const changes = {};
  for (const key of ["x", "y", "w", "h"]) if (nudge.box[key] !== nudge.face[key]) changes[key] = nudge.box[key];
  if (!Object.keys(changes).length) return null;
  return { ...faceRef(nudge.face), version: nudge.face.version, label: gettext("Move box"), item: null, op: "patch", changes };
}

// Undo and redo: every edit is recorded as an entry of items (a face, its fields before and after,
// and the revision the server gave the write); undoing one reverts that revision on the server.
import { $, isShown, itemRef, review } from "./context.js";
import { applyLocal } from "./edits.js";
import { flushNudge } from "./nudge.js";
import { refreshList, renderEditor, select } from "./panel.js";
import { faceOp, send } from "./saving.js";
import { format } from "../locale.js";

const undoStack = [];
const redoStack = [];

export function record(items, label) {
  undoStack.push({ label, items });
  redoStack.length = 0;
  updateHistoryButtons();
}

function updateHistoryButtons() {
  if (!review.canEdit) return;
  $("undo").disabled = !undoStack.length;
  $("redo").disabled = !redoStack.length;
  $("undo").title = undoStack.length ? format(gettext("Undo %(label)s"), { label: undoStack[undoStack.length - 1].label }) : "";
  $("redo").title = redoStack.length ? format(gettext("Redo %(label)s"), { label: redoStack[redoStack.length - 1].label }) : "";
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
    faceOp(face, format(gettext("Undo %(label)s"), { label: entry.label }), () => (item.revision ? send.revert(face, item.revision) : null), back, {
      // Before the edit it undoes is saved, its revision is not known yet: the record names that edit.
      journal: () => (item.revision ? { op: "revert", revision: item.revision } : { op: "revert", undoes: itemRef(item) }),
    });
  }
  target.push(inverse);
  updateHistoryButtons();
  refreshList();
  const face = entry.items.length === 1 ? entry.items[0].face : null;
  const { state } = review;
  if (face && isShown(face)) select(face);
  else if (state.selected && !isShown(state.selected)) select(null);
  renderEditor();
}

export function undo() {
  flushNudge();
  if (undoStack.length) revertEntry(undoStack.pop(), redoStack);
}

export function redo() {
  flushNudge();
  if (redoStack.length) revertEntry(redoStack.pop(), undoStack);
}

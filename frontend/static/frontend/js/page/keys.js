// Keyboard shortcuts of the review page (the help dialog lists them) and the arrow keys that
// nudge the selected box.
import { ARROW_KEYS } from "../geometry.js";
import { $, review } from "./context.js";
import { setStatus, toggleReviewed } from "./edits.js";
import { flushNudge, nudgeSelected } from "./nudge.js";
import { select, setDrawMode, setGender, step, toggleChild } from "./panel.js";
import { go } from "./saving.js";
import { redo, undo } from "./undo.js";

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
  z: () => review.state.selected && review.layer.zoomTo(review.state.selected),
  n: () => go($("next-page")),
  p: () => go($("prev-page")),
  N: () => go($("next-unreviewed") || $("next-unreviewed-corpus")),
  v: () => $("show-rejected").click(),
  "?": () => $("help-dialog").showModal(),
  Escape: () => (review.layer.drawMode ? setDrawMode(false) : select(null)),
};
const EDIT_KEYS = {
  a: () => setStatus(review.state.selected, "accept"),
  x: () => setStatus(review.state.selected, "reject"),
  Delete: () => setStatus(review.state.selected, "reject"),
  f: () => setGender("female"),
  m: () => setGender("male"),
  u: () => setGender("unknown"),
  c: toggleChild,
  e: () => review.state.selected && $("face-age").focus(),
  b: () => setDrawMode(!review.layer.drawMode),
  r: toggleReviewed,
};

export function installKeys() {
  const { canEdit } = review;
  // A press anywhere ends a burst of nudges first, so a drag or a click acts on the nudged box.
  window.addEventListener("pointerdown", () => flushNudge(), true);

  $("face-list").addEventListener("keydown", (event) => {
    if (event.key === "ArrowDown" || event.key === "ArrowUp") {
      event.preventDefault();
      step(event.key === "ArrowDown" ? 1 : -1);
    }
  });

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
}

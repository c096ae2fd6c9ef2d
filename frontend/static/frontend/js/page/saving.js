// Saving: every write of a face goes through the one save queue (api.js SaveQueue), in order,
// with the face's version; the answers merge back into the page, a 409 becomes a conflict to
// resolve, and the save state in the bar says where it all stands. Leaving the page waits for it.
import { getJSON, urlFor } from "../api.js";
import { $, EDITABLE, faceRef, itemRef, review } from "./context.js";
import { flushNudge, nudging } from "./nudge.js";
import { refreshFace, refreshList } from "./panel.js";
import { format } from "../locale.js";

// The queue's state, counting a burst of arrow-key nudges that is not queued yet.
function saveState() {
  const s = review.queue.state();
  if (!nudging()) return s;
  return s.kind === "saved" ? { kind: "saving", pending: 1 } : { ...s, pending: s.pending + 1 };
}

export function showSaveState() {
  const { state, conflicts } = review;
  const s = saveState();
  const el = $("save-state");
  const retry = $("retry-now");
  retry.hidden = s.kind !== "retrying";
  let text;
  let kind = s.kind;
  if (s.kind === "retrying") {
    const seconds = Math.max(0, Math.round((s.retryAt - Date.now()) / 1000));
    text = format(
      ngettext(
        "Not saved (%(error)s): %(n)s change waiting, retrying in %(seconds)s s",
        "Not saved (%(error)s): %(n)s changes waiting, retrying in %(seconds)s s",
        s.pending
      ),
      { error: s.error, n: s.pending, seconds }
    );
  } else if (s.kind === "saving") {
    text = format(ngettext("Saving %(n)s change…", "Saving %(n)s changes…", s.pending), { n: s.pending });
  } else if (conflicts.size) {
    kind = "conflict";
    text = format(ngettext("Conflict on %(n)s face: choose a version", "Conflict on %(n)s faces: choose a version", conflicts.size), {
      n: conflicts.size,
    });
  } else if (state.lastError) {
    kind = "error";
    text = state.lastError;
  } else {
    text = gettext("All changes saved");
  }
  if (s.kind === "saved") state.restored = 0;
  else if (state.restored) {
    const n = state.restored;
    text = format(ngettext("%(n)s unsaved edit restored from this browser · %(text)s", "%(n)s unsaved edits restored from this browser · %(text)s", n), {
      n,
      text,
    });
  }
  el.textContent = text;
  el.className = `save-state save-${kind}`;
  review.root.dataset.saveState = kind;
}

export function fail(message) {
  review.state.lastError = message;
  showSaveState();
}

// Server answers replace the local copy, unless newer local edits of that face are still queued.
export function merge(face, server) {
  face.version = server.version;
  if (!face.id) face.id = server.id;
  if (face.pending === 0) {
    for (const field of [...EDITABLE, "confidence", "source", "person_id"]) face[field] = server[field];
    review.layer.update(face);
  }
}

// Request builders; they run when the operation's turn comes, so they send the latest version.
export const send = {
  patch: (face, changes) => ({
    method: "PATCH",
    url: urlFor(review.urls.faceUrl, face.id),
    body: { ...changes, version: face.version },
  }),
  accept: (face) => ({ method: "POST", url: urlFor(review.urls.acceptUrl, face.id), body: { version: face.version } }),
  reject: (face) => ({ method: "DELETE", url: urlFor(review.urls.faceUrl, face.id), body: { version: face.version } }),
  revert: (face, revision) => ({
    method: "POST",
    url: urlFor(review.urls.revertUrl, face.id),
    body: { revision, version: face.version },
  }),
};

// Queues one write of a face. `journal` describes it as plain data for the browser's buffer of
// unsaved edits. `expect` is what the write sets: a 409 showing exactly that, one version on from
// the version sent, is this very write whose answer was lost (a retry after a dropped connection,
// a replay after a crash), not someone else's change.
export function faceOp(face, label, request, entryItem, { journal = null, expect = null } = {}) {
  const { state } = review;
  face.pending += 1;
  let sentVersion = null;
  review.queue.push({
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
      fail(
        format(gettext("Could not save “%(label)s” (%(status)s: %(error)s)"), {
          label,
          status,
          error: (data && JSON.stringify(data.detail || data)) || gettext("error"),
        })
      );
      reloadFace(face);
    },
  });
  refreshFace(face);
}

// Someone else changed the face: drop its queued writes and show both versions to choose from.
export function markConflict(face, server) {
  face.pending = 0;
  review.queue.discard((op) => op.face === face);
  face.conflict = server;
  review.conflicts.add(face);
  fail(format(gettext("Conflict on face %(id)s"), { id: face.id }));
  refreshFace(face);
}

async function reloadFace(face) {
  try {
    merge(face, await getJSON(urlFor(review.urls.faceUrl, face.id)));
    refreshList();
    refreshFace(face);
  } catch (error) {
    fail(format(gettext("Could not reload face %(id)s: %(error)s"), { id: face.id, error: error.message }));
  }
}

// ---- leaving the page ----

// Leaving waits for queued saves, so moving on quickly never loses the last edit.
export async function go(link) {
  if (!link) return;
  flushNudge();
  const { queue } = review;
  if (queue.pending) {
    $("save-state").textContent = gettext("Saving before leaving…");
    await queue.idle();
  }
  if (review.conflicts.size) {
    showSaveState();
    return;
  }
  window.location.assign(link.href);
}

// The browser's "leave the page?" question while edits are unsaved. Leaving anyway keeps them in
// this browser until the page is opened again, which may be never if the tab is closed for good.
// The page links wait for the queue (go) instead of leaving with it unsent.
export function guardLeaving() {
  window.addEventListener("beforeunload", (event) => {
    flushNudge();
    if (review.queue.pending || review.conflicts.size) {
      event.preventDefault();
      event.returnValue = "";
    }
  });
  for (const id of ["prev-page", "next-page", "next-unreviewed", "next-unreviewed-corpus"]) {
    const link = $(id);
    if (link) {
      link.addEventListener("click", (event) => {
        if (!review.queue.pending && !nudging()) return;
        event.preventDefault();
        go(link);
      });
    }
  }
}

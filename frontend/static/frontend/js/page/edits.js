// A curator's edits of the page: box geometry and attributes, accept and reject, a drawn box, a
// revert from the history, the choice on a conflict, bulk actions and the page's review status.
// Each is applied here at once, recorded for undo and queued for saving.
import { getJSON } from "../api.js";
import { $, isShown, itemRef, local, newFaceKey, review, snapshot } from "./context.js";
import { flushNudge } from "./nudge.js";
import { refreshFace, refreshList, renderEditor, select, setDrawMode } from "./panel.js";
import { faceOp, fail, markConflict, merge, send, showSaveState } from "./saving.js";
import { record } from "./undo.js";
import { dateTime, fixed, format, REVIEW_STATUS } from "../locale.js";

export function applyLocal(face, values) {
  const geometry = ["x", "y", "w", "h"].some((k) => k in values && values[k] !== face[k]);
  Object.assign(face, values);
  if (geometry) review.layer.update(face);
}

// A curator's edit of geometry or attributes; status follows the server's rule.
export function change(face, values, label) {
  if (!review.canEdit || face.conflict) return;
  flushNudge();
  const changes = {};
  for (const [key, value] of Object.entries(values)) if (face[key] !== value) changes[key] = value;
  if (!Object.keys(changes).length) return;
  queueChange(face, changes, label);
}

// Applies changes locally, records them for undo and queues their PATCH.
export function queueChange(face, changes, label, item = {}) {
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

export function setStatus(face, action) {
  if (!review.canEdit || !face || face.conflict) return;
  flushNudge();
  if (action === "accept" && !["predicted", "rejected"].includes(face.status)) return;
  if (action === "reject" && face.status === "rejected") return;
  queueStatus(face, action);
  const { state } = review;
  if (action === "reject" && !state.showRejected) {
    const i = review.list.indexOf(face);
    refreshList();
    const next = state.shown[Math.min(i, state.shown.length - 1)];
    select(next || null);
    if (next) review.layer.reveal(next);
  } else {
    refreshList();
  }
}

export function queueStatus(face, action, item = {}) {
  const target = action === "accept" ? "accepted" : "rejected";
  const before = snapshot(face);
  face.status = target;
  Object.assign(item, { face, before, after: snapshot(face), revision: null });
  const label = action === "accept" ? gettext("Accept") : gettext("Reject");
  record([item], label);
  faceOp(face, label, () => send[action](face), item, {
    journal: () => ({ op: action }),
    expect: { status: target },
  });
}

export function createFace(box, { tmp = newFaceKey(), item = {}, pick = true } = {}) {
  const { faces, pageData, queue, layer, urls } = review;
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
  record([item], gettext("Draw box"));
  face.pending += 1;
  queue.push({
    face,
    label: gettext("Draw box"),
    journal: () => ({ op: "create", tmp, box, label: gettext("Draw box"), item: itemRef(item) }),
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
      if (review.state.selected === face) select(null);
      refreshList();
      fail(format(gettext("Could not add the box (%(status)s: %(error)s)"), { status, error: JSON.stringify(data) }));
    },
  });
  refreshList();
  if (pick) select(face);
  return face;
}

export function revertTo(face, revisionId) {
  if (face.conflict) return;
  flushNudge();
  faceOp(face, gettext("Revert"), () => send.revert(face, revisionId), null, {
    journal: () => ({ op: "revert", revision: revisionId }),
  });
  review.queue.idle().then(() => {
    refreshList();
    renderEditor();
  });
}

export function resolveConflict(face, keepMine) {
  const server = face.conflict;
  if (!server) return;
  face.conflict = null;
  review.conflicts.delete(face);
  review.state.lastError = "";
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
      faceOp(face, gettext("Overwrite"), () => send.patch(face, changes), null, {
        journal: () => ({ op: "patch", changes }),
        expect: changes,
      });
    }
    if (mine.status !== server.status && (mine.status === "accepted" || mine.status === "rejected")) {
      const action = mine.status === "accepted" ? "accept" : "reject";
      faceOp(face, gettext("Overwrite"), () => send[action](face), null, {
        journal: () => ({ op: action }),
        expect: { status: mine.status },
      });
    }
  }
  refreshList();
  refreshFace(face);
  showSaveState();
}

export function bulk(action) {
  const t = review.state.minConfidence;
  const matching = review.faces.filter(
    (f) => f.status === "predicted" && (action === "accept" ? f.confidence >= t : f.confidence < t)
  );
  if (!matching.length) {
    const none = action === "accept" ? gettext("No predicted face at or above %(threshold)s") : gettext("No predicted face below %(threshold)s");
    fail(format(none, { threshold: fixed(t, 2) }));
    return;
  }
  const n = matching.length;
  const values = { n, threshold: fixed(t, 2) };
  const question =
    action === "accept"
      ? ngettext("Accept %(n)s predicted face with confidence ≥ %(threshold)s?", "Accept %(n)s predicted faces with confidence ≥ %(threshold)s?", n)
      : ngettext("Reject %(n)s predicted face with confidence < %(threshold)s?", "Reject %(n)s predicted faces with confidence < %(threshold)s?", n);
  if (!window.confirm(format(question, values))) return;
  const label = action === "accept" ? gettext("Accept %(n)s faces") : gettext("Reject %(n)s faces");
  queueBulk(action, matching, format(label, values));
}

// Each face goes with the version it is based on (read when the request is sent, after earlier
// writes). The server answers face by face: a face someone changed meanwhile is a conflict, shown
// as one, while the other faces are applied all the same.
export function queueBulk(action, targets, label) {
  flushNudge();
  const entry = { label, items: [] };
  const target = action === "accept" ? "accepted" : "rejected";
  const named = () => targets.filter((f) => f.id && !f.conflict).map((f) => ({ id: f.id, version: f.version }));
  let sent = new Map();
  review.queue.push({
    label,
    journal: () => ({ op: "bulk", action, label, faces: named() }),
    request: () => {
      const body = { action, faces: named() };
      if (!body.faces.length) return null;
      sent = new Map(body.faces.map((f) => [f.id, f.version]));
      return { method: "POST", url: review.urls.bulkUrl, body };
    },
    onSuccess: (data) => {
      const { state } = review;
      const byId = new Map(review.faces.map((f) => [f.id, f]));
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
      if (missing.length) fail(format(gettext("%(label)s: face %(faces)s is no longer on this page"), { label, faces: missing.join(", ") }));
      else if (!review.conflicts.size) state.lastError = "";
      if (state.selected && !isShown(state.selected)) select(null);
      refreshList();
      review.layer.redraw();
      renderEditor();
    },
    onFailure: (status, data) => fail(
        format(action === "accept" ? gettext("Bulk accept failed (%(status)s: %(error)s)") : gettext("Bulk reject failed (%(status)s: %(error)s)"), {
          status,
          error: JSON.stringify(data),
        })
      ),
  });
}

// ---- the page's review status ----


function showReviewStatus(page) {
  review.pageData.reviewStatus = page.review_status;
  review.pageData.reviewVersion = page.review_version;
  const badge = $("review-status");
  badge.textContent = REVIEW_STATUS[page.review_status];
  badge.className = `review-badge review-${page.review_status}`;
  $("mark-reviewed").textContent = page.review_status === "reviewed" ? gettext("Reopen review") : gettext("Mark reviewed");
  if (page.review_history) showReviewHistory(page.review_history);
}

// A curator's first saved change of an unreviewed page's faces puts the page in review on the server,
// which records who did: once the saves are answered, show the status and history the server has.
export async function followReviewStart() {
  if (!review.canEdit || review.pageData.reviewStatus !== "unreviewed") return;
  try {
    showReviewStatus(await getJSON(review.urls.pageUrl));
  } catch {
    // Shown as it is on the next load; nothing of the curator's is at stake.
  }
}

// Who changed the page's review status, when, from what to what: newest first (the server keeps it;
// reopening a page clears its reviewer, not this).
export function showReviewHistory(changes) {
  $("review-history").hidden = changes.length === 0;
  $("review-history-list").replaceChildren(
    ...changes.map((change) => {
      const item = document.createElement("li");
      item.textContent = format(gettext("%(user)s: %(before)s → %(after)s, %(when)s"), {
        user: change.user || (change.user_hidden ? gettext("A curator") : gettext("someone")),
        before: REVIEW_STATUS[change.before],
        after: REVIEW_STATUS[change.after],
        when: dateTime(change.at),
      });
      return item;
    })
  );
}

// Each change names the review version it is based on: the page's as this page last saw it, when
// the change's turn comes (after any earlier change of it). A 409 showing exactly this change, one
// version on, is this very write whose answer was lost; any other is someone else's change, shown.
export function setReviewStatus(status, basedOn = null) {
  flushNudge();
  if (basedOn !== null) review.pageData.reviewVersion = basedOn;
  let sentVersion = null;
  review.queue.push({
    label: gettext("Review status"),
    journal: () => ({ op: "review", status, version: sentVersion ?? review.pageData.reviewVersion }),
    request: () => {
      sentVersion = review.pageData.reviewVersion;
      return { method: "PATCH", url: review.urls.pageUrl, body: { review_status: status, review_version: sentVersion } };
    },
    onSuccess: (data) => {
      review.state.lastError = "";
      showReviewStatus(data);
    },
    onConflict: (data) => {
      const server = data && data.page;
      if (!server) return fail(format(gettext("Could not change the review status (%(code)s)"), { code: 409 }));
      showReviewStatus(server);
      if (server.review_version === sentVersion + 1 && server.review_status === status) return;
      review.queue.discard((op) => op.reviewChange);
      fail(
        format(gettext("Someone else changed this page's review status meanwhile: it is now “%(status)s”."), {
          status: REVIEW_STATUS[server.review_status],
        })
      );
    },
    onFailure: (code) => fail(format(gettext("Could not change the review status (%(code)s)"), { code })),
    reviewChange: true,
  });
}

export function toggleReviewed() {
  if (review.canEdit) setReviewStatus(review.pageData.reviewStatus === "reviewed" ? "in_review" : "reviewed");
}

// The person on the selected face: its field (autocomplete over the people of the corpus) and the
// "More like this" panel (the nearest faces of the corpus, each with its distance), whose matches
// are named one by one or all at once in one versioned write (all or none, a 409 on any change).
import { csrfToken, getJSON, urlFor } from "../api.js";
import { $, review } from "./context.js";
import { change } from "./edits.js";
import { refreshFace } from "./panel.js";
import { fail, merge } from "./saving.js";

const JOB_POLL_MS = 1000;
const JOB_POLLS = 60;
const SAVE_WAIT_MS = 100;
const SAVE_WAITS = 100;

let similar = { face: null, results: [], suggested: "" };

// ---- the person field ----
let lastQuery = null;

export async function suggestPeople(query) {
  if (query === lastQuery) return;
  lastQuery = query;
  const params = new URLSearchParams({ corpus: review.pageData.corpusId, q: query });
  let body;
  try {
    body = await getJSON(review.urls.peopleUrl + "?" + params);
  } catch {
    return; // the field still takes a new name
  }
  $("people-options").replaceChildren(
    ...body.results.map((person) => Object.assign(document.createElement("option"), { value: person.person }))
  );
}

export function commitPerson() {
  const face = review.state.selected;
  if (!face) return;
  change(face, { person: $("face-person").value.trim() }, gettext("Person"));
}

export function renderPerson(face) {
  const input = $("face-person");
  if (document.activeElement !== input) input.value = face.person || "";
  const link = $("person-link");
  link.hidden = !face.person_id;
  if (face.person_id) link.href = urlFor(review.urls.personPageUrl, face.person_id);
  if ($("more-like-this").open && similar.face !== face) loadSimilar();
}

// ---- more like this ----
function status(text) {
  $("similar-status").textContent = text;
}

async function encodedThenSimilar(url, face) {
  for (let poll = 0; poll < JOB_POLLS; poll++) {
    const response = await fetch(url, { headers: { Accept: "application/json" }, credentials: "same-origin" });
    const body = await response.json();
    if (response.status !== 202) {
      if (!response.ok) throw new Error(body.detail || String(response.status));
      return body;
    }
    // The face has no encoding yet: a job computes it; ask again once it is done.
    status(gettext("Encoding this face…"));
    let job = body;
    while (!["done", "failed"].includes(job.status) && poll++ < JOB_POLLS) {
      await new Promise((resolve) => setTimeout(resolve, JOB_POLL_MS));
      if (face !== review.state.selected) return null;
      job = await getJSON(job.url);
    }
    if (job.status === "failed") throw new Error(job.error || gettext("the face could not be encoded"));
  }
  throw new Error(gettext("the encoding took too long"));
}

export async function loadSimilar() {
  const face = review.state.selected;
  similar = { face, results: [], suggested: "" };
  $("similar-list").replaceChildren();
  const acceptAll = $("similar-accept-all");
  if (acceptAll) acceptAll.hidden = true;
  if (!face || !face.id) {
    status(gettext("Save the face first."));
    return;
  }
  status(gettext("Looking for similar faces…"));
  let body;
  try {
    body = await encodedThenSimilar(urlFor(review.urls.similarUrl, face.id) + "?limit=12", face);
  } catch (error) {
    status(interpolate(gettext("No similar faces (%(error)s)"), { error: error.message }, true));
    return;
  }
  if (!body || face !== review.state.selected) return;
  similar = { face, results: body.results, suggested: body.suggested_person };
  renderSimilar();
}

function renderSimilar() {
  const { face, results, suggested } = similar;
  const likely = likelyMatches();
  status(
    results.length
      ? interpolate(gettext("%(count)s nearest faces"), { count: results.length }, true) +
          (suggested ? interpolate(gettext(" · suggested: %(name)s"), { name: suggested }, true) : "")
      : gettext("No similar faces in this corpus.")
  );
  if (suggested && !face.person && !$("face-person").value) $("face-person").placeholder = suggested;
  $("similar-list").replaceChildren(...results.map(similarItem));
  const acceptAll = $("similar-accept-all");
  if (acceptAll) {
    acceptAll.hidden = !likely.length;
    acceptAll.textContent = interpolate(gettext("Name all likely matches (%(count)s)"), { count: likely.length }, true);
  }
}

function similarItem(item) {
  const li = document.createElement("li");
  li.className = "similar-item" + (item.same_person_likely ? " likely" : "");
  li.dataset.faceId = item.face.id;
  const img = Object.assign(document.createElement("img"), {
    src: item.crop_url,
    alt: gettext("Similar face"),
    width: 60,
    height: 60,
    loading: "lazy",
  });
  const text = document.createElement("span");
  text.className = "similar-text";
  const distance = Object.assign(document.createElement("span"), {
    className: "similar-distance",
    textContent: interpolate(gettext("distance %(distance)s"), { distance: item.distance.toFixed(2) }, true),
  });
  const who = Object.assign(document.createElement("span"), {
    className: "similar-person",
    textContent: item.face.person || gettext("unnamed"),
  });
  text.append(distance, who);
  li.append(img, text);
  if (review.canEdit && !(item.face.person && item.face.person === nameToGive())) {
    const accept = Object.assign(document.createElement("button"), {
      type: "button",
      className: "similar-accept",
      textContent: gettext("Same person"),
    });
    accept.addEventListener("click", () => nameMatches([item]));
    li.append(accept);
  }
  return li;
}

function nameToGive() {
  return $("face-person").value.trim() || similar.face?.person || similar.suggested;
}

// The matches below the same-person distance not already given the name to give.
function likelyMatches() {
  const name = nameToGive();
  return similar.results.filter((item) => item.same_person_likely && (!name || item.face.person !== name));
}

export function acceptAllSimilar() {
  nameMatches(likelyMatches());
}

async function saved(face) {
  for (let wait = 0; face.pending && wait < SAVE_WAITS; wait++) {
    await new Promise((resolve) => setTimeout(resolve, SAVE_WAIT_MS));
  }
  return !face.pending && !face.conflict;
}

// One write names the selected face and the accepted matches, each at the version shown.
async function nameMatches(items) {
  const face = similar.face;
  const person = nameToGive();
  if (!face || face !== review.state.selected) return;
  if (!person) {
    status(gettext("Type the person's name first."));
    $("face-person").focus();
    return;
  }
  // The name typed is saved as the field loses focus (a click here): name at the version it leaves.
  if (!(await saved(face))) {
    status(gettext("This face's changes are not saved yet; try again once they are."));
    return;
  }
  const response = await fetch(urlFor(review.urls.personNameUrl, face.id), {
    method: "POST",
    credentials: "same-origin",
    headers: {
      "Content-Type": "application/json",
      Accept: "application/json",
      "X-CSRFToken": csrfToken(review.urls.csrfToken),
    },
    body: JSON.stringify({
      person,
      version: face.version,
      matches: items.map((item) => ({ id: item.face.id, version: item.face.version })),
    }),
  });
  const body = await response.json().catch(() => ({}));
  if (!response.ok) {
    const reason = response.status === 409 ? gettext("a face was changed meanwhile; the list is reloaded") : body.detail;
    fail(interpolate(gettext("Naming failed: %(reason)s"), { reason: reason || response.status }, true));
    if (response.status === 409) loadSimilar();
    return;
  }
  for (const server of body.faces) {
    const mine = review.faces.find((f) => f.id === server.id);
    if (!mine) continue;
    merge(mine, server);
    mine.person_id = server.person_id;
    refreshFace(mine);
  }
  await loadSimilar();
  status(interpolate(gettext("Named %(count)s × %(person)s"), { count: body.faces.length, person: body.person }, true));
}

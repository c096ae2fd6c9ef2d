// The selected face's revision history, loaded when its panel is open, each step with a Revert.
import { getJSON, urlFor } from "../api.js";
import { $, review } from "./context.js";
import { revertTo } from "./edits.js";
import { dateTime, format, REVISION_ACTION } from "../locale.js";

export async function loadHistory() {
  const face = review.state.selected;
  const listEl = $("history-list");
  if (!face || !face.id) {
    listEl.replaceChildren(item(gettext("Not saved yet.")));
    return;
  }
  let data;
  try {
    data = await getJSON(urlFor(review.urls.historyUrl, face.id));
  } catch (error) {
    listEl.replaceChildren(item(format(gettext("Could not load the history (%(error)s)."), { error: error.message })));
    return;
  }
  if (face !== review.state.selected) return;
  listEl.innerHTML = "";
  for (const revision of data.results) {
    const li = document.createElement("li");
    const when = dateTime(revision.created_at);
    li.textContent = `${format(gettext("%(action)s by %(user)s, %(when)s: %(changes)s"), { action: REVISION_ACTION[revision.action] || revision.action, user: revision.user || (revision.user_hidden ? gettext("a curator") : gettext("system")), when, changes: changeSummary(revision) })} `;
    if (review.canEdit) {
      const button = document.createElement("button");
      button.type = "button";
      button.className = "link";
      button.textContent = gettext("Revert");
      button.setAttribute("aria-label", format(gettext("Revert the change of %(when)s"), { when }));
      button.addEventListener("click", () => revertTo(face, revision.id));
      li.append(button);
    }
    listEl.append(li);
  }
  if (!data.results.length) listEl.replaceChildren(item(gettext("No changes yet.")));
}

function changeSummary(revision) {
  if (!revision.before) return "created";
  const changed = Object.keys(revision.after || {}).filter(
    (key) => JSON.stringify(revision.before[key]) !== JSON.stringify(revision.after[key])
  );
  return changed.map((key) => `${key} ${revision.before[key]} → ${revision.after[key]}`).join(", ") || gettext("no change");
}

function item(text) {
  const li = document.createElement("li");
  li.textContent = text;
  return li;
}

// The selected face's revision history, loaded when its panel is open, each step with a Revert.
import { getJSON, urlFor } from "../api.js";
import { $, review } from "./context.js";
import { revertTo } from "./edits.js";

export async function loadHistory() {
  const face = review.state.selected;
  const listEl = $("history-list");
  if (!face || !face.id) {
    listEl.innerHTML = "<li>Not saved yet.</li>";
    return;
  }
  let data;
  try {
    data = await getJSON(urlFor(review.urls.historyUrl, face.id));
  } catch (error) {
    listEl.innerHTML = `<li>Could not load the history (${error.message}).</li>`;
    return;
  }
  if (face !== review.state.selected) return;
  listEl.innerHTML = "";
  for (const revision of data.results) {
    const li = document.createElement("li");
    const when = new Date(revision.created_at).toLocaleString();
    li.textContent = `${revision.action} by ${revision.user || "system"}, ${when}: ${changeSummary(revision)} `;
    if (review.canEdit) {
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

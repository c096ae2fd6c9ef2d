// Document page: while the import runs, poll the API and reload once it settles,
// so the curator sees pages appear without refreshing by hand.
(function () {
  "use strict";
  const state = document.getElementById("import-state");
  if (!state) return;
  const POLL_MS = 1000;
  const IMPORT_STATUS = { pending: gettext("Pending"), running: gettext("Running"), done: gettext("Done"), failed: gettext("Failed") };
  const url = state.dataset.statusUrl;
  const statusEl = document.getElementById("import-status");
  const errorEl = document.getElementById("import-error");
  let last = state.dataset.status;

  async function poll() {
    try {
      const response = await fetch(url, { headers: { Accept: "application/json" } });
      if (response.ok) {
        const data = await response.json();
        statusEl.textContent = IMPORT_STATUS[data.import_status] || data.import_status;
        statusEl.className = "status status-" + data.import_status;
        const collection = data.import_report && data.import_report.collection;
        const progress = document.getElementById("collection-progress");
        if (progress && collection && collection.members) {
          const imported = interpolate(gettext("%(done)s of %(total)s manifests imported"), collection, true);
          progress.textContent = collection.failed
            ? imported + ", " + interpolate(gettext("%(failed)s failed"), collection, true)
            : imported;
        }
        if (data.import_error) {
          errorEl.textContent = data.import_error;
          errorEl.hidden = false;
        }
        if (data.import_status !== last && (data.import_status === "done" || data.import_status === "failed")) {
          window.location.reload();
          return;
        }
        last = data.import_status;
      }
    } catch (err) {
      // A network blip: keep polling, the next tick will catch up.
    }
    if (last === "pending" || last === "running") window.setTimeout(poll, POLL_MS);
  }
  if (last === "pending" || last === "running") window.setTimeout(poll, POLL_MS);
})();

// Exports page: poll the exports still being built so their progress bars move and the
// download link appears when they finish; send annotation imports and show their report.
(function () {
  "use strict";
  const POLL_MS = 1000;
  const LABELS = { pending: gettext("Pending"), running: gettext("Running"), done: gettext("Done"), failed: gettext("Failed") };
  const format = (text, values) => interpolate(text, values, true);

  function csrfToken(form) {
    const input = form.querySelector("input[name=csrfmiddlewaretoken]");
    return input ? input.value : "";
  }

  function show(row, data) {
    const status = row.querySelector("[data-role=status]");
    status.textContent = LABELS[data.status] || data.status;
    status.className = "status status-" + data.status;
    const progress = row.querySelector("[data-role=progress]");
    progress.max = Math.max(data.progress_total, 1);
    progress.value = data.progress_done;
    row.querySelector("[data-role=count]").textContent = data.progress_done + "/" + data.progress_total;
    row.querySelector("[data-role=faces]").textContent = data.face_count;
    const error = row.querySelector("[data-role=error]");
    error.textContent = data.error || "";
    error.hidden = !data.error;
    const download = row.querySelector("[data-role=download]");
    if (data.download_url) download.href = data.download_url;
    download.hidden = !data.download_url;
    row.dataset.status = data.status;
  }

  function isActive(row) {
    return row.dataset.status === "pending" || row.dataset.status === "running";
  }

  async function poll(row) {
    try {
      const response = await fetch(row.dataset.detailUrl, { headers: { Accept: "application/json" } });
      if (response.ok) show(row, await response.json());
    } catch (err) {
      // A network blip: the next tick catches up.
    }
    if (isActive(row)) window.setTimeout(() => poll(row), POLL_MS);
  }

  document.querySelectorAll(".export-row").forEach((row) => {
    if (isActive(row)) window.setTimeout(() => poll(row), POLL_MS);
  });

  const importForm = document.getElementById("annotation-import-form");
  const reportBox = document.getElementById("annotation-import-report");
  if (!importForm) return;

  function renderReport(report) {
    reportBox.replaceChildren();
    const summary = document.createElement("p");
    if (report.documents) {
      const imported = report.documents.filter((item) => !item.error).length;
      summary.textContent = format(
        ngettext(
          "%(documents)s document imported; %(files_imported)s files imported, %(files_rejected)s rejected.",
          "%(documents)s documents imported; %(files_imported)s files imported, %(files_rejected)s rejected.",
          imported
        ),
        { ...report, documents: imported }
      );
    } else if (report.files) {
      summary.textContent = format(
        gettext(
          "%(created)s faces created, %(updated)s updated, %(unchanged)s unchanged, %(skipped)s skipped; %(files_imported)s files imported, %(files_rejected)s rejected."
        ),
        report
      );
    } else {
      summary.textContent = format(gettext("Import refused: %(reason)s"), { reason: JSON.stringify(report) });
    }
    reportBox.append(summary);
    if (report.documents) {
      const documents = document.createElement("ul");
      documents.className = "import-documents";
      report.documents.forEach((item) => {
        const line = document.createElement("li");
        line.className = item.error ? "file-rejected" : "file-ok";
        line.textContent = item.error
          ? `${item.label}: ${item.error}`
          : format(gettext("%(label)s: %(pages)s pages, %(created)s faces created, %(unchanged)s unchanged"), item);
        documents.append(line);
      });
      reportBox.append(documents);
    }
    const list = document.createElement("ul");
    (report.files || []).forEach((file) => {
      const item = document.createElement("li");
      item.className = file.ok ? "file-ok" : "file-rejected";
      item.textContent = `${file.name}: ${file.ok ? gettext("imported") : gettext("rejected")}`;
      const messages = file.errors.concat(file.warnings);
      if (messages.length) {
        const details = document.createElement("ul");
        messages.forEach((message) => {
          const line = document.createElement("li");
          line.textContent = message;
          details.append(line);
        });
        item.append(details);
      }
      list.append(item);
    });
    reportBox.append(list);
    reportBox.hidden = false;
  }

  function say(text, isError) {
    const line = document.createElement("p");
    line.textContent = text;
    if (isError) line.className = "error-text";
    reportBox.replaceChildren(line);
    reportBox.hidden = false;
  }

  // The report box follows one import at a time: the latest one asked for.
  let following = 0;

  async function followDatasetImport(job, firstWait = POLL_MS) {
    const mine = ++following;
    reportBox.dataset.importStatus = job.status;
    say(gettext("Importing the dataset: its report appears here when the import is done."));
    for (let wait = firstWait; ; wait = POLL_MS) {
      await new Promise((resolve) => window.setTimeout(resolve, wait));
      if (mine !== following) return;
      let current;
      try {
        const response = await fetch(job.url, { headers: { Accept: "application/json" } });
        current = await response.json();
        if (mine !== following) return;
        if (!response.ok) {
          say(format(gettext("Import refused: %(reason)s"), { reason: current.detail || response.status }), true);
          return;
        }
      } catch (err) {
        // A network blip: the next tick catches up.
        continue;
      }
      reportBox.dataset.importStatus = current.status;
      if (current.status === "done") {
        renderReport(current.report);
        return;
      }
      if (current.status === "failed") {
        say(format(gettext("The import failed: %(error)s"), { error: current.error }), true);
        return;
      }
    }
  }

  // The user's latest dataset imports: each shows its report, or follows the import until it has one.
  document.querySelectorAll(".dataset-import-report").forEach((button) => {
    button.addEventListener("click", () => followDatasetImport({ url: button.dataset.url, status: "" }, 0));
  });

  // Choosing a document or a corpus picks that target; "boxes only" is for new documents, so it picks the corpus.
  [
    ["annotation-import-document", "annotation-import-into-document"],
    ["annotation-import-corpus", "annotation-import-into-corpus"],
  ].forEach(([select, radio]) => {
    ["focus", "change"].forEach((type) =>
      document.getElementById(select).addEventListener(type, () => {
        document.getElementById(radio).checked = true;
      })
    );
  });
  document.getElementById("annotation-import-boxes-only").addEventListener("change", (event) => {
    if (event.target.checked) document.getElementById("annotation-import-into-corpus").checked = true;
  });

  importForm.addEventListener("submit", async (event) => {
    event.preventDefault();
    const button = importForm.querySelector("button[type=submit]");
    button.disabled = true;
    try {
      // Into a document, or new documents of a corpus: the request names the one target chosen.
      const body = new FormData(importForm);
      const target = body.get("target");
      body.delete("target");
      body.delete(target === "corpus" ? "document" : "corpus");
      if (target !== "corpus") body.delete("boxes_only");
      const response = await fetch(importForm.dataset.url, {
        method: "POST",
        body,
        headers: { "X-CSRFToken": csrfToken(importForm), Accept: "application/json" },
      });
      const answer = await response.json();
      // A dataset is imported by a worker: the answer is the import to follow until its report is ready.
      if (response.status === 202) await followDatasetImport(answer);
      else renderReport(answer);
    } catch (err) {
      renderReport({ detail: String(err) });
    } finally {
      button.disabled = false;
    }
  });
})();

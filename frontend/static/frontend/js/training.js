// Models and training page: start a job, follow its progress and loss curve (vendored Chart.js,
// global `Chart`), read the held-out comparison, and activate or deactivate trained models.
import { csrfToken, getJSON, urlFor } from "./api.js";
import { RUN_STATUS } from "./locale.js";

const root = document.getElementById("training");
const POLL_MS = 1000;

if (root) {
  const curated = new Set((root.dataset.curatedCorpora || "").split(",").filter(Boolean).map(Number));
  const form = document.getElementById("train-form");
  const corpus = document.getElementById("train-corpus");
  const scope = document.getElementById("train-document");
  const kind = document.getElementById("train-kind");
  // The kinds as the form names them, in the page's language.
  const KIND_LABELS = Object.fromEntries([...kind.options].map((option) => [option.value, option.textContent]));
  const epochs = document.getElementById("train-epochs");
  const message = document.getElementById("train-message");
  const submit = document.getElementById("train-submit");
  let chart = null;
  let watched = null;
  let timer = null;

  const el = (tag, attrs = {}, ...children) => {
    const node = document.createElement(tag);
    for (const [key, value] of Object.entries(attrs)) node.setAttribute(key, value);
    for (const child of children) node.append(child);
    return node;
  };
  const fmt = (value) => (value === null || value === undefined ? "–" : Number(value).toFixed(3));
  const METRICS = { ap50: "AP@0.5", macro_recall: gettext("Macro recall") };
  const format = (text, values) => interpolate(text, values, true);

  async function send(url, payload) {
    const response = await fetch(url, {
      method: "POST",
      credentials: "same-origin",
      headers: { "Content-Type": "application/json", Accept: "application/json", "X-CSRFToken": csrfToken(form.elements.csrfmiddlewaretoken.value) },
      body: JSON.stringify(payload),
    });
    let data = null;
    try {
      data = await response.json();
    } catch {
      data = null;
    }
    return { ok: response.ok, status: response.status, data };
  }

  function errorText(data) {
    if (!data || typeof data !== "object") return gettext("unknown error");
    if (data.detail) return String(data.detail);
    return Object.entries(data).map(([key, value]) => `${key}: ${[].concat(value).join(" ")}`).join("; ");
  }

  function canCurate() {
    return curated.has(Number(corpus.value));
  }

  async function loadDocuments() {
    scope.replaceChildren(el("option", { value: "" }, gettext("every reviewed page of the corpus")));
    if (!corpus.value) return;
    const body = await getJSON(`${root.dataset.documentsUrl}?corpus=${corpus.value}`);
    for (const item of body.results || []) scope.append(el("option", { value: item.id }, item.label || item.source));
  }

  function syncForm() {
    submit.disabled = !canCurate();
    message.textContent = canCurate() ? "" : gettext("Only curators of this corpus can start training.");
  }

  async function refreshJobs() {
    const body = await getJSON(`${root.dataset.jobsUrl}?corpus=${corpus.value}`);
    const rows = body.results || [];
    document.getElementById("jobs-empty").hidden = rows.length > 0;
    const table = document.getElementById("jobs-table");
    table.hidden = rows.length === 0;
    table.tBodies[0].replaceChildren(
      ...rows.map((job) => {
        const show = el("button", { type: "button", "data-job": job.id }, gettext("Show"));
        show.addEventListener("click", () => watch(job.id));
        return el(
          "tr",
          { "data-job-id": job.id },
          el("td", {}, `#${job.id}`),
          el("td", {}, job.trained_model ? job.trained_model.registry_name : KIND_LABELS[job.kind] || job.kind),
          el("td", {}, el("span", { class: `status status-${job.status}` }, RUN_STATUS[job.status] || job.status)),
          el("td", {}, `${Math.round(job.progress * 100)} %`),
          el("td", {}, job.created_by || "–"),
          el("td", {}, show),
        );
      }),
    );
  }

  function drawLoss(history) {
    const loss = history.loss || [];
    const validation = history.val_loss || [];
    const labels = Array.from({ length: Math.max(loss.length, validation.length) }, (_, i) => String(i + 1));
    const data = {
      labels,
      datasets: [
        { label: gettext("Training loss"), data: loss, borderColor: "#0b57d0", backgroundColor: "#0b57d0" },
        { label: gettext("Validation loss"), data: validation, borderColor: "#b06000", backgroundColor: "#b06000" },
      ],
    };
    if (typeof Chart === "undefined") return;
    if (!chart) {
      chart = new Chart(document.getElementById("chart-loss"), {
        type: "line",
        data,
        options: {
          animation: false,
          responsive: true,
          maintainAspectRatio: false,
          scales: { x: { title: { display: true, text: gettext("epoch") } }, y: { title: { display: true, text: gettext("loss") } } },
        },
      });
    } else {
      chart.data = data;
      chart.update();
    }
    chart.canvas.dataset.epochs = String(labels.length);
  }

  function showComparison(model) {
    const box = document.getElementById("comparison");
    const comparison = model && model.comparison;
    box.hidden = !comparison || !comparison.metric;
    if (box.hidden) return;
    document.getElementById("comparison-metric").textContent = METRICS[comparison.metric] || comparison.metric;
    document.getElementById("comparison-new-name").textContent = format(gettext("%(name)s (new)"), { name: model.registry_name });
    document.getElementById("comparison-new").textContent = fmt(comparison.new);
    document.getElementById("comparison-active-name").textContent = format(gettext("%(name)s (active)"), { name: comparison.active_model || gettext("no model") });
    document.getElementById("comparison-active").textContent = fmt(comparison.active);
    document.getElementById("comparison-split").textContent =
      format(ngettext("%(faces)s faces on %(pages)s held-out page", "%(faces)s faces on %(pages)s held-out pages", comparison.held_out_pages), {
        faces: comparison.held_out_faces,
        pages: comparison.held_out_pages,
      }) + (comparison.enough_data ? "" : format(gettext(" (fewer than the %(min)s needed to compare: too small)"), { min: comparison.min_faces }));
    document.getElementById("comparison-reason").textContent = model.activation_reason;
  }

  async function watch(jobId) {
    watched = jobId;
    clearTimeout(timer);
    const job = await getJSON(urlFor(root.dataset.jobUrl, jobId));
    if (watched !== jobId) return;
    const detail = document.getElementById("job-detail");
    detail.hidden = false;
    detail.dataset.jobId = jobId;
    detail.dataset.status = job.status;
    document.getElementById("job-title").textContent = format(gettext("Job #%(id)s · %(kind)s"), { id: job.id, kind: KIND_LABELS[job.kind] || job.kind });
    // The stage says where a job is, or where it stopped when it failed; a finished job's status says the rest.
    const stage = job.stage && !["done", "cancelled"].includes(job.status) ? ` · ${job.stage}` : "";
    document.getElementById("job-stage").textContent = `${RUN_STATUS[job.status] || job.status}${stage}`;
    document.getElementById("job-progress").value = job.progress;
    const error = document.getElementById("job-error");
    error.hidden = !job.error;
    error.textContent = job.error;
    drawLoss((job.metrics && job.metrics.history) || {});
    showComparison(job.trained_model);
    if (["pending", "running"].includes(job.status)) {
      timer = setTimeout(() => watch(jobId), POLL_MS);
    } else {
      refreshJobs();
      refreshModels();
    }
  }

  async function refreshModels() {
    const body = await getJSON(root.dataset.modelsUrl);
    const models = body.trained || [];
    document.getElementById("models-empty").hidden = models.length > 0;
    const table = document.getElementById("models-table");
    table.hidden = models.length === 0;
    table.tBodies[0].replaceChildren(...models.map(modelRow));
  }

  function modelRow(model) {
    const comparison = model.comparison || {};
    const held = comparison.metric
      ? format(gettext("%(metric)s %(new)s vs %(active)s (%(model)s)"), {
          metric: METRICS[comparison.metric] || comparison.metric,
          new: fmt(comparison.new),
          active: fmt(comparison.active),
          model: comparison.active_model || gettext("no model"),
        })
      : "–";
    const change = el("td", {});
    if (curated.has(Number(model.data_snapshot.corpus))) {
      const reason = el("input", { type: "text", placeholder: gettext("Reason (required)"), "aria-label": format(gettext("Reason for changing %(name)s"), { name: model.registry_name }) });
      const button = el("button", { type: "button" }, model.is_active ? gettext("Deactivate") : gettext("Activate"));
      button.addEventListener("click", async () => {
        const note = document.getElementById("models-message");
        const { ok, status, data } = await send(urlFor(root.dataset.activationUrl, model.id), {
          is_active: !model.is_active,
          reason: reason.value,
          updated_at: model.updated_at,
        });
        note.textContent = ok
          ? format(data.is_active ? gettext("%(name)s is now active.") : gettext("%(name)s is now inactive."), { name: model.registry_name })
          : status === 409
            ? gettext("Someone changed this model meanwhile: the list is reloaded, decide again.")
            : format(gettext("Refused: %(error)s"), { error: errorText(data) });
        note.classList.toggle("error-text", !ok);
        // A refused change keeps the row as typed; a done or conflicting one shows the model's state now.
        if (ok || status === 409) refreshModels();
      });
      change.append(reason, " ", button);
    }
    return el(
      "tr",
      { "data-model": model.registry_name },
      el("td", {}, model.registry_name),
      el("td", { class: "num" }, held),
      el("td", {}, el("span", { class: `status ${model.is_active ? "status-done" : "status-cancelled"}` }, model.is_active ? gettext("active") : gettext("inactive"))),
      el("td", {}, model.activation_reason || ""),
      change,
    );
  }

  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    submit.disabled = true;
    message.textContent = gettext("Starting…");
    const payload = { kind: kind.value, params: {} };
    if (scope.value) payload.document = Number(scope.value);
    else payload.corpus = Number(corpus.value);
    if (epochs.value !== "") payload.params.epochs = Number(epochs.value);
    try {
      const { ok, data } = await send(root.dataset.jobsUrl, payload);
      message.textContent = ok ? format(gettext("Job #%(id)s queued."), { id: data.id }) : format(gettext("Refused: %(error)s"), { error: errorText(data) });
      message.classList.toggle("error-text", !ok);
      if (ok) {
        await refreshJobs();
        watch(data.id);
      }
    } catch (err) {
      message.textContent = format(gettext("Could not reach the server (%(error)s)."), { error: err.message });
      message.classList.add("error-text");
    }
    submit.disabled = !canCurate();
  });

  corpus.addEventListener("change", () => {
    syncForm();
    loadDocuments();
    refreshJobs();
  });
  syncForm();
  loadDocuments();
  refreshJobs();
  refreshModels();
}

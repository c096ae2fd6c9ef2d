// Document page, detection panel: start a run, then follow it live (pages, faces, errors, time
// left) by polling the runs API while a run is active; CSV, per-page state and annotated images.
import { csrfToken, getJSON, urlFor } from "./api.js";
import { fixed, format, RUN_STATUS } from "./locale.js";

const POLL_MS = 1500;
const SHOWN_RUNS = 5;
const ACTIVE = new Set(["pending", "running"]);

const panel = document.getElementById("detection-panel");
if (panel) init(panel);

function init(panel) {
  const table = document.getElementById("runs-table");
  const body = table.querySelector("tbody");
  const empty = document.getElementById("runs-empty");
  const form = document.getElementById("detect-form");
  const canCurate = panel.dataset.canCurate === "true";
  const openPages = new Set();
  let timer = null;

  async function refresh() {
    window.clearTimeout(timer);
    let runs = [];
    try {
      runs = (await getJSON(panel.dataset.runsUrl)).results.slice(0, SHOWN_RUNS);
    } catch (err) {
      // A network blip: try again on the next tick.
      timer = window.setTimeout(refresh, POLL_MS * 2);
      return;
    }
    render(runs);
    if (runs.some((run) => ACTIVE.has(run.status))) timer = window.setTimeout(refresh, POLL_MS);
  }

  function render(runs) {
    empty.hidden = runs.length > 0;
    table.hidden = runs.length === 0;
    body.replaceChildren(...runs.flatMap((run) => rows(run)));
    panel.dataset.latestStatus = runs.length ? runs[0].status : "";
  }

  function rows(run) {
    const p = run.progress;
    const active = ACTIVE.has(run.status);
    const params = [
      format(gettext("threshold %(threshold)s"), { threshold: run.params.threshold.toLocaleString(document.documentElement.lang) }),
      run.params.tiling ? gettext("tiled") : gettext("whole page"),
    ];
    if (run.params.max_face_share != null) {
      params.push(format(gettext("faces ≤ %(share)s of the page"), { share: run.params.max_face_share.toLocaleString(document.documentElement.lang) }));
    }
    if (run.params.turned_faces) params.push(gettext("turned faces too"));
    const outputs = el("td", { class: "run-outputs" },
      el("a", { href: run.links.faces_csv, download: "" }, "CSV"),
      el("button", { type: "button", class: "link", "aria-expanded": String(openPages.has(run.id)) }, gettext("Pages")));
    outputs.lastChild.addEventListener("click", () => togglePages(run));
    if (canCurate && active) outputs.append(action(gettext("Cancel"), run.links.cancel, "cancel-run"));
    if (canCurate && !active && run.pages_failed > 0 && run.status !== "cancelled") {
      outputs.append(action(gettext("Retry failed"), run.links.retry, "retry-run"));
    }
    const row = el("tr", { "data-run-id": run.id, class: `run run-${run.status}` },
      el("td", {}, el("strong", {}, `#${run.id} ${run.detector}`), el("br"), el("span", { class: "hint" }, params.join(" · "))),
      el("td", {}, el("span", { class: `status status-${run.status} run-status` }, RUN_STATUS[run.status] || run.status)),
      el("td", { class: "run-pages" },
        el("progress", { max: String(p.pages_total || 1), value: String(p.pages_done + p.pages_failed) }),
        ` ${p.pages_done + p.pages_failed}/${p.pages_total}`),
      el("td", { class: "run-faces" }, String(run.faces_found)),
      el("td", { class: run.pages_failed ? "run-errors error-text" : "run-errors" }, String(run.pages_failed)),
      el("td", { class: "run-eta" }, active ? duration(p.eta_seconds, "…") : format(gettext("took %(duration)s"), { duration: duration(p.elapsed_seconds, "–") })),
      outputs);
    const result = [row];
    if (openPages.has(run.id)) {
      const cell = el("td", { colspan: "7" }, el("span", { class: "hint" }, gettext("Loading pages…")));
      result.push(el("tr", { class: "run-pages-row" }, cell));
      loadPages(run, cell);
    }
    return result;
  }

  function action(label, url, cls) {
    const button = el("button", { type: "button", class: `link ${cls}` }, label);
    button.addEventListener("click", async () => {
      button.disabled = true;
      await send(url, {});
      refresh();
    });
    return button;
  }

  function togglePages(run) {
    if (openPages.has(run.id)) openPages.delete(run.id);
    else openPages.add(run.id);
    refresh();
  }

  async function loadPages(run, cell) {
    try {
      const pages = (await getJSON(run.links.pages)).results;
      const list = el("table", { class: "run-page-list" },
        el("thead", {}, el("tr", {}, ...[gettext("Page"), gettext("Status"), gettext("Faces"), gettext("Seconds"), ""].map((h) => el("th", {}, h)))),
        el("tbody", {}, ...pages.map((page) => el("tr", {},
          el("td", {}, el("a", { href: urlFor(panel.dataset.pageUrl, page.page) }, page.page_label || format(gettext("p. %(n)s"), { n: page.page_order }))),
          el("td", { class: `status status-${page.status}` }, RUN_STATUS[page.status] || page.status, page.error ? el("span", { class: "error-text" }, page.error) : ""),
          el("td", {}, String(page.faces_found)),
          el("td", {}, page.total_seconds == null ? "" : fixed(page.total_seconds, 1)),
          el("td", {}, page.status === "done" ? el("a", { href: page.annotated_url, target: "_blank", rel: "noopener" }, gettext("annotated JPEG")) : "")))));
      cell.replaceChildren(list);
    } catch (err) {
      cell.replaceChildren(el("span", { class: "error-text" }, format(gettext("Could not load the pages (%(error)s)"), { error: err.message })));
    }
  }

  async function send(url, payload) {
    const response = await fetch(url, {
      method: "POST",
      credentials: "same-origin",
      headers: { "Content-Type": "application/json", Accept: "application/json", "X-CSRFToken": csrfToken(form?.csrfmiddlewaretoken?.value) },
      body: JSON.stringify(payload),
    });
    let data = {};
    try {
      data = await response.json();
    } catch (err) {
      // An empty or non-JSON error body: the status line says enough.
    }
    return { ok: response.ok, status: response.status, data };
  }

  if (form) {
    const detector = document.getElementById("detect-detector");
    const threshold = document.getElementById("detect-threshold");
    const tiling = document.getElementById("detect-tiling");
    const maxFaceShare = document.getElementById("detect-max-face-share");
    const turnedFaces = document.getElementById("detect-turned-faces");
    const attributes = document.getElementById("detect-attributes");
    const message = document.getElementById("detect-message");
    const submit = document.getElementById("detect-submit");
    // Each detector has its own sensible threshold and tiling default (res10 needs tiles for small faces).
    detector.addEventListener("change", () => {
      const option = detector.selectedOptions[0];
      if (option.dataset.threshold) threshold.value = option.dataset.threshold;
      tiling.checked = option.dataset.tiling === "true";
    });
    form.addEventListener("submit", async (event) => {
      event.preventDefault();
      submit.disabled = true;
      message.textContent = gettext("Starting…");
      const payload = {
        document: Number(panel.dataset.documentId),
        detector: detector.value,
        tiling: tiling.checked,
        turned_faces: turnedFaces.checked,
        attribute_model: attributes.value,
      };
      if (threshold.value !== "") payload.threshold = Number(threshold.value);
      if (maxFaceShare.value !== "") payload.max_face_share = Number(maxFaceShare.value);
      try {
        const { ok, data } = await send(panel.dataset.createUrl, payload);
        message.textContent = ok
          ? format(ngettext("Run #%(id)s started on %(n)s page.", "Run #%(id)s started on %(n)s pages.", data.pages_total), {
              id: data.id,
              n: data.pages_total,
            })
          : format(gettext("Refused: %(error)s"), { error: errorText(data) });
        message.classList.toggle("error-text", !ok);
      } catch (err) {
        message.textContent = format(gettext("Could not reach the server (%(error)s)."), { error: err.message });
        message.classList.add("error-text");
      }
      submit.disabled = false;
      refresh();
    });
  }

  refresh();
}

function errorText(data) {
  if (!data || typeof data !== "object") return gettext("unknown error");
  if (data.detail) return String(data.detail);
  return Object.entries(data).map(([key, value]) => `${key}: ${[].concat(value).join(" ")}`).join("; ");
}

function duration(seconds, fallback) {
  if (seconds == null) return fallback;
  const s = Math.round(seconds);
  if (s < 60) return format(gettext("%(s)s s"), { s });
  const m = Math.floor(s / 60);
  if (m < 60) return format(gettext("%(m)s min %(s)s s"), { m, s: s % 60 });
  return format(gettext("%(h)s h %(m)s min"), { h: Math.floor(m / 60), m: m % 60 });
}

function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [name, value] of Object.entries(attrs)) node.setAttribute(name, value);
  node.append(...children.filter((child) => child !== "" && child != null));
  return node;
}

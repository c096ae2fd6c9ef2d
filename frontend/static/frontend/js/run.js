// Run page: the precision–recall curve of the run's evaluation (Chart.js, global `Chart`), and
// comparisons with detectors evaluated afresh through POST /api/evaluation/ (a column and a curve each).
// A fresh evaluation runs on a worker: the API answers 202 with a job, polled here until it is done.
// Starting one is a POST (CSRF token from the form) so that no link or image can start worker work.
(function () {
  "use strict";
  const section = document.getElementById("evaluation");
  const data = document.getElementById("evaluation-data");
  if (!section || !data || typeof Chart === "undefined") return;

  const COLOURS = ["#0b57d0", "#b06000", "#188038", "#c2185b", "#6f42c1"];
  const METRICS = ["precision", "recall", "f1", "ap50", "ap50_95"];
  const LANG = document.documentElement.lang || "en";
  const fmt = (value) =>
    value === null || value === undefined ? "–" : value.toLocaleString(LANG, { minimumFractionDigits: 3, maximumFractionDigits: 3 });
  const format = (text, values) => interpolate(text, values, true);

  // The sweep runs from the highest threshold down; each point is (recall, precision) there.
  const curve = (evaluation) =>
    evaluation.sweep
      .filter((point) => point.recall !== null && point.precision !== null)
      .map((point) => ({ x: point.recall, y: point.precision, threshold: point.threshold }));

  // The operating point: the last sweep point still at or above the evaluation's threshold.
  function operatingPoint(evaluation) {
    const kept = evaluation.sweep.filter((point) => point.threshold >= evaluation.threshold && point.recall !== null);
    const point = kept[kept.length - 1];
    return point ? [{ x: point.recall, y: point.precision, threshold: point.threshold }] : [];
  }

  function datasets(evaluation, label, colour) {
    return [
      { label: label, data: curve(evaluation), borderColor: colour, backgroundColor: colour, showLine: true, pointRadius: 2 },
      {
        label: format(gettext("%(label)s at threshold %(threshold)s"), { label, threshold: evaluation.threshold.toLocaleString(LANG) }),
        data: operatingPoint(evaluation),
        borderColor: colour,
        backgroundColor: "transparent",
        pointRadius: 7,
        pointBorderWidth: 2,
        showLine: false,
      },
    ];
  }

  const run = JSON.parse(data.textContent);
  const canvas = document.getElementById("pr-chart");
  const chart = new Chart(canvas, {
    type: "scatter",
    data: { datasets: datasets(run, format(gettext("%(detector)s (run)"), { detector: run.detector }), COLOURS[0]) },
    options: {
      // Drawn once at its final size, so screenshots and tests see settled pixels.
      animation: false,
      responsive: true,
      maintainAspectRatio: false,
      locale: LANG,
      scales: {
        x: { min: 0, max: 1, title: { display: true, text: gettext("Recall") } },
        y: { min: 0, max: 1, title: { display: true, text: gettext("Precision") } },
      },
      plugins: {
        tooltip: {
          callbacks: {
            label: (item) =>
              format(gettext("threshold %(threshold)s: precision %(precision)s, recall %(recall)s"), {
                threshold: fmt(item.raw.threshold),
                precision: fmt(item.raw.y),
                recall: fmt(item.raw.x),
              }),
          },
        },
      },
    },
  });
  canvas.dataset.drawn = "true";
  canvas.dataset.curves = "1";

  const form = document.getElementById("compare-form");
  if (!form) return;
  const status = document.getElementById("compare-status");
  const table = document.getElementById("metrics-table");

  function addColumn(evaluation) {
    const header = document.createElement("th");
    header.scope = "col";
    header.className = "num";
    header.textContent = format(gettext("%(detector)s (fresh)"), { detector: evaluation.detector });
    table.querySelector("thead tr").append(header);
    for (const row of table.querySelectorAll("tbody tr")) {
      const cell = document.createElement("td");
      cell.className = "num";
      const metric = row.dataset.metric;
      const d = evaluation.detection;
      cell.textContent = METRICS.includes(metric)
        ? fmt(d[metric])
        : `${d.true_positives} / ${d.false_positives} / ${d.false_negatives}`;
      row.append(cell);
    }
  }

  const POLL_MS = 1000;
  const sendJson = async (url, options = {}) => {
    const response = await fetch(url, { ...options, headers: { Accept: "application/json", ...options.headers }, credentials: "same-origin" });
    const body = await response.json();
    if (!response.ok) throw new Error(body.detail || Object.values(body).flat().join(" ") || response.statusText);
    return { response, body };
  };
  const postJson = (url, payload) =>
    sendJson(url, {
      method: "POST",
      headers: { "Content-Type": "application/json", "X-CSRFToken": form.elements.csrfmiddlewaretoken.value },
      body: JSON.stringify(payload),
    });

  const running = (detector) => format(gettext("Running %(detector)s on the reviewed pages…"), { detector });

  // Poll an inference job until it is done (its result) or failed (its error).
  async function jobResult(job, detector) {
    while (job.status === "pending" || job.status === "running") {
      status.textContent = `${running(detector)} ${Math.round(job.progress * 100)} %`;
      await new Promise((resolve) => setTimeout(resolve, POLL_MS));
      job = (await sendJson(job.url)).body;
    }
    if (job.status !== "done") throw new Error(job.error || job.status);
    return job.result;
  }

  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const detector = new FormData(form).get("detector");
    const button = form.querySelector("button");
    button.disabled = true;
    status.textContent = running(detector);
    try {
      const started = await postJson(section.dataset.evaluationUrl, { document: Number(section.dataset.document), detector });
      const body = await jobResult(started.body, detector);
      const colour = COLOURS[(chart.data.datasets.length / 2) % COLOURS.length];
      chart.data.datasets.push(...datasets(body, format(gettext("%(detector)s (fresh)"), { detector: body.detector }), colour));
      chart.update();
      canvas.dataset.curves = String(chart.data.datasets.length / 2);
      addColumn(body);
      status.textContent = format(ngettext("%(detector)s: AP@0.5 %(ap)s on %(n)s page.", "%(detector)s: AP@0.5 %(ap)s on %(n)s pages.", body.pages), {
        detector,
        ap: fmt(body.detection.ap50),
        n: body.pages,
      });
    } catch (err) {
      status.textContent = format(gettext("Evaluation failed: %(error)s"), { error: err.message });
    } finally {
      button.disabled = false;
    }
  });
})();

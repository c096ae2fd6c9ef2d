// Statistics page: faces per year for the search in the URL, drawn with Chart.js (vendored UMD
// build, global `Chart`), plus the numbers as a table and a CSV download of the same query.
(function () {
  "use strict";
  const root = document.getElementById("stats");
  const form = document.getElementById("search-form");
  if (!root || !form || typeof Chart === "undefined") return;

  const WOMEN = "#c2185b";
  const MEN = "#5b7fb5";
  const UNKNOWN = "#9aa0a6";
  const CORRECTED = "#6a1b9a";
  const CORRECTED_BAND = "rgba(106, 27, 154, 0.15)";
  const LANG = document.documentElement.lang || "en";
  const number = (value, digits) => value.toLocaleString(LANG, { minimumFractionDigits: digits, maximumFractionDigits: digits });
  const format = (text, values) => interpolate(text, values, true);
  const params = new URLSearchParams(window.location.search);
  // A search's URL works here: its own parameters (result order, pages, view) are not filters, and
  // the statistics API refuses parameters it does not take.
  for (const name of ["ordering", "page", "page_size", "view"]) params.delete(name);

  for (const [name, value] of params) {
    const field = form.elements.namedItem(name);
    if (!field || field instanceof RadioNodeList) continue;
    if (field.type === "checkbox") field.checked = value === field.value;
    else field.value = value;
  }
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    const query = new URLSearchParams();
    for (const [name, value] of new FormData(form)) {
      if (String(value).trim() !== "") query.set(name, String(value).trim());
    }
    window.location.search = query.toString();
  });

  const query = params.toString();
  const csv = new URLSearchParams(params);
  csv.set("format", "csv");
  document.getElementById("csv-link").href = root.dataset.statsUrl + "?" + csv;
  // The correction is the statistics' own parameter, which the search API refuses.
  const search = new URLSearchParams(params);
  search.delete("gender_correction");
  document.getElementById("search-link").href = root.dataset.searchUrl + (search.toString() ? "?" + search : "");

  const percentOf = (share) => (share === null ? null : Math.round(share * 1000) / 10);
  // Charts draw once, at the final size, so tests and screenshots see settled pixels.
  const common = { animation: false, responsive: true, maintainAspectRatio: false, locale: LANG };

  function draw(id, config) {
    const chart = new Chart(document.getElementById(id), config);
    chart.canvas.dataset.drawn = "true";
    return chart;
  }

  function render(body) {
    const rows = body.results.filter((row) => row.year !== null);
    // Only when the correction was asked for (it reads every curated face of the reviewed pages).
    const asked = "gender_correction" in body;
    const correction = body.gender_correction || { available: false, reason: "" };
    document.getElementById("th-corrected").hidden = !asked;
    const years = rows.map((row) => String(row.year));
    const totals = body.totals;
    draw("chart-share", {
      type: "bar",
      data: {
        labels: years,
        datasets: [
          { label: gettext("Women"), data: rows.map((row) => percentOf(row.female_share)), backgroundColor: WOMEN },
          { label: gettext("Men"), data: rows.map((row) => percentOf(row.male_share)), backgroundColor: MEN },
        ],
      },
      options: {
        ...common,
        scales: { x: { stacked: true }, y: { stacked: true, min: 0, max: 100, title: { display: true, text: "%" } } },
      },
    });
    draw("chart-pie", {
      type: "pie",
      data: {
        labels: [gettext("Women"), gettext("Men"), gettext("Unknown")],
        datasets: [{ data: [totals.female, totals.male, totals.unknown], backgroundColor: [WOMEN, MEN, UNKNOWN] }],
      },
      options: common,
    });
    draw("chart-faces", {
      type: "bar",
      data: {
        labels: years,
        datasets: [
          { label: gettext("Faces"), data: rows.map((row) => row.faces), backgroundColor: "#0b57d0", order: 2 },
          { label: gettext("Pages with faces"), data: rows.map((row) => row.pages_with_faces), type: "line", borderColor: "#b06000", backgroundColor: "#b06000", order: 1 },
        ],
      },
      options: common,
    });
    draw("chart-average", {
      type: "line",
      data: {
        labels: years,
        datasets: [{ label: gettext("Faces per page"), data: rows.map((row) => row.faces_per_page), borderColor: "#137333", backgroundColor: "#137333", spanGaps: true }],
      },
      options: { ...common, scales: { y: { min: 0 } } },
    });

    // Curated (a curator stood behind the face) and predicted (only a model says so) apart.
    draw("chart-sources", {
      type: "bar",
      data: {
        labels: years,
        datasets: [
          { label: gettext("Curated"), data: rows.map((row) => row.curated_faces), backgroundColor: "#137333" },
          { label: gettext("Predicted"), data: rows.map((row) => row.predicted_faces), backgroundColor: "#f9ab00" },
        ],
      },
      options: { ...common, scales: { x: { stacked: true }, y: { stacked: true, min: 0 } } },
    });
    draw("chart-curated-share", {
      type: "line",
      data: {
        labels: years,
        datasets: [
          { label: gettext("Women, curated faces"), data: rows.map((row) => percentOf(row.curated_female_share)), borderColor: WOMEN, backgroundColor: WOMEN, spanGaps: true },
          { label: gettext("Women, all faces"), data: rows.map((row) => percentOf(row.female_share)), borderColor: UNKNOWN, backgroundColor: UNKNOWN, borderDash: [4, 4], spanGaps: true },
          ...(correction.available
            ? [
                { label: gettext("Women, corrected estimate"), data: rows.map((row) => percentOf(row.corrected_female_share)), borderColor: CORRECTED, backgroundColor: CORRECTED, spanGaps: true },
                { label: gettext("95 % interval"), data: rows.map((row) => percentOf(row.corrected_female_share_low)), borderColor: "transparent", pointRadius: 0, spanGaps: true },
                { label: gettext("95 % interval"), data: rows.map((row) => percentOf(row.corrected_female_share_high)), borderColor: "transparent", backgroundColor: CORRECTED_BAND, fill: "-1", pointRadius: 0, spanGaps: true },
              ]
            : []),
        ],
      },
      options: {
        ...common,
        scales: { y: { min: 0, max: 100, title: { display: true, text: "%" } } },
        // The interval's two edges draw a band, not lines of their own: no legend entry.
        plugins: { legend: { labels: { filter: (item) => item.datasetIndex < 3 } } },
      },
    });
    showCorrection(correction, totals);

    const tbody = document.querySelector("#stats-table tbody");
    tbody.replaceChildren(
      ...body.results.map((row) => {
        const tr = document.createElement("tr");
        const cells = [
          row.year === null ? "undated" : row.year,
          row.pages,
          row.pages_with_faces,
          row.faces,
          row.female,
          row.male,
          row.child,
          row.unknown,
          row.female_share === null ? "–" : number(percentOf(row.female_share), 1) + "\u00a0%",
          row.faces_per_page === null ? "–" : number(row.faces_per_page, 2),
          row.curated_faces.toLocaleString(LANG),
          row.predicted_faces.toLocaleString(LANG),
          row.curated_share === null ? "–" : number(percentOf(row.curated_share), 1) + "\u00a0%",
          row.curated_female_share === null ? "–" : number(percentOf(row.curated_female_share), 1) + "\u00a0%",
        ];
        if (asked) {
          cells.push(
            row.corrected_female_share === null
              ? "–"
              : format(gettext("%(share)s (%(low)s–%(high)s)"), {
                  share: number(percentOf(row.corrected_female_share), 1) + "\u00a0%",
                  low: number(percentOf(row.corrected_female_share_low), 1),
                  high: number(percentOf(row.corrected_female_share_high), 1),
                })
          );
        }
        for (const value of cells) {
          const td = document.createElement("td");
          td.textContent = String(value);
          tr.append(td);
        }
        return tr;
      })
    );
    const counts = { faces: totals.faces.toLocaleString(LANG), pages: totals.pages.toLocaleString(LANG) };
    document.getElementById("stats-summary").textContent =
      totals.female_share === null
        ? format(gettext("%(faces)s faces on %(pages)s pages"), counts)
        : format(gettext("%(faces)s faces on %(pages)s pages, %(share)s % women"), {
            ...counts,
            share: number(percentOf(totals.female_share), 1),
          });
    const curated = {
      curated: totals.curated_faces.toLocaleString(LANG),
      predicted: totals.predicted_faces.toLocaleString(LANG),
    };
    const curatedShare =
      totals.curated_share === null
        ? format(gettext("%(curated)s curated, %(predicted)s predicted and not yet reviewed"), curated)
        : format(gettext("%(curated)s curated (%(share)s % of the faces), %(predicted)s predicted and not yet reviewed"), {
            ...curated,
            share: number(percentOf(totals.curated_share), 1),
          });
    const curatedWomen =
      totals.curated_female_share === null
        ? ""
        : format(gettext("; among curated faces %(share)s % women"), { share: number(percentOf(totals.curated_female_share), 1) });
    document.getElementById("stats-curated").textContent = curatedShare + curatedWomen + ".";
    root.dataset.loaded = "true";
  }

  // How the model's errors were measured, or why the share is not corrected.
  function showCorrection(correction, totals) {
    const hint = document.getElementById("stats-correction");
    if (!correction.available) {
      hint.textContent = correction.reason;
      hint.hidden = !correction.reason;
      return;
    }
    const measured = format(
      gettext(
        "The model's readings are corrected for its errors measured on %(faces)s faces curated on %(pages)s reviewed pages, where it read %(women)s % of women as women and %(men)s % of men as women. It assumes these pages are like the others."
      ),
      {
        faces: (correction.women + correction.men).toLocaleString(LANG),
        pages: correction.pages.toLocaleString(LANG),
        women: number(percentOf(correction.women_read_as_women), 1),
        men: number(percentOf(correction.men_read_as_women), 1),
      }
    );
    const whole =
      totals.corrected_female_share === null
        ? ""
        : format(gettext("Corrected estimate, whole period: %(share)s % women (95 % interval %(low)s–%(high)s %)."), {
            share: number(percentOf(totals.corrected_female_share), 1),
            low: number(percentOf(totals.corrected_female_share_low), 1),
            high: number(percentOf(totals.corrected_female_share_high), 1),
          }) + " ";
    hint.textContent = whole + measured;
    hint.hidden = false;
  }

  fetch(root.dataset.statsUrl + (query ? "?" + query : ""), { headers: { Accept: "application/json" } })
    .then(async (response) => {
      const body = await response.json();
      if (!response.ok) {
        const error = document.getElementById("stats-error");
        error.textContent = Object.entries(body).map(([key, messages]) => key + ": " + [].concat(messages).join(" ")).join("; ");
        error.hidden = false;
        document.getElementById("stats-summary").textContent = gettext("No statistics");
        return;
      }
      render(body);
    })
    .catch((err) => {
      const error = document.getElementById("stats-error");
      error.textContent = format(gettext("The statistics failed: %(error)s"), { error: err.message });
      error.hidden = false;
    });
})();

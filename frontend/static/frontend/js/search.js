// Search page: the URL's query string is the search (shareable; the back button works because
// every change is a navigation). The form mirrors it; results come from the search API.
(function () {
  "use strict";
  const root = document.getElementById("search-results");
  const form = document.getElementById("search-form");
  if (!root || !form) return;

  const LABELS = { female: gettext("Woman"), male: gettext("Man"), unknown: gettext("Unknown") };
  const LANG = document.documentElement.lang || "en";
  const fixed = (value, digits) => value.toLocaleString(LANG, { minimumFractionDigits: digits, maximumFractionDigits: digits });
  const format = (text, values) => interpolate(text, values, true);
  const params = new URLSearchParams(window.location.search);
  // faces and review both list faces; review makes them a keyboard review grid (facegrid.js).
  const view = ["faces", "review"].includes(params.get("view")) ? params.get("view") : "pages";
  // The review grid opens on the faces whose gender the model was least sure of, a screenful at once.
  const REVIEW_DEFAULTS = { ordering: "gender_confidence", page_size: "100" };
  const pageNumber = Math.max(1, parseInt(params.get("page") || "1", 10) || 1);

  // The API's filters: everything in the URL but our own view switch.
  function apiQuery() {
    const query = new URLSearchParams(params);
    query.delete("view");
    if (view === "review") {
      for (const [key, value] of Object.entries(REVIEW_DEFAULTS)) if (!query.has(key)) query.set(key, value);
    }
    return query;
  }

  function fillForm() {
    for (const [name, value] of params) {
      const field = form.elements.namedItem(name);
      if (!field || field instanceof RadioNodeList) continue;
      if (field.type === "checkbox") field.checked = value === field.value;
      else field.value = value;
    }
    if ([...params.keys()].some((key) => ["review_status", "source", "person", "min_density", "max_density"].includes(key))) {
      form.querySelector("details.more-filters").open = true;
    }
  }

  // Submitting navigates to a clean URL: empty fields left out, back to the first page of results.
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    const query = new URLSearchParams();
    for (const [name, value] of new FormData(form)) {
      if (String(value).trim() !== "") query.set(name, String(value).trim());
    }
    if (view !== "pages") query.set("view", view);
    window.location.search = query.toString();
  });

  function urlWith(changes) {
    const query = new URLSearchParams(params);
    for (const [key, value] of Object.entries(changes)) {
      if (value === null) query.delete(key);
      else query.set(key, value);
    }
    return "?" + query.toString();
  }

  function el(tag, attrs, children) {
    const node = document.createElement(tag);
    for (const [key, value] of Object.entries(attrs || {})) {
      if (key === "text") node.textContent = value;
      else if (key === "style") Object.assign(node.style, value);
      else node.setAttribute(key, value);
    }
    for (const child of children || []) if (child) node.append(child);
    return node;
  }

  function reviewUrl(pageId, faceId) {
    const url = root.dataset.pageUrl.replace(/0\/$/, pageId + "/");
    return faceId ? url + "?face=" + faceId : url;
  }

  function percent(value, total) {
    return (100 * value) / total + "%";
  }

  function pageCard(page) {
    const boxes = page.faces.map((face) =>
      el("span", {
        class: "face-box gender-" + (face.child ? "child" : face.gender),
        title: (face.child ? gettext("Child") : LABELS[face.gender]) + " · " + fixed(face.confidence, 2),
        style: {
          left: percent(face.x, page.width),
          top: percent(face.y, page.height),
          width: percent(face.w, page.width),
          height: percent(face.h, page.height),
        },
      })
    );
    const title = page.document_label || format(gettext("Document %(id)s"), { id: page.document });
    const frame = el("span", { class: "thumb-frame", style: { aspectRatio: page.width + " / " + page.height } }, [
      el("img", { src: page.thumbnail_url, alt: format(gettext("%(title)s, page %(page)s"), { title, page: page.label || page.order }), loading: "lazy" }),
      ...boxes,
    ]);
    const counts = el("span", { class: "result-faces" }, [
      el("strong", { text: String(page.matching_faces) }),
      " " + format(ngettext("matching of %(n)s face", "matching of %(n)s faces", page.face_count), { n: page.face_count }) + " · ",
      el("span", { class: "gender-female", text: "♀\u00a0" + page.female_count }),
      " ",
      el("span", { class: "gender-male", text: "♂\u00a0" + page.male_count }),
      page.child_count ? el("span", { class: "gender-child", text: " " + gettext("child") + "\u00a0" + page.child_count }) : null,
    ]);
    const firstFace = page.faces.length ? page.faces[0].id : null;
    return el("li", { class: "result-card", "data-page-id": page.id }, [
      el("a", { href: reviewUrl(page.id, firstFace), class: "result-link" }, [
        frame,
        el("span", { class: "result-title", text: title }),
        el("span", { class: "result-meta", text: [page.date_text || gettext("undated"), page.label || format(gettext("p. %(n)s"), { n: page.order })].join(" · ") }),
        counts,
      ]),
    ]);
  }

  function faceCard(face) {
    const who = face.child ? gettext("Child") : LABELS[face.gender];
    const details = [who];
    if (face.age !== null) details.push(format(gettext("%(age)s y"), { age: Math.round(face.age) }));
    details.push(format(gettext("conf. %(confidence)s"), { confidence: fixed(face.confidence, 2) }));
    return el("li", { class: "face-card", "data-face-id": face.id }, [
      el("a", { href: reviewUrl(face.page, face.id) }, [
        el("img", { src: face.crop_url, alt: face.document_label ? format(gettext("%(who)s face on %(document)s"), { who, document: face.document_label }) : format(gettext("%(who)s face on a page"), { who }), loading: "lazy" }),
        el("span", { class: "face-meta gender-" + (face.child ? "child" : face.gender), text: details.join(" · ") }),
        el("span", {
          class: "face-doc",
          text: (face.document_label || "") + " · " + (face.document_date || gettext("undated")) + " · " + (face.page_label || format(gettext("p. %(n)s"), { n: face.page_order })),
        }),
      ]),
    ]);
  }

  function showPager(count, pageSize) {
    const pages = Math.max(1, Math.ceil(count / pageSize));
    const prev = document.getElementById("prev-results");
    const next = document.getElementById("next-results");
    prev.hidden = pageNumber <= 1;
    next.hidden = pageNumber >= pages;
    prev.href = urlWith({ page: pageNumber > 2 ? String(pageNumber - 1) : null });
    next.href = urlWith({ page: String(pageNumber + 1) });
    document.getElementById("results-page").textContent = count ? format(gettext("Page %(page)s of %(pages)s"), { page: pageNumber, pages }) : "";
  }

  async function load() {
    const countEl = document.getElementById("result-count");
    const errorEl = document.getElementById("search-error");
    const grid = document.getElementById("result-grid");
    grid.className = "result-grid " + (view === "pages" ? "pages-grid" : "faces-grid");
    const url = (view === "pages" ? root.dataset.pagesUrl : root.dataset.facesUrl) + "?" + apiQuery().toString();
    try {
      const response = await fetch(url, { headers: { Accept: "application/json" } });
      const body = await response.json();
      if (!response.ok) {
        // Bad filters come back as {field: [messages]}: name them next to the form.
        errorEl.textContent = Object.entries(body).map(([key, messages]) => key + ": " + [].concat(messages).join(" ")).join("; ");
        errorEl.hidden = false;
        countEl.textContent = gettext("No search");
        return;
      }
      const noun = view !== "pages" ? ngettext("%(n)s face", "%(n)s faces", body.count) : ngettext("%(n)s page", "%(n)s pages", body.count);
      countEl.textContent = format(noun, { n: body.count.toLocaleString(LANG) });
      if (view === "review") {
        document.getElementById("grid-help").hidden = false;
        window.visagesFaceGrid.mount(grid, body.results, {
          bulkUrl: root.dataset.bulkUrl,
          statusEl: document.getElementById("grid-status"),
          reviewUrl,
        });
      } else {
        grid.replaceChildren(...body.results.map(view === "faces" ? faceCard : pageCard));
      }
      const pageSize = view === "review" ? REVIEW_DEFAULTS.page_size : "50";
      showPager(body.count, Math.max(body.results.length, parseInt(params.get("page_size") || pageSize, 10)));
      root.dataset.loaded = "true";
    } catch (err) {
      errorEl.textContent = format(gettext("The search failed: %(error)s"), { error: err.message });
      errorEl.hidden = false;
    }
  }

  fillForm();
  const pagesLink = document.getElementById("view-pages");
  const facesLink = document.getElementById("view-faces");
  const reviewLink = document.getElementById("view-review");
  pagesLink.href = urlWith({ view: null, page: null });
  facesLink.href = urlWith({ view: "faces", page: null });
  // The grid is for faces still to review: untouched model faces, unless the search names a source.
  if (reviewLink) reviewLink.href = urlWith({ view: "review", page: null, source: params.get("source") || "model" });
  ({ pages: pagesLink, faces: facesLink, review: reviewLink })[view]?.setAttribute("aria-current", "page");
  // The statistics take the filters only: no result order or pages.
  const filters = apiQuery();
  for (const name of ["page", "page_size", "ordering"]) filters.delete(name);
  document.getElementById("stats-link").href = root.dataset.statsUrl + (filters.toString() ? "?" + filters : "");
  load();
})();

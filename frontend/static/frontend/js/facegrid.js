// Review grid: the face results of a search as tiles reviewed from the keyboard (#17). Every action
// is one versioned bulk write (POST /api/faces/bulk/) over the selection, or over the focused tile
// when nothing is selected. A face someone changed since the grid loaded answers `conflict`: its
// tile shows it (and now holds the face as it is) while the others go through. Each write is a
// batch the server can undo; Ctrl+Z undoes the last one with the versions that batch answered.
//
// Keys were chosen for ≤ 1.2 keys per face when reviewing a predicted gender: the grid opens on the
// least confident faces; a wrong face takes one key (f/m/u sets its gender and moves on), a right
// one takes none, since Enter accepts every tile of the screen nobody touched yet.
(function () {
  "use strict";
  // Django's JS catalog provides these once it is loaded; until then strings show as written.
  const gettext = window.gettext || ((text) => text);
  const ngettext = window.ngettext || ((singular, plural, count) => (count === 1 ? singular : plural));
  const interpolate = window.interpolate || ((format, values) => {
    let n = 0;
    return format.replace(/%s/g, () => String(values[n++]));
  });

  const GENDER_KEYS = { f: "female", m: "male", u: "unknown" };
  const GENDER_LABELS = { female: gettext("Woman"), male: gettext("Man"), unknown: gettext("Unknown") };
  const STATUS_LABELS = {
    predicted: gettext("predicted"),
    accepted: gettext("accepted"),
    edited: gettext("edited"),
    added: gettext("added"),
    rejected: gettext("rejected"),
  };
  // Where the face's page stands in review: a change to a reviewed page's face is a change to signed-off work.
  const PAGE_STATUS_LABELS = {
    unreviewed: gettext("Page not reviewed"),
    in_review: gettext("Page in review"),
    reviewed: gettext("Page reviewed"),
  };
  const OUTCOME_NOTES = {
    conflict: gettext("Changed by someone else: this is the face as it is now."),
    not_found: gettext("This face is gone."),
    forbidden: gettext("You may not change faces of this corpus."),
  };

  function csrfToken() {
    const match = document.cookie.match(/(?:^|;\s*)csrftoken=([^;]+)/);
    return match ? decodeURIComponent(match[1]) : "";
  }

  function el(tag, attrs, children) {
    const node = document.createElement(tag);
    for (const [key, value] of Object.entries(attrs || {})) {
      if (key === "text") node.textContent = value;
      else node.setAttribute(key, value);
    }
    for (const child of children || []) if (child) node.append(child);
    return node;
  }

  class FaceGrid {
    constructor(list, faces, { bulkUrl, statusEl, reviewUrl }) {
      this.list = list;
      this.bulkUrl = bulkUrl;
      this.statusEl = statusEl;
      this.reviewUrl = reviewUrl;
      // One tile per face: the face as the server last answered it, and whether this grid changed it.
      this.tiles = faces.map((face) => ({ face, touched: false, outcome: "" }));
      this.byId = new Map(this.tiles.map((tile) => [tile.face.id, tile]));
      this.focus = 0;
      this.anchor = 0;
      this.selected = new Set();
      this.batches = [];
      // Writes go one after the other, each built when its turn comes, so it names the versions
      // the writes before it answered (two quick keys on one face are not a conflict with oneself).
      this.queue = Promise.resolve();
      this.pending = 0;
      this.keys = 0;
      this.render();
      list.addEventListener("keydown", (event) => this.onKey(event));
      list.addEventListener("click", (event) => this.onClick(event));
    }

    render() {
      this.list.className = "result-grid faces-grid review-grid";
      this.list.setAttribute("role", "listbox");
      this.list.setAttribute("aria-multiselectable", "true");
      this.list.setAttribute("aria-label", gettext("Faces to review"));
      this.list.tabIndex = 0;
      this.list.replaceChildren(...this.tiles.map((tile, index) => this.tileElement(tile, index)));
      this.showFocus();
    }

    tileElement(tile, index) {
      const face = tile.face;
      const who = GENDER_LABELS[face.gender] || face.gender;
      // The model's confidence while its gender stands unreviewed; a curator's gender is certain.
      const shown = face.status === "predicted" && face.gender_confidence !== null;
      const confidence = shown ? " · " + face.gender_confidence.toFixed(2) : "";
      const flags = [STATUS_LABELS[face.status] || face.status];
      if (face.child) flags.unshift(gettext("child"));
      const node = el(
        "li",
        {
          id: "tile-" + face.id,
          class: "grid-tile gender-" + face.gender + (face.child ? " is-child" : ""),
          role: "option",
          "aria-selected": String(this.selected.has(index)),
          "data-face-id": String(face.id),
          "data-index": String(index),
          "data-gender": face.gender,
          "data-status": face.status,
          "data-outcome": tile.outcome,
          "data-touched": String(tile.touched),
          "data-page-status": face.page_review_status,
        },
        [
          el("img", { src: face.crop_url, alt: interpolate(gettext("%s face"), [who]), loading: "lazy" }),
          el("span", { class: "tile-gender", text: who + confidence }),
          el("span", { class: "tile-flags", text: flags.join(" · ") }),
          el("span", {
            class: "tile-page page-" + face.page_review_status,
            text: PAGE_STATUS_LABELS[face.page_review_status] || face.page_review_status,
          }),
          tile.outcome ? el("span", { class: "tile-note", text: OUTCOME_NOTES[tile.outcome] || "" }) : null,
        ]
      );
      return node;
    }

    redraw(tile) {
      const index = this.tiles.indexOf(tile);
      const old = this.list.children[index];
      const fresh = this.tileElement(tile, index);
      if (old.classList.contains("is-focused")) fresh.classList.add("is-focused");
      old.replaceWith(fresh);
    }

    showFocus() {
      for (const node of this.list.querySelectorAll(".is-focused")) node.classList.remove("is-focused");
      const node = this.list.children[this.focus];
      if (!node) return;
      node.classList.add("is-focused");
      this.list.setAttribute("aria-activedescendant", node.id);
      node.scrollIntoView({ block: "nearest" });
    }

    showSelection() {
      for (const [index, node] of [...this.list.children].entries()) {
        node.setAttribute("aria-selected", String(this.selected.has(index)));
      }
    }

    // Tiles per row, read from the layout (the grid reflows with the window).
    columns() {
      const nodes = this.list.children;
      if (!nodes.length) return 1;
      const top = nodes[0].offsetTop;
      let n = 0;
      while (n < nodes.length && nodes[n].offsetTop === top) n += 1;
      return Math.max(1, n);
    }

    moveTo(index, extend) {
      this.focus = Math.max(0, Math.min(this.tiles.length - 1, index));
      if (extend) {
        this.selected = new Set();
        const [low, high] = [Math.min(this.anchor, this.focus), Math.max(this.anchor, this.focus)];
        for (let i = low; i <= high; i += 1) this.selected.add(i);
      } else {
        this.anchor = this.focus;
      }
      this.showSelection();
      this.showFocus();
    }

    // The tiles an action applies to: the selection, or the focused tile when nothing is selected.
    targets() {
      const indices = this.selected.size ? [...this.selected].sort((a, b) => a - b) : [this.focus];
      return indices.filter((index) => index < this.tiles.length);
    }

    onClick(event) {
      const node = event.target.closest(".grid-tile");
      if (!node) return;
      const index = Number(node.dataset.index);
      if (event.ctrlKey || event.metaKey) {
        if (this.selected.has(index)) this.selected.delete(index);
        else this.selected.add(index);
        this.focus = index;
        this.anchor = index;
        this.showSelection();
        this.showFocus();
      } else {
        this.moveTo(index, event.shiftKey);
      }
      this.list.focus();
    }

    onKey(event) {
      if (event.altKey) return;
      const key = event.key;
      const ctrl = event.ctrlKey || event.metaKey;
      const steps = { ArrowLeft: -1, ArrowRight: 1, ArrowUp: -this.columns(), ArrowDown: this.columns() };
      let handled = true;
      if (key in steps && !ctrl) {
        this.moveTo(this.focus + steps[key], event.shiftKey);
      } else if (key === "Home" || key === "End") {
        this.moveTo(key === "Home" ? 0 : this.tiles.length - 1, event.shiftKey);
      } else if (ctrl && key.toLowerCase() === "z") {
        this.undo();
      } else if (ctrl && key.toLowerCase() === "a") {
        this.selected = new Set(this.tiles.keys());
        this.showSelection();
      } else if (ctrl) {
        handled = false;
      } else if (key === " ") {
        if (this.selected.has(this.focus)) this.selected.delete(this.focus);
        else this.selected.add(this.focus);
        this.anchor = this.focus;
        this.showSelection();
      } else if (key === "Escape") {
        this.selected = new Set();
        this.showSelection();
      } else if (key.toLowerCase() in GENDER_KEYS) {
        this.apply("set_gender", GENDER_KEYS[key.toLowerCase()]);
      } else if (key.toLowerCase() === "c") {
        const targets = this.targets();
        // One key for the whole selection: child unless every target already is one.
        const value = !targets.every((index) => this.tiles[index].face.child);
        this.apply("set_child", value);
      } else if (key.toLowerCase() === "a") {
        this.apply("accept");
      } else if (key.toLowerCase() === "x") {
        this.apply("reject");
      } else if (key === "Enter") {
        this.acceptUntouched();
      } else if (key.toLowerCase() === "o") {
        const face = this.tiles[this.focus].face;
        window.location.href = this.reviewUrl(face.page, face.id);
      } else {
        handled = false;
      }
      if (handled) {
        this.keys += 1;
        event.preventDefault();
      }
    }

    // Set, accept or reject the targets, then go on to the tile after the last of them.
    apply(action, value) {
      const indices = this.targets();
      this.write(action, value, indices.map((index) => this.tiles[index]));
      this.selected = new Set();
      this.moveTo(Math.min(this.tiles.length - 1, indices[indices.length - 1] + 1), false);
    }

    // Enter: accept every predicted tile of this screen nobody touched in this grid.
    acceptUntouched() {
      const tiles = this.tiles.filter((tile) => !tile.touched && !tile.outcome && tile.face.status === "predicted");
      if (!tiles.length) {
        this.say(gettext("Nothing left to accept on this screen."));
        return;
      }
      this.write("accept", undefined, tiles);
    }

    write(action, value, tiles) {
      const ids = tiles.map((tile) => tile.face.id);
      // Touched from the key on, so an Enter pressed before the answer leaves these tiles alone.
      const touched = new Map(tiles.map((tile) => [tile.face.id, tile.touched]));
      for (const tile of tiles) {
        tile.touched = true;
        this.list.children[this.tiles.indexOf(tile)].classList.add("is-pending");
      }
      this.enqueue(async () => {
        const body = { action, faces: tiles.map((tile) => ({ id: tile.face.id, version: tile.face.version })) };
        if (value !== undefined) body.value = value;
        const data = await this.post(body);
        if (!data) {
          for (const tile of tiles) tile.touched = touched.get(tile.face.id);
          return;
        }
        // A write that changed nothing has nothing to undo.
        if (data.updated) {
          const faces = data.results.filter((r) => r.status === "ok").map((r) => ({ id: r.id, version: r.face.version }));
          this.batches.push({ batch: data.batch, touched, faces });
        }
        const ok = this.show(data);
        this.showPages(data.pages);
        this.summarise(action, value, ok, ids.length - ok);
      });
    }

    undo() {
      this.enqueue(async () => {
        const last = this.batches.pop();
        if (!last) {
          this.say(gettext("Nothing to undo."));
          return;
        }
        const data = await this.post({ action: "undo", batch: last.batch, faces: last.faces });
        if (!data) {
          this.batches.push(last);
          return;
        }
        const ok = this.show(data);
        this.showPages(data.pages);
        for (const result of data.results) {
          if (result.status === "ok") this.byId.get(result.id).touched = last.touched.get(result.id);
        }
        for (const result of data.results) this.redraw(this.byId.get(result.id));
        const failed = data.results.length - ok;
        this.say(
          failed
            ? interpolate(ngettext("Undone on %s face;", "Undone on %s faces;", ok), [ok]) +
                " " +
                interpolate(ngettext("%s changed by someone else since.", "%s changed by someone else since.", failed), [failed])
            : interpolate(ngettext("Undone on %s face.", "Undone on %s faces.", ok), [ok])
        );
      });
    }

    enqueue(job) {
      this.pending += 1;
      this.queue = this.queue
        .then(job)
        .catch((error) => this.say(interpolate(gettext("Not saved: %s"), [error.message])))
        .finally(() => {
          this.pending -= 1;
        });
      return this.queue;
    }

    // Resolves once every write asked for so far has been answered.
    idle() {
      return this.queue;
    }

    async post(body) {
      const response = await fetch(this.bulkUrl, {
        method: "POST",
        credentials: "same-origin",
        headers: { "Content-Type": "application/json", Accept: "application/json", "X-CSRFToken": csrfToken() },
        body: JSON.stringify(body),
      });
      if (response.ok) return response.json();
      const detail = await response.json().catch(() => ({}));
      for (const node of this.list.querySelectorAll(".is-pending")) node.classList.remove("is-pending");
      this.say(interpolate(gettext("Not saved (%s): %s"), [response.status, detail.detail || JSON.stringify(detail)]));
      return null;
    }

    // Put each answered face on its tile; returns how many were ok.
    show(data) {
      let ok = 0;
      for (const result of data.results) {
        const tile = this.byId.get(result.id);
        if (!tile) continue;
        if (result.status === "ok") {
          ok += 1;
          tile.face = { ...tile.face, ...result.face };
          tile.outcome = "";
        } else {
          if (result.current) tile.face = { ...tile.face, ...result.current };
          tile.outcome = result.status;
        }
        this.redraw(tile);
      }
      return ok;
    }

    // The written pages' review status, as the server answered it, on every tile of those pages (a
    // curator's first change puts an unreviewed page in review).
    showPages(pages) {
      const statuses = new Map(pages.map((page) => [page.id, page.review_status]));
      for (const tile of this.tiles) {
        const status = statuses.get(tile.face.page);
        if (status === undefined || status === tile.face.page_review_status) continue;
        tile.face = { ...tile.face, page_review_status: status };
        this.redraw(tile);
      }
    }

    summarise(action, value, ok, failed) {
      const formats = {
        set_gender: ngettext("Gender set to %s on %s face.", "Gender set to %s on %s faces.", ok),
        set_child: value
          ? ngettext("Marked %s face as a child.", "Marked %s faces as children.", ok)
          : ngettext("Unmarked %s face as a child.", "Unmarked %s faces as children.", ok),
        accept: ngettext("Accepted %s face.", "Accepted %s faces.", ok),
        reject: ngettext("Rejected %s face.", "Rejected %s faces.", ok),
      };
      const values = action === "set_gender" ? [GENDER_LABELS[value], ok] : [ok];
      let text = interpolate(formats[action], values);
      if (failed) {
        text += " " + interpolate(ngettext("%s not changed: see the marked tile.", "%s not changed: see the marked tiles.", failed), [failed]);
      }
      this.say(text + " " + gettext("Ctrl+Z undoes it."));
    }

    say(text) {
      this.statusEl.textContent = text;
    }
  }

  window.visagesFaceGrid = {
    mount(list, faces, options) {
      const grid = new FaceGrid(list, faces, options);
      window.visagesFaceGrid.current = grid;
      list.focus();
      return grid;
    },
    current: null,
  };
})();

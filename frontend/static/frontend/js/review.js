// The review canvas's box layer, drawn by us over OpenSeadragon with our own select / move /
// resize / draw handling. Annotorious draws every annotation as its own shape and slows down past
// ~1,000 boxes (DESIGN.md §7, bench/ui_bench.py), so here: a grid index finds the boxes in view,
// their outlines are written as pixels (boxraster.js; dots when too small to see) into a padded
// canvas that a CSS transform moves with the image, and only the selected box is redrawn on every frame.
import { Raster, pixel } from "./boxraster.js";
import {
  GridIndex,
  HANDLES,
  boxAmongNeighbours,
  clampBox,
  clipRect,
  contains,
  grabAt,
  handlePoints,
  hitTest,
  makeTransform,
  moveBox,
  normalizeRect,
  paddedBounds,
  resizeBox,
  toCanvas,
  toScreen,
  visibleRect,
} from "./geometry.js";

export const STATUS_COLOURS = {
  predicted: "#f9ab00",
  accepted: "#1e8e3e",
  edited: "#1a73e8",
  added: "#a142f4",
  rejected: "#d93025",
};
export const GENDER_COLOURS = { female: "#e52592", male: "#12b5cb", unknown: "#9aa0a6" };
const REJECTED_ALPHA = 0.7;
const STATUS_PIXELS = Object.fromEntries(
  Object.entries(STATUS_COLOURS).map(([status, hex]) => [
    status,
    pixel(hex, status === "rejected" ? REJECTED_ALPHA : 1),
  ]),
);
const GENDER_PIXELS = Object.fromEntries(Object.entries(GENDER_COLOURS).map(([gender, hex]) => [gender, pixel(hex)]));
const WHITE_PIXEL = pixel("#ffffff");
const GENDER_LETTERS = { female: pgettext("female, short", "F"), male: pgettext("male, short", "M"), unknown: "?" };
const HANDLE_CURSORS = {
  nw: "nwse-resize", se: "nwse-resize", ne: "nesw-resize", sw: "nesw-resize",
  n: "ns-resize", s: "ns-resize", e: "ew-resize", w: "ew-resize",
};
// The cached box canvas reaches this share of the view beyond each edge, so short pans reuse it.
const CACHE_PAD = 0.25;
// Zooming stretches the cached boxes up to this factor before they are drawn again.
const MAX_CACHE_STRETCH = 1.6;
// A view still for this long gets its boxes redrawn at the exact scale.
const SETTLE_MS = 150;
// Below this many screen pixels a box is drawn as a dot: its outline would be noise.
const DOT_BELOW_PX = 4;
// Labels cost a text draw each; past this many visible boxes they are left out.
const MAX_LABELS = 300;
// A press that moves less than this (screen px) is a click, not a drag.
const DRAG_THRESHOLD_PX = 3;
const PLACED_SIDE_PX = 40;
const MIN_DRAWN_PX = 5;

export class BoxLayer {
  constructor(viewer, { width, height, editable, isShown, onSelect, onGeometry, onDraw }) {
    this.viewer = viewer;
    this.width = width;
    this.height = height;
    this.editable = editable;
    this.isShown = isShown || (() => true);
    this.onSelect = onSelect || (() => {});
    this.onGeometry = onGeometry || (() => {});
    this.onDraw = onDraw || (() => {});
    this.index = new GridIndex(width, height);
    this.selected = null;
    this.drawMode = false;
    this.drag = null;
    this.preview = null;
    this.scheduled = false;
    this.stats = { drawMs: 0, drawn: 0, mode: "boxes" };

    this.dirty = true;
    this.cache = null;
    this.canvas = document.createElement("canvas");
    this.canvas.className = "box-layer";
    this.canvas.setAttribute("aria-hidden", "true");
    this.ctx = this.canvas.getContext("2d");
    this.raster = new Raster();
    this.active = document.createElement("canvas");
    this.active.className = "box-layer";
    this.active.setAttribute("aria-hidden", "true");
    this.activeCtx = this.active.getContext("2d");
    // Hidden while empty: a transparent layer the size of the view still costs compositing every frame.
    this.active.style.display = "none";
    this.activeShown = false;
    viewer.canvas.append(this.canvas, this.active);

    // Drawn in the same frame OpenSeadragon moves the image, so boxes never lag behind it.
    viewer.addHandler("update-viewport", () => this.draw());
    viewer.addHandler("resize", () => this.redraw());
    // Editors' presses on a box never reach OpenSeadragon (see _down); for everyone else a
    // click selects the box under it, or clears the selection.
    viewer.addHandler("canvas-click", (event) => {
      const t = this.transform();
      if (event.quick && !this.drawMode && t) this.onSelect(this._faceAt(event.position, t));
    });
    // Capture phase on the container: we see the press before OpenSeadragon's tracker does and
    // can keep it (box edits) or let it through (panning the image).
    viewer.element.addEventListener("pointerdown", (event) => this._down(event), true);
    viewer.element.addEventListener("pointermove", (event) => this._hover(event));
    this._onMove = (event) => this._move(event);
    this._onUp = (event) => this._up(event);
  }

  setFaces(faces) {
    this.index = new GridIndex(this.width, this.height);
    for (const face of faces) this.index.insert(face);
    this.redraw();
  }

  add(face) {
    this.index.insert(face);
    this.redraw();
  }

  update(face) {
    this.index.update(face);
    this.redraw();
  }

  select(face) {
    this.selected = face;
    this._scheduleActive();
  }

  // Only the active layer changes on selection; the cached boxes stay as they are.
  _scheduleActive() {
    if (this.scheduled) return;
    this.scheduled = true;
    requestAnimationFrame(() => {
      this.scheduled = false;
      this.draw();
    });
  }

  // Where arrow keys have put a box before the burst is saved. Like a drag, it is drawn on the
  // active layer only, so a held arrow key never re-renders the cached boxes.
  setPreview(face, box) {
    const before = this.preview;
    this.preview = face ? { face, box } : null;
    if (before && face && before.face === face) this._scheduleActive();
    else this.redraw(); // takes the box out of (or puts it back into) the cached layer
  }

  setDrawMode(on) {
    this.drawMode = on;
    this.viewer.canvas.style.cursor = on ? "crosshair" : "";
    this._scheduleActive();
  }

  // Screen transform for canvas pixels, or null until the image is open.
  transform() {
    const item = this.viewer.world.getItemAt(0);
    if (!item) return null;
    const size = item.getContentSize();
    const p0 = item.imageToViewerElementCoordinates(new OpenSeadragon.Point(0, 0));
    const p1 = item.imageToViewerElementCoordinates(new OpenSeadragon.Point(size.x, size.y));
    return makeTransform(p0.x, p0.y, (p1.x - p0.x) / this.width, (p1.y - p0.y) / this.height);
  }

  // Canvas-pixel rectangle → OpenSeadragon viewport rectangle.
  _viewportRect(box) {
    const item = this.viewer.world.getItemAt(0);
    const size = item.getContentSize();
    const kx = size.x / this.width;
    const ky = size.y / this.height;
    return item.imageToViewportRectangle(box.x * kx, box.y * ky, box.w * kx, box.h * ky);
  }

  zoomTo(face, immediately = false) {
    if (!this.viewer.world.getItemAt(0)) return;
    this.viewer.viewport.fitBounds(this._viewportRect(paddedBounds(face, 1, this.width, this.height)), immediately);
  }

  // Brings a face into view without changing the zoom, unless it is larger than the view.
  reveal(face) {
    const t = this.transform();
    if (!t) return;
    const view = visibleRect(t, this.viewer.container.clientWidth, this.viewer.container.clientHeight);
    if (contains(view, face)) return;
    if (face.w > view.w * 0.8 || face.h > view.h * 0.8) {
      this.zoomTo(face);
      return;
    }
    this.viewer.viewport.panTo(this._viewportRect(face).getCenter());
  }

  // Where a face is on the page, in client pixels (tests and the benchmark use it).
  clientBox(face) {
    const t = this.transform();
    const rect = this.viewer.element.getBoundingClientRect();
    const s = toScreen(face, t);
    return { x: s.x + rect.left, y: s.y + rect.top, w: s.w, h: s.h };
  }

  // Data changed (edit, filter, selection, drag): re-render the cached boxes on the next frame.
  redraw() {
    this.dirty = true;
    if (this.scheduled) return;
    this.scheduled = true;
    requestAnimationFrame(() => {
      this.scheduled = false;
      this.draw();
    });
  }

  _fit(canvas, ctx, w, h) {
    const ratio = window.devicePixelRatio || 1;
    if (canvas.width !== Math.round(w * ratio) || canvas.height !== Math.round(h * ratio)) {
      canvas.width = Math.round(w * ratio);
      canvas.height = Math.round(h * ratio);
      canvas.style.width = `${w}px`;
      canvas.style.height = `${h}px`;
    }
    ctx.setTransform(ratio, 0, 0, ratio, 0, 0);
  }

  // Called on every frame OpenSeadragon draws. The boxes live in a padded, cached canvas that a
  // CSS transform keeps on the image while panning and zooming (as Leaflet does); it is drawn
  // again only when the view leaves it, the scale drifts, the data changes, or the view settles.
  draw() {
    const started = performance.now();
    const t = this.transform();
    if (!t) return;
    const w = this.viewer.container.clientWidth;
    const h = this.viewer.container.clientHeight;
    let rendered = false;
    if (this.dirty || !this._cacheCovers(t, w, h)) {
      this._renderCache(t, w, h);
      rendered = true;
    } else {
      this._placeCache(t);
    }
    this._drawActive(t, w, h);
    clearTimeout(this.settleTimer);
    if (!rendered) this.settleTimer = setTimeout(() => this._settle(), SETTLE_MS);
    this.stats = { ...this.stats, drawMs: performance.now() - started, rendered };
  }

  // Once the view stops moving, boxes are drawn again at the exact scale (crisp lines, labels).
  _settle() {
    const t = this.transform();
    if (t && this.cache && t.sx !== this.cache.t.sx) this.redraw();
  }

  _cacheCovers(t, w, h) {
    const cache = this.cache;
    if (!cache || cache.w !== w || cache.h !== h) return false;
    const k = t.sx / cache.t.sx;
    if (!(k > 1 / MAX_CACHE_STRETCH && k < MAX_CACHE_STRETCH)) return false;
    // Boxes live on the page only: what must be cached is the part of the view the page covers.
    const needed = clipRect(visibleRect(t, w, h), { x: 0, y: 0, w: this.width, h: this.height });
    return !needed || contains(cache.rect, needed);
  }

  _placeCache(t) {
    const cache = this.cache;
    const k = t.sx / cache.t.sx;
    const x = t.ox - (cache.t.ox - cache.left) * k;
    const y = t.oy - (cache.t.oy - cache.top) * k;
    this.canvas.style.transform = `translate(${x}px, ${y}px) scale(${k})`;
  }

  _renderCache(t, w, h) {
    this.dirty = false;
    const padX = Math.round(w * CACHE_PAD);
    const padY = Math.round(h * CACHE_PAD);
    // The view padded on every side, cut to the page: with the whole page in view, the canvas
    // (composited on every frame) is the page's size, not the padded view's.
    const page = toScreen({ x: 0, y: 0, w: this.width, h: this.height }, t);
    const left = Math.max(-padX, Math.floor(page.x));
    const top = Math.max(-padY, Math.floor(page.y));
    const cw = Math.max(1, Math.min(w + padX, Math.ceil(page.x + page.w)) - left);
    const ch = Math.max(1, Math.min(h + padY, Math.ceil(page.y + page.h)) - top);
    this._fit(this.canvas, this.ctx, cw, ch);
    this.canvas.style.transform = `translate(${left}px, ${top}px)`;
    const ctx = this.ctx;
    // Drawing transform: the cache's (0, 0) is the screen's (left, top).
    const ct = makeTransform(t.ox - left, t.oy - top, t.sx, t.sy);
    const rect = visibleRect(ct, cw, ch);
    const dragged = this.drag && this.drag.moved && this.drag.face;
    const previewed = this.preview && this.preview.face;
    const items = this.index
      .query(rect)
      .filter((face) => face !== dragged && face !== previewed && this.isShown(face));
    const byStatus = new Map();
    let small = 0;
    for (const face of items) {
      let group = byStatus.get(face.status);
      if (!group) byStatus.set(face.status, (group = []));
      group.push(face);
      if (Math.min(face.w * t.sx, face.h * t.sy) < DOT_BELOW_PX) small += 1;
    }
    const asDots = small > items.length / 2;
    this.raster.reset(this.canvas.width, this.canvas.height);
    const ratio = this.canvas.width / cw;
    if (asDots) this._drawDots(byStatus, ct, ratio);
    else this._drawBoxes(byStatus, items, ct, ratio);
    ctx.putImageData(this.raster.image, 0, 0);
    if (!asDots && items.length <= MAX_LABELS) this._drawLabels(ctx, items, ct);
    this.cache = { t, w, h, left, top, rect };
    this.stats = { drawn: items.length, mode: asDots ? "dots" : "boxes" };
  }

  // The selected box, its handles and a box being drawn: few shapes, redrawn every frame.
  _drawActive(t, w, h) {
    const ctx = this.activeCtx;
    const selected = this.selected && this.isShown(this.selected) ? this.selected : null;
    const draft = this.drag && this.drag.kind === "draw" ? this.drag.preview : null;
    if (!selected && !draft && !this.activeShown) return;
    this._fit(this.active, ctx, w, h);
    ctx.clearRect(0, 0, w, h);
    this.activeShown = !!(selected || draft);
    this.active.style.display = this.activeShown ? "" : "none";
    if (selected) {
      let box = selected;
      if (this.drag && this.drag.face === selected && this.drag.preview) box = this.drag.preview;
      else if (this.preview && this.preview.face === selected) box = this.preview.box;
      this._drawSelected(ctx, box, selected, t);
    }
    if (draft) {
      const s = toScreen(draft, t);
      ctx.save();
      ctx.setLineDash([6, 4]);
      ctx.lineWidth = 2;
      ctx.strokeStyle = STATUS_COLOURS.added;
      ctx.strokeRect(s.x, s.y, s.w, s.h);
      ctx.restore();
    }
  }

  // Zoomed far out: one small square per occupied 3-pixel cell, so thousands of faces stay cheap.
  // Pixels of the cache are its canvas's device pixels: CSS pixels times `ratio`.
  _drawDots(byStatus, t, ratio) {
    const raster = this.raster;
    const side = Math.max(1, Math.round(3 * ratio));
    for (const [status, faces] of byStatus) {
      const seen = new Set();
      const colour = STATUS_PIXELS[status] ?? WHITE_PIXEL;
      for (const face of faces) {
        const x = Math.round((face.x + face.w / 2) * t.sx + t.ox);
        const y = Math.round((face.y + face.h / 2) * t.sy + t.oy);
        const key = ((x / 3) | 0) * 100000 + ((y / 3) | 0);
        if (seen.has(key)) continue;
        seen.add(key);
        raster.rect(Math.round((x - 1) * ratio), Math.round((y - 1) * ratio), side, side, colour);
      }
    }
  }

  // Pixel-aligned outlines (no anti-aliased paths) per status, then a gender tab in the top-left
  // corner of boxes big enough to carry one. A later pixel replaces an earlier one: where a
  // rejected (translucent) edge crosses another box, it shows alone rather than blended.
  _drawBoxes(byStatus, items, t, ratio) {
    const raster = this.raster;
    for (const [status, faces] of byStatus) {
      const line = status === "rejected" ? 1 : 2;
      const device = Math.max(1, Math.round(line * ratio));
      const colour = STATUS_PIXELS[status] ?? WHITE_PIXEL;
      for (const face of faces) {
        const x = Math.round(face.x * t.sx + t.ox);
        const y = Math.round(face.y * t.sy + t.oy);
        const w = Math.max(line, Math.round(face.w * t.sx));
        const h = Math.max(line, Math.round(face.h * t.sy));
        const dx = Math.round(x * ratio);
        const dy = Math.round(y * ratio);
        raster.outline(dx, dy, Math.round((x + w) * ratio) - dx, Math.round((y + h) * ratio) - dy, device, colour);
      }
    }
    const tab = Math.round(8 * ratio);
    for (const face of items) {
      if (face.w * t.sx < 14 || face.h * t.sy < 14) continue;
      const x = Math.round(face.x * t.sx + t.ox) + 2;
      const y = Math.round(face.y * t.sy + t.oy) + 2;
      const colour = GENDER_PIXELS[face.gender] ?? GENDER_PIXELS.unknown;
      raster.rect(Math.round(x * ratio), Math.round(y * ratio), tab, tab, colour);
    }
  }

  _drawLabels(ctx, items, t) {
    ctx.font = "600 12px system-ui, sans-serif";
    ctx.textBaseline = "bottom";
    for (const face of items) {
      const s = toScreen(face, t);
      if (s.h < 24 || s.w < 24) continue;
      const text = faceLabel(face);
      const width = ctx.measureText(text).width + 6;
      const y = Math.round(s.y > 16 ? s.y - 1 : s.y + 16);
      const x = Math.round(s.x);
      ctx.fillStyle = "rgba(0,0,0,.65)";
      ctx.fillRect(x, y - 15, width, 15);
      ctx.fillStyle = "#fff";
      ctx.fillText(text, x + 3, y - 1);
    }
  }

  _drawSelected(ctx, box, face, t) {
    const s = toScreen(box, t);
    ctx.lineWidth = 4;
    ctx.strokeStyle = "#fff";
    ctx.strokeRect(s.x, s.y, s.w, s.h);
    ctx.lineWidth = 2;
    ctx.strokeStyle = STATUS_COLOURS[face.status] || "#000";
    ctx.strokeRect(s.x, s.y, s.w, s.h);
    if (!this.editable) return;
    const points = handlePoints(s);
    ctx.fillStyle = "#fff";
    ctx.strokeStyle = "#202124";
    ctx.lineWidth = 1;
    for (const name of HANDLES) {
      const p = points[name];
      ctx.fillRect(p.x - 4, p.y - 4, 8, 8);
      ctx.strokeRect(p.x - 4, p.y - 4, 8, 8);
    }
  }

  _point(event) {
    const rect = this.viewer.element.getBoundingClientRect();
    return { x: event.clientX - rect.left, y: event.clientY - rect.top };
  }

  // Presses on OpenSeadragon's own controls (zoom buttons, navigator) are theirs.
  _onImage(event) {
    return this.viewer.canvas.contains(event.target) || event.target === this.viewer.canvas;
  }

  _faceAt(point, t) {
    const c = toCanvas(point, t);
    const slop = 3 / t.sx;
    const near = this.index.query({ x: c.x - slop, y: c.y - slop, w: 2 * slop, h: 2 * slop });
    return hitTest(near.filter((face) => this.isShown(face)), c);
  }

  _grabSelected(point, t) {
    const face = this.selected;
    return this.editable && face && this.isShown(face) ? grabAt(face, point, t) : null;
  }

  _down(event) {
    if (event.button !== 0 || !this._onImage(event)) return;
    // Presses we keep never reach the browser's own focus handling: move keyboard focus to the
    // image ourselves, so arrow keys nudge the box rather than a radio button clicked before.
    this.viewer.canvas.focus({ preventScroll: true });
    const t = this.transform();
    if (!t) return;
    const point = this._point(event);
    let drag = null;
    if (this.editable && (this.drawMode || event.shiftKey)) {
      drag = { kind: "draw", start: point };
    } else {
      const grab = this._grabSelected(point, t);
      if (grab && grab !== "move") {
        drag = { kind: "resize", handle: grab, face: this.selected, start: point };
      } else {
        // Viewers select by click (canvas-click) and drag to pan.
        const face = this.editable ? this._faceAt(point, t) : null;
        if (!face) return;
        if (face !== this.selected) this.onSelect(face);
        drag = { kind: "move", face, start: point };
      }
    }
    event.preventDefault();
    event.stopPropagation();
    // Keeps the drag's events coming even when the pointer leaves the viewer or the window.
    this.viewer.element.setPointerCapture(event.pointerId);
    this.drag = { ...drag, moved: false, preview: null };
    window.addEventListener("pointermove", this._onMove);
    window.addEventListener("pointerup", this._onUp);
    window.addEventListener("pointercancel", this._onUp);
  }

  _move(event) {
    const drag = this.drag;
    if (!drag) return;
    const t = this.transform();
    const point = this._point(event);
    if (!drag.moved && Math.hypot(point.x - drag.start.x, point.y - drag.start.y) < DRAG_THRESHOLD_PX) return;
    if (!drag.moved && drag.face) this.redraw(); // takes the dragged box out of the cached layer
    drag.moved = true;
    const dx = (point.x - drag.start.x) / t.sx;
    const dy = (point.y - drag.start.y) / t.sy;
    if (drag.kind === "draw") {
      const a = toCanvas(drag.start, t);
      const b = toCanvas(point, t);
      drag.preview = clampBox(normalizeRect(a.x, a.y, b.x, b.y), this.width, this.height);
    } else if (drag.kind === "move") {
      drag.preview = moveBox(drag.face, dx, dy, this.width, this.height);
    } else {
      drag.preview = clampBox(resizeBox(drag.face, drag.handle, dx, dy, 1), this.width, this.height);
    }
    this._scheduleActive();
  }

  _up() {
    const drag = this.drag;
    this.drag = null;
    window.removeEventListener("pointermove", this._onMove);
    window.removeEventListener("pointerup", this._onUp);
    window.removeEventListener("pointercancel", this._onUp);
    const t = this.transform();
    if (!drag) return;
    const box = drag.moved && drag.preview ? clampBox(drag.preview, this.width, this.height) : null;
    if (drag.kind === "draw" && !drag.moved) {
      // On a box, the click selects it: a second box on a face is a slip, not a missed face.
      const face = this._faceAt(drag.start, t);
      if (face) this.onSelect(face);
      else this.onDraw(this._placedBox(toCanvas(drag.start, t), t));
    } else if (box && drag.kind === "draw") {
      if (box.w * t.sx >= MIN_DRAWN_PX && box.h * t.sy >= MIN_DRAWN_PX) this.onDraw(box);
    } else if (box) {
      const face = drag.face;
      if (box.x !== face.x || box.y !== face.y || box.w !== face.w || box.h !== face.h) this.onGeometry(face, box);
    }
    if (drag.moved) this.redraw();
    else this._scheduleActive();
  }

  // A click where a drag would draw places a box sized like the faces nearest to it (a crowd's missed
  // faces are one click each); on a page with none, a square of PLACED_SIDE_PX on screen.
  _placedBox(centre, t) {
    const shown = this.index
      .query({ x: 0, y: 0, w: this.width, h: this.height })
      .filter((face) => face.status !== "rejected" && this.isShown(face));
    return clampBox(boxAmongNeighbours(centre, shown, { side: PLACED_SIDE_PX / t.sx }), this.width, this.height);
  }

  _hover(event) {
    if (this.drag || this.drawMode || !this._onImage(event)) return;
    const t = this.transform();
    if (!t) return;
    const point = this._point(event);
    let cursor = "";
    const grab = this._grabSelected(point, t);
    if (grab && grab !== "move") cursor = HANDLE_CURSORS[grab];
    else if (this._faceAt(point, t)) cursor = this.editable ? "move" : "pointer";
    if (this.viewer.canvas.style.cursor !== cursor) this.viewer.canvas.style.cursor = cursor;
  }
}

export function faceLabel(face) {
  let text = GENDER_LETTERS[face.gender] || "?";
  if (face.age !== null && face.age !== undefined) text += ` ${Math.round(face.age)}`;
  if (face.child) text += ` ${gettext("child")}`;
  return text;
}

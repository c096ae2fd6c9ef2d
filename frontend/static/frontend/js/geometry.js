// Review canvas geometry: canvas-pixel boxes ↔ screen pixels, hit-testing, resizing and a
// spatial index. Pure functions and data only (no DOM, no OpenSeadragon) so it can be tested
// on its own and reused by the benchmark.

export const HANDLES = ["nw", "n", "ne", "e", "se", "s", "sw", "w"];

// A transform maps canvas pixels (where boxes live) to viewer-element pixels:
// screen = canvas * scale + origin. OpenSeadragon never rotates our pages, so two numbers per axis do.
export function makeTransform(originX, originY, scaleX, scaleY = scaleX) {
  return { ox: originX, oy: originY, sx: scaleX, sy: scaleY };
}

export function toScreen(box, t) {
  return { x: box.x * t.sx + t.ox, y: box.y * t.sy + t.oy, w: box.w * t.sx, h: box.h * t.sy };
}

export function toCanvas(point, t) {
  return { x: (point.x - t.ox) / t.sx, y: (point.y - t.oy) / t.sy };
}

// The part of the page (in canvas pixels) visible in a viewer element of this size.
export function visibleRect(t, elementWidth, elementHeight) {
  const a = toCanvas({ x: 0, y: 0 }, t);
  const b = toCanvas({ x: elementWidth, y: elementHeight }, t);
  return { x: a.x, y: a.y, w: b.x - a.x, h: b.y - a.y };
}

export function intersects(a, b) {
  return a.x < b.x + b.w && b.x < a.x + a.w && a.y < b.y + b.h && b.y < a.y + a.h;
}

export function contains(outer, inner) {
  return (
    inner.x >= outer.x &&
    inner.y >= outer.y &&
    inner.x + inner.w <= outer.x + outer.w &&
    inner.y + inner.h <= outer.y + outer.h
  );
}

// The overlap of two rectangles, or null when they do not overlap.
export function clipRect(a, b) {
  const x = Math.max(a.x, b.x);
  const y = Math.max(a.y, b.y);
  const w = Math.min(a.x + a.w, b.x + b.w) - x;
  const h = Math.min(a.y + a.h, b.y + b.h) - y;
  return w > 0 && h > 0 ? { x, y, w, h } : null;
}

export function normalizeRect(x1, y1, x2, y2) {
  return { x: Math.min(x1, x2), y: Math.min(y1, y2), w: Math.abs(x2 - x1), h: Math.abs(y2 - y1) };
}

// Round and clip a box to the page, as the server does; null when nothing is left of it.
export function clampBox(box, width, height) {
  const x1 = Math.max(0, Math.min(width, Math.round(box.x)));
  const y1 = Math.max(0, Math.min(height, Math.round(box.y)));
  const x2 = Math.max(0, Math.min(width, Math.round(box.x + box.w)));
  const y2 = Math.max(0, Math.min(height, Math.round(box.y + box.h)));
  if (x2 - x1 < 1 || y2 - y1 < 1) return null;
  return { x: x1, y: y1, w: x2 - x1, h: y2 - y1 };
}

// Screen positions of the eight resize handles of a screen-space box.
export function handlePoints(s) {
  const cx = s.x + s.w / 2;
  const cy = s.y + s.h / 2;
  const r = s.x + s.w;
  const b = s.y + s.h;
  return {
    nw: { x: s.x, y: s.y }, n: { x: cx, y: s.y }, ne: { x: r, y: s.y }, e: { x: r, y: cy },
    se: { x: r, y: b }, s: { x: cx, y: b }, sw: { x: s.x, y: b }, w: { x: s.x, y: cy },
  };
}

// Which part of a box a screen point grabs: a handle name, "move" inside, or null.
export function grabAt(box, point, t, tolerance = 6) {
  const s = toScreen(box, t);
  const handles = handlePoints(s);
  for (const name of HANDLES) {
    const h = handles[name];
    if (Math.abs(point.x - h.x) <= tolerance && Math.abs(point.y - h.y) <= tolerance) return name;
  }
  if (point.x >= s.x && point.x <= s.x + s.w && point.y >= s.y && point.y <= s.y + s.h) return "move";
  return null;
}

// The box after dragging a handle by (dx, dy) canvas pixels; dragging past the opposite edge flips it.
export function resizeBox(box, handle, dx, dy, minSize = 1) {
  let x1 = box.x;
  let y1 = box.y;
  let x2 = box.x + box.w;
  let y2 = box.y + box.h;
  if (handle.includes("w")) x1 += dx;
  if (handle.includes("e")) x2 += dx;
  if (handle.includes("n")) y1 += dy;
  if (handle.includes("s")) y2 += dy;
  const r = normalizeRect(x1, y1, x2, y2);
  return { x: r.x, y: r.y, w: Math.max(minSize, r.w), h: Math.max(minSize, r.h) };
}

// The box moved by (dx, dy), kept whole inside the page.
export function moveBox(box, dx, dy, width, height) {
  return {
    x: Math.max(0, Math.min(width - box.w, box.x + dx)),
    y: Math.max(0, Math.min(height - box.h, box.y + dy)),
    w: box.w,
    h: box.h,
  };
}

// Arrow-key nudges move a box by one screen pixel at the current zoom (scale = screen pixels per
// canvas pixel), never less than one canvas pixel; Shift makes it ten.
export function nudgeStep(scale, big = false) {
  return Math.max(1, Math.round(1 / scale)) * (big ? 10 : 1);
}

export const ARROW_KEYS = { ArrowLeft: [-1, 0], ArrowRight: [1, 0], ArrowUp: [0, -1], ArrowDown: [0, 1] };

// The box after one arrow key: moved by `step` canvas pixels, or with `resize` its right / bottom
// edge moved instead (right and down grow it, left and up shrink it), kept whole inside the page
// and at least one pixel wide and high.
export function nudgeBox(box, key, step, { resize = false, width, height }) {
  const [kx, ky] = ARROW_KEYS[key] || [0, 0];
  if (!resize) return moveBox(box, kx * step, ky * step, width, height);
  return {
    x: box.x,
    y: box.y,
    w: Math.max(1, Math.min(width - box.x, box.w + kx * step)),
    h: Math.max(1, Math.min(height - box.y, box.h + ky * step)),
  };
}

// Among boxes under a point, the smallest one wins, so a small face inside a big box stays selectable.
export function hitTest(boxes, point) {
  let best = null;
  let bestArea = Infinity;
  for (const box of boxes) {
    if (point.x < box.x || point.y < box.y || point.x > box.x + box.w || point.y > box.y + box.h) continue;
    const area = box.w * box.h;
    if (area < bestArea) {
      best = box;
      bestArea = area;
    }
  }
  return best;
}

// A box centred on a point, sized like the boxes nearest to it (the median width and height of the
// `count` nearest by centre): a crowd's missed faces are one click each. With no box, a square of `side`.
export function boxAmongNeighbours(point, boxes, { count = 5, side }) {
  const centre = (box) => ({ x: box.x + box.w / 2, y: box.y + box.h / 2 });
  const nearest = boxes
    .map((box) => ({ box, distance: Math.hypot(centre(box).x - point.x, centre(box).y - point.y) }))
    .sort((a, b) => a.distance - b.distance)
    .slice(0, count)
    .map(({ box }) => box);
  const median = (values) => {
    const sorted = [...values].sort((a, b) => a - b);
    const middle = Math.floor(sorted.length / 2);
    return sorted.length % 2 ? sorted[middle] : (sorted[middle - 1] + sorted[middle]) / 2;
  };
  const w = Math.round(nearest.length ? median(nearest.map((box) => box.w)) : side);
  const h = Math.round(nearest.length ? median(nearest.map((box) => box.h)) : side);
  return { x: Math.round(point.x - w / 2), y: Math.round(point.y - h / 2), w, h };
}

// Bounds that show a box with room around it (margin = multiples of its size on each side).
export function paddedBounds(box, margin, width, height) {
  const side = Math.max(box.w, box.h) * (1 + 2 * margin);
  const cx = box.x + box.w / 2;
  const cy = box.y + box.h / 2;
  const x = Math.max(0, cx - side / 2);
  const y = Math.max(0, cy - side / 2);
  return { x, y, w: Math.min(side, width - x), h: Math.min(side, height - y) };
}

// A uniform grid over the page: querying the visible rectangle touches only nearby boxes,
// so drawing and hit-testing cost what is on screen, not the page's total face count.
export class GridIndex {
  constructor(width, height, cells = 64) {
    this.cell = Math.max(16, Math.ceil(Math.max(width, height) / cells));
    this.cols = Math.ceil(width / this.cell) + 1;
    this.rows = Math.ceil(height / this.cell) + 1;
    this.buckets = new Map();
    this.where = new Map();
    this.stamp = 0;
    this.seen = new Map();
  }

  _range(box) {
    const c = this.cell;
    return {
      c1: Math.max(0, Math.floor(box.x / c)),
      r1: Math.max(0, Math.floor(box.y / c)),
      c2: Math.min(this.cols - 1, Math.floor((box.x + box.w) / c)),
      r2: Math.min(this.rows - 1, Math.floor((box.y + box.h) / c)),
    };
  }

  insert(item) {
    const keys = [];
    const { c1, r1, c2, r2 } = this._range(item);
    for (let r = r1; r <= r2; r++) {
      for (let c = c1; c <= c2; c++) {
        const key = r * this.cols + c;
        let bucket = this.buckets.get(key);
        if (!bucket) this.buckets.set(key, (bucket = []));
        bucket.push(item);
        keys.push(key);
      }
    }
    this.where.set(item, keys);
  }

  remove(item) {
    for (const key of this.where.get(item) || []) {
      const bucket = this.buckets.get(key);
      const i = bucket.indexOf(item);
      if (i >= 0) bucket.splice(i, 1);
    }
    this.where.delete(item);
  }

  update(item) {
    this.remove(item);
    this.insert(item);
  }

  get size() {
    return this.where.size;
  }

  // Items whose box intersects rect, each once.
  query(rect) {
    const stamp = ++this.stamp;
    const out = [];
    const { c1, r1, c2, r2 } = this._range(rect);
    for (let r = r1; r <= r2; r++) {
      for (let c = c1; c <= c2; c++) {
        const bucket = this.buckets.get(r * this.cols + c);
        if (!bucket) continue;
        for (const item of bucket) {
          if (this.seen.get(item) === stamp || !intersects(item, rect)) continue;
          this.seen.set(item, stamp);
          out.push(item);
        }
      }
    }
    return out;
  }
}

// IIIF Image API request for a padded face crop; mirrors annotations/iiif/image_api.py face_crop_url.
export function faceCropUrl(options) {
  const { serviceId, version, box, canvasWidth, canvasHeight, imageWidth, imageHeight } = options;
  const { size = 96, margin = 0.15 } = options;
  if (!serviceId) return "";
  const padX = box.w * margin;
  const padY = box.h * margin;
  let left = Math.max(0, Math.floor(box.x - padX));
  let top = Math.max(0, Math.floor(box.y - padY));
  let right = Math.min(canvasWidth, Math.ceil(box.x + box.w + padX));
  let bottom = Math.min(canvasHeight, Math.ceil(box.y + box.h + padY));
  if (right <= left || bottom <= top) return "";
  const iw = imageWidth || canvasWidth;
  const ih = imageHeight || canvasHeight;
  if (iw !== canvasWidth || ih !== canvasHeight) {
    const kx = iw / canvasWidth;
    const ky = ih / canvasHeight;
    left = Math.floor(left * kx);
    top = Math.floor(top * ky);
    right = Math.min(iw, Math.ceil(right * kx));
    bottom = Math.min(ih, Math.ceil(bottom * ky));
  }
  const quality = version === "1" ? "native" : "default";
  const region = `${left},${top},${Math.max(1, right - left)},${Math.max(1, bottom - top)}`;
  return `${serviceId.replace(/\/$/, "")}/${region}/!${size},${size}/0/${quality}.jpg`;
}

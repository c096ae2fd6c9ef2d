// Filled rectangles written straight into an RGBA pixel buffer, then put on a canvas at once.
// With thousands of boxes in view, one fillRect per box edge costs the browser's 2D canvas a
// recorded command each (60-150 ms for 6,000 boxes on a loaded two-core machine, every time
// the review canvas renders its cached boxes); writing the same pixels here takes a fraction of
// that. Pure data, no DOM: ImageData exists in pages and workers alike.

const LITTLE_ENDIAN = new Uint8Array(new Uint32Array([1]).buffer)[0] === 1;

// A "#rrggbb" colour with an alpha in 0..1, as one 32-bit pixel of an ImageData's buffer.
export function pixel(hex, alpha = 1) {
  const value = parseInt(hex.slice(1), 16);
  const r = (value >> 16) & 255;
  const g = (value >> 8) & 255;
  const b = value & 255;
  const a = Math.round(alpha * 255);
  return (LITTLE_ENDIAN ? (a << 24) | (b << 16) | (g << 8) | r : (r << 24) | (g << 16) | (b << 8) | a) >>> 0;
}

export class Raster {
  constructor() {
    this.width = 0;
    this.height = 0;
    this.image = null;
    this.pixels = null;
  }

  // A transparent buffer of this size; the previous one is reused when the size is the same.
  reset(width, height) {
    if (width !== this.width || height !== this.height) {
      this.width = width;
      this.height = height;
      this.image = new ImageData(width, height);
      this.pixels = new Uint32Array(this.image.data.buffer);
    } else {
      this.pixels.fill(0);
    }
  }

  // A rectangle of one colour (it replaces what is under it), cut to the buffer.
  rect(x, y, w, h, colour) {
    const width = this.width;
    const x1 = x < 0 ? 0 : x;
    const y1 = y < 0 ? 0 : y;
    const x2 = x + w > width ? width : x + w;
    const y2 = y + h > this.height ? this.height : y + h;
    if (x1 >= x2 || y1 >= y2) return;
    const pixels = this.pixels;
    for (let row = y1; row < y2; row++) {
      const offset = row * width;
      if (x2 - x1 > 16) {
        pixels.fill(colour, offset + x1, offset + x2);
      } else {
        for (let i = offset + x1, end = offset + x2; i < end; i++) pixels[i] = colour;
      }
    }
  }

  // A box's outline as four edges `line` pixels thick, inside the box.
  outline(x, y, w, h, line, colour) {
    this.rect(x, y, w, line, colour);
    this.rect(x, y + h - line, w, line, colour);
    this.rect(x, y + line, line, h - 2 * line, colour);
    this.rect(x + w - line, y + line, line, h - 2 * line, colour);
  }
}

// The side panel's face list. Only the rows in view exist in the DOM (fixed row height), so a
// page with thousands of faces opens as fast as one with ten and scrolling stays smooth.

const OVERSCAN = 6;

export class VirtualList {
  constructor(scroller, { rowHeight, renderRow, onPick }) {
    this.scroller = scroller;
    this.thumbnails = false;
    this.rowHeight = rowHeight;
    this.renderRow = renderRow;
    this.onPick = onPick;
    this.items = [];
    this.positions = new Map();
    this.rows = new Map();
    this.selected = null;
    this.spacer = document.createElement("div");
    this.spacer.className = "face-list-spacer";
    scroller.appendChild(this.spacer);
    scroller.addEventListener("scroll", () => this.render());
    scroller.addEventListener("click", (event) => {
      const row = event.target.closest("[data-key]");
      if (row) this.onPick(this.items[this.positions.get(Number(row.dataset.key))]);
    });
    new ResizeObserver(() => this.render()).observe(scroller);
  }

  setItems(items) {
    this.items = items;
    this.positions = new Map(items.map((item, i) => [item.key, i]));
    this.spacer.style.height = `${items.length * this.rowHeight}px`;
    for (const row of this.rows.values()) row.remove();
    this.rows.clear();
    this.render();
  }

  // Thumbnails load once the page image has started to show: its tiles come first.
  enableThumbnails() {
    this.thumbnails = true;
    this.render(true);
  }

  indexOf(item) {
    return item ? this.positions.get(item.key) : undefined;
  }

  setSelected(item) {
    this.selected = item;
    const i = this.indexOf(item);
    if (i !== undefined) {
      const top = i * this.rowHeight;
      const bottom = top + this.rowHeight;
      if (top < this.scroller.scrollTop) this.scroller.scrollTop = top;
      else if (bottom > this.scroller.scrollTop + this.scroller.clientHeight) {
        this.scroller.scrollTop = bottom - this.scroller.clientHeight;
      }
      this.scroller.setAttribute("aria-activedescendant", `face-row-${item.key}`);
    } else {
      this.scroller.removeAttribute("aria-activedescendant");
    }
    for (const [key, row] of this.rows) row.setAttribute("aria-selected", String(!!item && key === item.key));
    this.render();
  }

  // Re-renders one item's row if it is on screen (after an edit).
  refresh(item) {
    const row = this.rows.get(item.key);
    if (row) this._fill(row, item);
  }

  render(force = false) {
    const first = Math.max(0, Math.floor(this.scroller.scrollTop / this.rowHeight) - OVERSCAN);
    const count = Math.ceil(this.scroller.clientHeight / this.rowHeight) + 2 * OVERSCAN;
    const last = Math.min(this.items.length, first + count);
    const wanted = new Set();
    for (let i = first; i < last; i++) {
      const item = this.items[i];
      wanted.add(item.key);
      let row = this.rows.get(item.key);
      if (!row) {
        row = document.createElement("div");
        row.setAttribute("role", "option");
        row.className = "face-row";
        row.dataset.key = String(item.key);
        row.id = `face-row-${item.key}`;
        this.rows.set(item.key, row);
        this.scroller.appendChild(row);
        this._fill(row, item);
      } else if (force) {
        this._fill(row, item);
      }
      row.style.transform = `translateY(${i * this.rowHeight}px)`;
    }
    for (const [key, row] of this.rows) {
      if (!wanted.has(key)) {
        row.remove();
        this.rows.delete(key);
      }
    }
  }

  _fill(row, item) {
    row.setAttribute("aria-selected", String(item === this.selected));
    this.renderRow(row, item, this.thumbnails);
  }
}

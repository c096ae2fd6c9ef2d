// Autosave: every change becomes an operation in one ordered queue that is sent as soon as it
// can be. Network failures, 5xx and 429 are retried with back-off until they succeed (nothing is
// dropped silently); a 409 hands the server's current face to the caller instead of overwriting.

const RETRY_DELAYS_MS = [1000, 2000, 4000, 8000, 15000, 30000];
const RETRYABLE = new Set([408, 425, 429, 500, 502, 503, 504]);

export function csrfToken(fallback) {
  const match = document.cookie.match(/(?:^|;\s*)csrftoken=([^;]+)/);
  return match ? decodeURIComponent(match[1]) : fallback || "";
}

// Turns a URL reversed for id 0 (from {% url %}) into the URL for another id.
export function urlFor(template, id) {
  return template.replace("/0/", `/${id}/`);
}

export async function getJSON(url) {
  const response = await fetch(url, { headers: { Accept: "application/json" }, credentials: "same-origin" });
  if (!response.ok) throw new Error(`${response.status} ${response.statusText}`);
  return response.json();
}

// An operation is { label, request(): {method, url, body} | null, onSuccess(data), onConflict(data),
// onFailure(status, data), journal(): record | null }. request() runs when the operation's turn
// comes, so it sees ids and versions that earlier operations returned; returning null skips it (its
// face failed to save). journal() describes it as plain data for UnsavedStore (no record: not kept).
export class SaveQueue {
  constructor({ csrf, onState } = {}) {
    this.csrf = csrf;
    this.onState = onState || (() => {});
    this.ops = [];
    this.running = false;
    this.attempt = 0;
    this.timer = null;
    this.retryAt = 0;
    this.lastError = "";
    this.idleWaiters = [];
    window.addEventListener("online", () => this.retryNow());
  }

  get pending() {
    return this.ops.length;
  }

  // Plain-data records of every operation not yet answered (in flight, queued or being retried).
  journal() {
    const records = [];
    for (const op of this.ops) {
      const record = op.journal && op.journal();
      if (record) records.push(record);
    }
    return records;
  }

  push(op) {
    this.ops.push(op);
    this._emit();
    this._drain();
    return op;
  }

  // Drop queued (not yet sent) operations matching a predicate, e.g. after a conflict on their face.
  discard(predicate) {
    const running = this.running ? this.ops[0] : null;
    this.ops = this.ops.filter((op) => op === running || !predicate(op));
    this._emit();
  }

  retryNow() {
    if (this.timer) {
      clearTimeout(this.timer);
      this.timer = null;
      this._drain();
    }
  }

  // Resolves once everything queued so far has been answered by the server.
  idle() {
    if (!this.ops.length) return Promise.resolve();
    return new Promise((resolve) => this.idleWaiters.push(resolve));
  }

  state() {
    if (this.timer) return { kind: "retrying", pending: this.ops.length, retryAt: this.retryAt, error: this.lastError };
    if (this.ops.length) return { kind: "saving", pending: this.ops.length };
    return { kind: "saved", pending: 0 };
  }

  _emit() {
    this.onState(this.state());
  }

  async _drain() {
    if (this.running || this.timer) return;
    this.running = true;
    try {
      while (this.ops.length) {
        const op = this.ops[0];
        const request = op.request();
        if (!request) {
          this.ops.shift();
          continue;
        }
        let response;
        let data = null;
        try {
          response = await fetch(request.url, {
            method: request.method,
            credentials: "same-origin",
            headers: {
              "Content-Type": "application/json",
              Accept: "application/json",
              "X-CSRFToken": csrfToken(this.csrf),
            },
            body: request.body === undefined ? undefined : JSON.stringify(request.body),
          });
          data = await response.json().catch(() => null);
        } catch (error) {
          this._scheduleRetry(navigator.onLine === false ? gettext("offline") : gettext("network error"));
          return;
        }
        if (RETRYABLE.has(response.status)) {
          this._scheduleRetry(interpolate(gettext("server error %(status)s"), { status: response.status }, true));
          return;
        }
        this.attempt = 0;
        this.lastError = "";
        this.ops.shift();
        if (response.ok) op.onSuccess && op.onSuccess(data);
        else if (response.status === 409) op.onConflict && op.onConflict(data);
        else op.onFailure && op.onFailure(response.status, data);
        this._emit();
      }
    } finally {
      this.running = false;
    }
    if (!this.ops.length) {
      const waiters = this.idleWaiters.splice(0);
      waiters.forEach((resolve) => resolve());
    }
    this._emit();
  }

  _scheduleRetry(reason) {
    const delay = RETRY_DELAYS_MS[Math.min(this.attempt, RETRY_DELAYS_MS.length - 1)];
    this.attempt += 1;
    this.lastError = reason;
    this.retryAt = Date.now() + delay;
    this.running = false;
    this.timer = setTimeout(() => {
      this.timer = null;
      this._drain();
    }, delay);
    this._emit();
  }
}

// Edits the server has not acknowledged yet, kept in localStorage so that closing the tab, a crash
// or a reload loses none of them; the next load of the page replays them. One key per page, user
// and tab, so two tabs on a page never overwrite each other's. A tab holds a Web Lock named after
// it while it lives: a new load adopts the entries of tabs that are gone (and always its own tab's
// previous load, whose lock may not be released yet during a reload), never a live tab's.
const TAB_ID_KEY = "visages.tab";
const LOCK_PREFIX = "visages.tab.";

function randomId() {
  return Date.now().toString(36) + Math.random().toString(36).slice(2, 10);
}

export class UnsavedStore {
  constructor(scope) {
    this.prefix = `visages.unsaved.${scope}.`;
    this.previousTab = sessionStorage.getItem(TAB_ID_KEY);
    this.tab = randomId();
    this.key = this.prefix + this.tab;
    this.since = Date.now();
    this.written = null;
    try {
      sessionStorage.setItem(TAB_ID_KEY, this.tab);
    } catch (error) {
      // Storage refused (private mode quota): only this tab's reloads lose track of their entry.
    }
    if (navigator.locks) navigator.locks.request(LOCK_PREFIX + this.tab, () => new Promise(() => {}));
  }

  // Entries left by earlier loads of this page whose tabs are gone, oldest first: [{key, records}].
  async orphans() {
    const keys = [];
    for (let i = 0; i < localStorage.length; i++) {
      const key = localStorage.key(i);
      if (key && key.startsWith(this.prefix) && key !== this.key) keys.push(key);
    }
    if (!keys.length) return [];
    let held = new Set();
    if (navigator.locks && navigator.locks.query) {
      const snapshot = await navigator.locks.query();
      held = new Set(snapshot.held.map((lock) => lock.name));
    }
    const entries = [];
    for (const key of keys) {
      const tab = key.slice(this.prefix.length);
      if (tab !== this.previousTab && held.has(LOCK_PREFIX + tab)) continue;
      try {
        const entry = JSON.parse(localStorage.getItem(key));
        if (entry && Array.isArray(entry.records)) entries.push({ key, since: entry.since || 0, records: entry.records });
      } catch (error) {
        localStorage.removeItem(key); // unreadable: nothing in it can be replayed
      }
    }
    return entries.sort((a, b) => a.since - b.since);
  }

  forget(keys) {
    for (const key of keys) localStorage.removeItem(key);
  }

  // Called on every change of the queue; writes only when the records changed.
  save(records) {
    const text = records.length ? JSON.stringify({ since: this.since, records }) : null;
    if (text === this.written) return true;
    try {
      if (text === null) localStorage.removeItem(this.key);
      else localStorage.setItem(this.key, text);
      this.written = text;
      return true;
    } catch (error) {
      return false;
    }
  }
}

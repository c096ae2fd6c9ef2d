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
// onFailure(status, data) }. request() runs when the operation's turn comes, so it sees ids and
// versions that earlier operations returned; returning null skips it (its face failed to save).
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
          this._scheduleRetry(navigator.onLine === false ? "offline" : "network error");
          return;
        }
        if (RETRYABLE.has(response.status)) {
          this._scheduleRetry(`server error ${response.status}`);
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

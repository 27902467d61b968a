// Live prediction scheduling: throttled requests, newest answer wins.
//
// - `request()` says "the drawing changed". A request starts at most once per `interval`
//   ms, and always reads the drawing as it is when it starts, so the last change (the end of
//   a stroke) is always sent, even if it came just after the previous request.
// - Each request gets a sequence number. An answer is shown only if it is newer than the
//   answer on screen, so a slow, stale answer never overwrites a newer one.
// - `cancel()` (the drawing was cleared) aborts what is in flight and drops its answers.
// - At most `maxInFlight` requests run at once, so a slow server is not flooded.

export class PredictionScheduler {
  /**
   * @param {object} options
   * @param {number} [options.interval] minimum ms between the starts of two requests
   * @param {number} [options.maxInFlight]
   * @param {() => object|null} options.snapshot  what to send now (null: nothing to send)
   * @param {(job: object, signal: AbortSignal) => Promise<object>} options.send
   * @param {(result: object, job: object, latest: boolean) => void} options.onResult
   * @param {(error: Error, job: object, latest: boolean) => void} options.onError
   * @param {(busy: boolean) => void} [options.onBusy]
   */
  constructor({ interval = 150, maxInFlight = 2, snapshot, send, onResult, onError, onBusy }) {
    this.interval = interval;
    this.maxInFlight = maxInFlight;
    this.snapshot = snapshot;
    this.send = send;
    this.onResult = onResult;
    this.onError = onError;
    this.onBusy = onBusy || (() => {});
    this.seq = 0; // number of the last request started
    this.shown = 0; // number of the request whose answer is on screen
    this.floor = 0; // answers to requests numbered <= floor are dropped (cancelled)
    this.lastStart = -Infinity;
    this.timer = 0;
    this.dirty = false;
    this.inFlight = new Map(); // seq -> AbortController
  }

  /** The drawing changed: predict it soon, within the rate limit. */
  request() {
    this.dirty = true;
    if (this.timer) return;
    const wait = Math.max(0, this.lastStart + this.interval - performance.now());
    this.timer = setTimeout(() => this.flush(), wait);
  }

  /** Drop everything pending or in flight; answers to earlier requests are ignored. */
  cancel() {
    clearTimeout(this.timer);
    this.timer = 0;
    this.dirty = false;
    this.floor = this.seq;
    for (const controller of this.inFlight.values()) controller.abort();
    this.inFlight.clear();
    this.onBusy(false);
  }

  flush() {
    this.timer = 0;
    if (!this.dirty) return;
    if (this.inFlight.size >= this.maxInFlight) return; // resumed when one settles
    this.dirty = false;
    const job = this.snapshot();
    if (!job) return;
    this.start(job);
  }

  async start(job) {
    this.seq += 1;
    const seq = this.seq;
    this.lastStart = performance.now();
    const controller = new AbortController();
    this.inFlight.set(seq, controller);
    this.onBusy(true);
    let outcome;
    try {
      outcome = { result: await this.send(job, controller.signal) };
    } catch (error) {
      outcome = { error };
    }
    this.inFlight.delete(seq);
    if (this.inFlight.size === 0) this.onBusy(false);
    if (this.dirty && !this.timer) this.request();
    if (seq <= this.floor || seq <= this.shown) return; // cancelled, or stale
    this.shown = seq;
    // latest: nothing newer is in flight or waiting, so this answer is the one that stays.
    const latest = seq === this.seq && !this.dirty && !this.timer;
    if (outcome.error) this.onError(outcome.error, job, latest);
    else this.onResult(outcome.result, job, latest);
  }
}

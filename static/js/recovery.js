// Coming back by itself when the server returns: after an outage (the server could not be
// reached, timed out, or its proxy said it is down), /healthz is asked again after 1 s,
// 2 s, 4 s... (at most every 8 s); when it answers, `onBack` runs once.

import { serverIsUp } from "./api.js";

const FIRST_WAIT_MS = 1000;
const LONGEST_WAIT_MS = 8000;

export class Recovery {
  /** @param {{onBack: () => void}} options */
  constructor({ onBack }) {
    this.onBack = onBack;
    this.timer = 0;
    this.wait = FIRST_WAIT_MS;
  }

  get watching() {
    return this.timer !== 0;
  }

  /** The server seems down: watch for it (does nothing if already watching). */
  start() {
    if (this.watching) return;
    this.wait = FIRST_WAIT_MS;
    this.schedule();
  }

  stop() {
    clearTimeout(this.timer);
    this.timer = 0;
  }

  schedule() {
    this.timer = setTimeout(async () => {
      if (await serverIsUp()) {
        this.timer = 0;
        this.onBack();
        return;
      }
      if (!this.timer) return; // stopped while asking
      this.wait = Math.min(LONGEST_WAIT_MS, this.wait * 2);
      this.schedule();
    }, this.wait);
  }
}

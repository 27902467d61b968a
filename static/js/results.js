// The result panel: big digit, confidence, status line, probability bars, network's view.

const $ = (id) => document.getElementById(id);

export class ResultView {
  constructor() {
    this.panel = $("results");
    this.digit = $("digit");
    this.confidence = $("confidence");
    this.status = $("status");
    this.announcer = $("announcer");
    this.retry = $("retry");
    this.timing = $("timing");
    this.preview = $("input-preview");
    this.previewEmpty = $("input-preview-empty");
    this.bars = [...$("probabilities").querySelectorAll(".bar")];
    this.quick = $("quick-result");
    this.quickDigit = $("quick-digit");
    this.quickConfidence = $("quick-confidence");
  }

  setBusy(busy) {
    this.panel.setAttribute("aria-busy", busy ? "true" : "false");
  }

  /** The canvas is empty: nothing to read. `announce` after the user cleared it. */
  showEmpty(announce = false) {
    this.setState("empty");
    this.digit.textContent = "?";
    this.confidence.textContent = "";
    this.quickDigit.textContent = "?";
    this.quickConfidence.textContent = "draw a digit in the box";
    this.say("No digit yet. Draw one in the box.", announce);
    this.resetBars();
    this.setPreview(null);
    this.timing.textContent = "";
  }

  /** The drawing changed: what is on screen is about to be replaced. */
  markPending() {
    this.panel.dataset.settled = "false";
  }

  /**
   * A 200 answer from /predict.
   * @param {object} result  the JSON answer
   * @param {{settled: boolean}} options  settled: the answer for the finished drawing (it is
   *   announced to screen readers; answers while a stroke is under way are not)
   */
  showResult(result, { settled }) {
    this.setPreview(result.input_image || null);
    this.timing.textContent = describeTiming(result);
    if (result.status !== "ok" || typeof result.digit !== "number") {
      this.setState("no_digit", settled);
      this.digit.textContent = "–";
      this.confidence.textContent = "No digit found";
      this.quickDigit.textContent = "–";
      this.quickConfidence.textContent = "no digit found";
      this.resetBars();
      this.say(result.message || "No digit found: the image looks empty.", settled);
      return;
    }
    this.setState("ok", settled);
    const probabilities = Array.isArray(result.probabilities) ? result.probabilities : [];
    const confidence = result.confidence ?? probabilities[result.digit] ?? 0;
    this.digit.textContent = String(result.digit);
    this.confidence.textContent = `${formatPercent(confidence)} sure`;
    this.quickDigit.textContent = String(result.digit);
    this.quickConfidence.textContent = `${formatPercent(confidence)} sure`;
    this.setBars(probabilities, result.digit);
    const message =
      result.message || `It looks like a ${result.digit} (${formatPercent(confidence)} sure).`;
    const second = secondGuess(probabilities, result.digit) || "No other digit comes close.";
    this.say(second, false);
    if (settled) this.announce(`${message} ${second}`);
  }

  /** The request failed; `message` says why in plain words. */
  /**
   * No answer: the server failed, could not be reached, or refused the image.
   * @param {{settled: boolean}} [options]  settled: this is the outcome for the finished
   *   drawing (an error for a request made mid-stroke is provisional, like an answer).
   */
  showError(message, { settled = true } = {}) {
    this.setState("error", settled);
    this.digit.textContent = "!";
    this.confidence.textContent = "No answer";
    this.quickDigit.textContent = "!";
    this.quickConfidence.textContent = "no answer from the server";
    this.say(message, true);
    this.retry.hidden = false;
    this.resetBars();
  }

  setState(state, settled = true) {
    this.panel.dataset.state = state;
    this.panel.dataset.settled = String(settled);
    this.quick.dataset.state = state;
    this.retry.hidden = true;
  }

  /** Show `text` as the status line; with `announce`, also tell screen readers. */
  say(text, announce) {
    if (this.status.textContent !== text) this.status.textContent = text;
    if (announce) this.announce(text);
  }

  /** Tell screen readers (the polite live region), once per distinct message. */
  announce(text) {
    if (this.announcer.textContent !== text) this.announcer.textContent = text;
  }

  setBars(probabilities, top) {
    this.bars.forEach((bar, digit) => {
      const p = Number(probabilities[digit]) || 0;
      bar.style.setProperty("--p", String(Math.min(1, Math.max(0, p))));
      bar.dataset.top = String(digit === top);
      bar.querySelector(".bar-value").textContent = formatPercent(p);
      bar.querySelector(".bar-text").textContent = `Digit ${digit}: ${formatPercent(p)}`;
    });
  }

  resetBars() {
    this.bars.forEach((bar, digit) => {
      bar.style.setProperty("--p", "0");
      bar.dataset.top = "false";
      bar.querySelector(".bar-value").textContent = "–";
      bar.querySelector(".bar-text").textContent = `Digit ${digit}: no reading`;
    });
  }

  setPreview(dataUrl) {
    if (dataUrl) {
      if (this.preview.src !== dataUrl) this.preview.src = dataUrl;
      this.preview.alt =
        "The 28 by 28 pixel image the network saw: your digit in white on black, enlarged.";
      this.preview.hidden = false;
      this.previewEmpty.hidden = true;
    } else {
      this.preview.removeAttribute("src");
      this.preview.alt = "";
      this.preview.hidden = true;
      this.previewEmpty.hidden = false;
    }
  }
}

/** 0.9834 -> "98.3%", 0.00002 -> "<0.1%", 1 -> "100%". */
export function formatPercent(p) {
  const pct = p * 100;
  if (pct >= 99.95) return "100%";
  if (pct > 0 && pct < 0.05) return "<0.1%";
  return `${pct.toFixed(1)}%`;
}

/** "Next best guess: 1 (2.3%)." or "" when there is no meaningful runner-up. */
function secondGuess(probabilities, top) {
  let best = -1;
  probabilities.forEach((p, digit) => {
    if (digit !== top && (best < 0 || p > probabilities[best])) best = digit;
  });
  if (best < 0 || !(probabilities[best] >= 0.01)) return "";
  return `Next best guess: ${best} (${formatPercent(probabilities[best])}).`;
}

function describeTiming(result) {
  const parts = [];
  const model = result.model || {};
  if (model.name) {
    const version = /^\d/.test(String(model.version ?? "")) ? `v${model.version}` : model.version;
    parts.push(version ? `Model ${model.name} (${version})` : `Model ${model.name}`);
  }
  if (typeof result.time_ms === "number") parts.push(`answered in ${result.time_ms.toFixed(0)} ms`);
  return parts.join(" · ");
}

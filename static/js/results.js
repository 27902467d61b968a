// The result panel: the digit or number read, how sure, each mark, the probability bars and
// the 28x28 the network saw for the picked mark, timing, errors and the "reading…" state.
//
// States (data-state): empty, dot (too little ink to read), ok, not_a_digit, no_digit, error.
// data-settled="false" while the answer on screen is not the one for the drawing as it is
// now (a stroke is under way, or its answer has not come yet): the panel says "Reading…".

import { formatDuration, formatPercent } from "./format.js";
import { spokenReading } from "./marks.js";

const $ = (id) => document.getElementById(id);

export class ResultView {
  /** @param {{marks: import("./marks.js").MarksView}} options */
  constructor({ marks }) {
    this.marks = marks;
    this.panel = $("results");
    this.digit = $("digit");
    this.confidence = $("confidence");
    this.guess = $("guess");
    this.status = $("status");
    this.announcer = $("announcer");
    this.retry = $("retry");
    this.retryLabel = $("retry-label");
    this.timing = $("timing");
    this.preview = $("input-preview");
    this.previewEmpty = $("input-preview-empty");
    this.bars = [...$("probabilities").querySelectorAll(".bar")];
    this.barsOf = $("probabilities-of");
    this.notDigitLine = $("not-digit-line");
    this.quick = $("quick-result");
    this.quickDigit = $("quick-digit");
    this.quickConfidence = $("quick-confidence");
    this.retryAction = null;
    this.retry.addEventListener("click", () => this.retryAction?.());
    marks.addEventListener("select", () => this.showMark(marks.current));
  }

  setBusy(busy) {
    this.panel.setAttribute("aria-busy", busy ? "true" : "false");
  }

  /** The pad is empty: nothing to read. `announce` after the user cleared it. */
  showEmpty(announce = false) {
    this.setVerdict("empty", { big: "?", quick: "draw a digit in the box" });
    this.say("No digit yet. Draw one in the box.", announce);
  }

  /** A dot or a tick: not sent, since it cannot be a digit. */
  showDot() {
    this.setVerdict("dot", { big: "·", line: "Too small to read", quick: "too small to read" });
    this.say("That is only a dot. Draw a digit about as tall as the guide lines.", true);
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
    const marks = Array.isArray(result.digits) ? result.digits : [];
    this.marks.show(marks);
    this.timing.textContent = describeTiming(result);
    const number = typeof result.number === "string" ? result.number : "";
    const read = marks.filter((m) => m.status === "ok");
    const others = marks.length - read.length;
    const notDigits = others
      ? ` ${others} of the marks ${others > 1 ? "are" : "is"} not a digit.`
      : "";
    let spoken;
    if (result.status === "ok" && read.length > 1) {
      this.setVerdict("ok", {
        big: number,
        line: `${number.length} digits`,
        hidden: `Reads the number ${number}: `,
        quick: `${number.length} digits`,
        settled,
      });
      this.say(result.message || `The network reads the number ${number}.`, false);
      spoken = `Reads the number ${number}: ${marks.map(spokenReading).join("; ")}.${notDigits}`;
    } else if (result.status === "ok") {
      const mark = read[0] || result;
      const sure = `${formatPercent(mark.confidence ?? 0)} sure`;
      this.setVerdict("ok", {
        big: String(mark.digit),
        line: sure,
        hidden: `Reads ${mark.digit}, `,
        quick: sure,
        settled,
      });
      const second = secondGuess(mark.probabilities || [], mark.digit) || "No other digit comes close.";
      this.say(`${second}${notDigits}`, false);
      spoken = `Reads ${mark.digit}, ${sure}. ${second}${notDigits}`;
    } else if (result.status === "not_a_digit") {
      const guess = result.guess || marks[0]?.guess;
      const small = guess ? `Best guess: ${guess.digit} (${formatPercent(guess.confidence)})` : "";
      this.setVerdict("not_a_digit", {
        big: "?",
        line: "That doesn't look like a digit",
        guess: small,
        quick: "not a digit",
        settled,
      });
      this.say(result.message || "None of the marks looks like a digit.", false);
      spoken = `That doesn't look like a digit.${small ? ` ${small}.` : ""}`;
    } else {
      this.setVerdict("no_digit", { big: "–", line: "No digit found", quick: "no digit found", settled });
      spoken = result.message || "No digit found: the image looks empty.";
      this.say(spoken, false);
    }
    this.showMark(this.marks.current);
    if (settled) this.announce(spoken);
  }

  /** Bars and preview for one mark (the picked one), or cleared for none. */
  showMark(mark) {
    if (!mark) {
      this.resetBars();
      this.setPreview(null);
      return;
    }
    this.setBars(mark.probabilities || [], mark.status === "ok" ? mark.digit : -1);
    this.setPreview(mark.input_image || null);
    const several = this.marks.marks.length > 1;
    this.barsOf.textContent = several
      ? ` — mark ${this.marks.selected + 1} of ${this.marks.marks.length}`
      : "";
    const notDigit = Number(mark.not_digit_probability);
    this.notDigitLine.hidden = !(notDigit >= 0.005);
    this.notDigitLine.textContent = `Not a digit: ${formatPercent(notDigit || 0)}`;
  }

  /**
   * No answer: the server failed, could not be reached, or refused the image. Whatever was
   * shown for an earlier drawing goes: an error never sits beside a stale reading.
   * @param {string} message  why, in plain words
   * @param {{settled?: boolean, action?: {label: string, run: () => void}|null,
   *   recovering?: boolean}} [options]  action: what "Try again" does (none: hidden);
   *   recovering: the page is watching for the server and will read again by itself
   */
  showError(message, { settled = true, action = null, recovering = false } = {}) {
    this.setVerdict("error", { big: "!", line: "No answer", quick: "no answer from the server", settled });
    const text = recovering ? `${message} The page will read again when the server is back.` : message;
    this.say(text, settled);
    if (action) {
      this.retryLabel.textContent = action.label;
      this.retryAction = action.run;
      this.retry.hidden = false;
    }
  }

  /**
   * Set the state and the verdict, and reset everything that belongs to an earlier answer.
   * big: the big digit or number; line: the line beside it; hidden: words before `line` for
   * screen readers (so "94.9% sure" says of what); guess: small type under it.
   */
  setVerdict(state, { big, line = "", hidden = "", guess = "", quick = "", settled = true }) {
    this.panel.dataset.state = state;
    this.panel.dataset.settled = String(settled);
    this.quick.dataset.state = state;
    this.retry.hidden = true;
    this.retryAction = null;
    this.digit.textContent = big;
    this.digit.dataset.length = String(Math.min(big.length, 6));
    this.quickDigit.textContent = big;
    this.quickConfidence.textContent = quick;
    const lead = document.createElement("span");
    lead.className = "visually-hidden";
    lead.textContent = hidden;
    this.confidence.replaceChildren(...(hidden ? [lead] : []), line);
    this.guess.textContent = guess;
    if (state !== "ok" && state !== "not_a_digit" && state !== "no_digit") {
      this.marks.clear();
      this.showMark(null);
      this.timing.textContent = "";
    }
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
    this.barsOf.textContent = "";
    this.notDigitLine.hidden = true;
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
        "The 28 by 28 pixel image the network saw: the mark in white on black, enlarged.";
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

/** "Next best guess: 1 (2.3%)." or "" when there is no meaningful runner-up. */
function secondGuess(probabilities, top) {
  let best = -1;
  probabilities.forEach((p, digit) => {
    if (digit !== top && (best < 0 || p > probabilities[best])) best = digit;
  });
  if (best < 0 || !(probabilities[best] >= 0.01)) return "";
  return `Next best guess: ${best} (${formatPercent(probabilities[best])}).`;
}

/** "Network default · 9 ms on the server · 812 ms round trip": both, honestly. */
function describeTiming(result) {
  const parts = [];
  if (result.model?.name) parts.push(`Network ${result.model.name}`);
  if (typeof result.time_ms === "number") parts.push(`${formatDuration(result.time_ms)} on the server`);
  if (typeof result.round_trip_ms === "number") {
    parts.push(`${formatDuration(result.round_trip_ms)} round trip`);
  }
  return parts.join(" · ");
}

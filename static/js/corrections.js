// "Not right? It's a…": the person says what the picked mark really is (0-9, or not a
// digit), and the correction goes to POST /api/feedback with the 28x28 the network saw, what
// it said, and the model that said it.
//
// - The buttons are one toolbar: one Tab stop, arrow keys (Home, End) move, Enter or Space
//   picks. The network's own reading is among them, marked and not pickable.
// - Each (mark, answer) pair gets one id, made when first picked: a double click, a click
//   again, or a retry after a network error sends the same id, so the server stores it once.
// - "Thanks, saved" and the errors are said in a polite live region under the buttons:
//   announced, and the focus stays where it is.
// - The drawing changed: the control resets and waits (visible, not pickable) for the next
//   settled reading; with no reading it is hidden.

import { ApiError, sendCorrection } from "./api.js";
import { moveFocus } from "./feature-maps.js";
import { focusFirstUsable } from "./focus.js";

const NOT_A_DIGIT = "not_a_digit";
/** Waits before sending again after a network error (the same id each time). */
const RETRY_DELAYS_MS = [700, 2000];

export class CorrectionControl {
  /**
   * @param {{root: HTMLElement, heading: HTMLElement, row: HTMLElement, about: HTMLElement,
   *   note: HTMLElement, fallbacks: HTMLElement[]}} parts  fallbacks: where the focus goes
   *   if the control is hidden while it has it
   */
  constructor({ root, heading, row, about, note, fallbacks }) {
    this.root = root;
    this.heading = heading;
    this.row = row;
    this.about = about;
    this.note = note;
    this.fallbacks = fallbacks;
    this.buttons = [...row.querySelectorAll("button[data-label]")];
    this.reading = null;
    this.reset();
    row.addEventListener("keydown", (e) => moveFocus(e, row));
    row.addEventListener("click", (e) => {
      const choice = e.target.closest("button[data-label]");
      if (choice) this.pick(choice.dataset.label);
    });
  }

  /**
   * The picked mark of the settled reading: what a correction would be about.
   * @param {object} mark  one of /predict's `digits`
   * @param {{model: {name: string, version: string}, index: number, count: number}} where
   *   model: the network that read it; index, count: which mark of how many
   */
  show(mark, { model, index, count }) {
    if (!mark || !model?.name || !model?.version) {
      this.clear();
      return;
    }
    this.reading = { mark, model, index };
    const read = readLabel(mark);
    this.heading.textContent = mark.status === "ok" ? "Not right? It's a…" : "It's a…";
    const which = count > 1 ? `About mark ${index + 1} of ${count}. ` : "";
    this.about.textContent =
      `${which}Your answer is saved with the 28×28 image the network saw, to teach the next ` +
      "model; nothing about you is stored.";
    const saved = this.saved.get(index);
    for (const choice of this.buttons) {
      const label = choice.dataset.label;
      const isRead = label === read;
      choice.dataset.read = String(isRead);
      choice.setAttribute("aria-disabled", String(isRead));
      choice.setAttribute("aria-pressed", String(label === saved));
      choice.setAttribute("aria-label", isRead ? `${labelText(label)}: the network's reading` : labelText(label));
    }
    if (this.shownIndex !== index) this.say("", "");
    this.shownIndex = index;
    this.root.hidden = false;
    this.root.dataset.state = "ready";
  }

  /** The drawing changed: forget the answers given, and wait for the next reading. */
  markPending() {
    if (this.root.hidden) return;
    this.reset();
    this.root.dataset.state = "pending";
    for (const choice of this.buttons) {
      choice.setAttribute("aria-disabled", "true");
      choice.setAttribute("aria-pressed", "false");
    }
  }

  /** No reading (empty pad, a dot, an error): nothing to correct. */
  clear() {
    if (this.root.contains(document.activeElement)) focusFirstUsable(this.fallbacks);
    this.reset();
    this.root.hidden = true;
    this.root.dataset.state = "hidden";
  }

  reset() {
    this.reading = null;
    /** "index:label" -> the id that answer is sent with, every time. */
    this.ids = new Map();
    /** mark index -> the label saved for it */
    this.saved = new Map();
    this.shownIndex = -1;
    this.sending = null;
    this.say("", "");
  }

  /** The person picked `label` ("0"-"9" or "not_a_digit") for the mark on show. */
  async pick(label) {
    const reading = this.reading;
    if (!reading || this.sending || label === readLabel(reading.mark)) return;
    const key = `${reading.index}:${label}`;
    if (!this.ids.has(key)) this.ids.set(key, newId());
    const correction = {
      id: this.ids.get(key),
      image: reading.mark.input_image,
      label: label === NOT_A_DIGIT ? NOT_A_DIGIT : Number(label),
      predicted: {
        status: reading.mark.status,
        digit: reading.mark.digit ?? null,
        confidence: reading.mark.confidence ?? null,
      },
      model: { name: reading.model.name, version: reading.model.version },
    };
    if (Array.isArray(reading.mark.box)) correction.box = reading.mark.box;
    const ids = this.ids;
    this.sending = key;
    this.root.dataset.state = "saving";
    this.say("Saving…", "busy");
    let failure = null;
    try {
      await sendWithRetries(correction);
    } catch (error) {
      failure = error;
    }
    if (this.ids !== ids) return; // the drawing changed meanwhile: that control is gone
    this.sending = null;
    this.root.dataset.state = "ready";
    if (failure) {
      this.say(failureMessage(failure), "error");
      return;
    }
    this.saved.set(reading.index, label);
    if (this.reading?.index === reading.index) {
      for (const choice of this.buttons) {
        choice.setAttribute("aria-pressed", String(choice.dataset.label === label));
      }
    }
    this.say(`Thanks, saved: ${labelText(label, "it's a ")}.`, "saved");
  }

  say(text, kind) {
    this.note.dataset.kind = kind;
    if (this.note.textContent !== text) this.note.textContent = text;
  }
}

/** POST the correction; after a network error, again (the same id) a few times. */
async function sendWithRetries(correction) {
  for (let attempt = 0; ; attempt += 1) {
    try {
      return await sendCorrection(correction);
    } catch (error) {
      const lost = error instanceof ApiError && error.kind === "network";
      if (!lost || attempt >= RETRY_DELAYS_MS.length) throw error;
      await new Promise((resolve) => setTimeout(resolve, RETRY_DELAYS_MS[attempt]));
    }
  }
}

/** The answer the network gave, as a label of this control. */
function readLabel(mark) {
  return mark.status === "ok" ? String(mark.digit) : NOT_A_DIGIT;
}

function labelText(label, article = "") {
  return label === NOT_A_DIGIT ? "not a digit" : `${article}${label}`;
}

/** Why it was not saved, in plain words; the reading itself is never affected. */
function failureMessage(error) {
  if (!(error instanceof ApiError) || error.kind === "network") {
    return "Couldn't reach the server, so it wasn't saved. Pick it again in a moment.";
  }
  if (error.kind === "timeout") return "The server took too long, so it may not be saved. Pick it again.";
  switch (error.status) {
    case 503:
      return "Couldn't save it right now; the reading is unaffected. Try again later.";
    case 429:
      return error.retryAfter
        ? `Too many corrections in the last minute: try again in ${error.retryAfter} s.`
        : "Too many corrections in the last minute: try again shortly.";
    case 507:
      return "The store of corrections is full, so this one wasn't saved; the reading is unaffected.";
    case 400:
      return `The server refused the correction${error.detail ? `: ${error.detail}` : "."}`;
    default:
      return `Couldn't save it (error ${error.status}); the reading is unaffected.`;
  }
}

/** A fresh id for one correction: a UUID (or 32 random hex digits where that is missing). */
function newId() {
  if (typeof crypto.randomUUID === "function") return crypto.randomUUID();
  const bytes = crypto.getRandomValues(new Uint8Array(16));
  return Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
}

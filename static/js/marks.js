// The marks read in a drawing: a box and a small reading for each on the pad, and one choice
// per mark in the result panel (a radio group) to pick which one the probabilities, the
// 28x28 preview and "look inside" are about.

import { button, digitImage, span } from "./dom.js";
import { formatPercent } from "./format.js";

export class MarksView extends EventTarget {
  /**
   * @param {{overlay: HTMLElement, section: HTMLElement, list: HTMLElement,
   *   boxOnPad: (box: number[]) => {left: number, top: number, width: number, height: number}}} options
   */
  constructor({ overlay, section, list, boxOnPad }) {
    super();
    this.overlay = overlay;
    this.section = section;
    this.list = list;
    this.boxOnPad = boxOnPad;
    this.marks = [];
    this.selected = 0;
    list.addEventListener("keydown", (e) => this.onKey(e));
  }

  /** The mark picked (the first by default), or null when there are none. */
  get current() {
    return this.marks[this.selected] ?? null;
  }

  /**
   * Show the marks of an answer (`digits` of /predict). The selection stays on the same
   * position when the drawing changes, so live updates do not jump back to the first.
   */
  show(marks) {
    this.marks = Array.isArray(marks) ? marks : [];
    if (this.selected >= this.marks.length) this.selected = 0;
    this.renderBoxes();
    this.renderChoices();
  }

  clear() {
    this.marks = [];
    this.selected = 0;
    this.overlay.replaceChildren();
    this.list.replaceChildren();
    this.section.hidden = true;
  }

  select(index, { focus = false } = {}) {
    if (index < 0 || index >= this.marks.length) return;
    const changed = index !== this.selected;
    this.selected = index;
    this.renderBoxes();
    this.renderChoices();
    if (focus) this.list.children[index]?.focus();
    if (changed) this.dispatchEvent(new CustomEvent("select", { detail: { index } }));
  }

  renderBoxes() {
    const boxes = this.marks.map((mark, i) => {
      const place = this.boxOnPad(mark.box);
      const box = document.createElement("div");
      box.className = "mark-box";
      box.dataset.status = mark.status;
      box.dataset.selected = String(i === this.selected && this.marks.length > 1);
      box.dataset.atTop = String(place.top < 0.09);
      box.style.setProperty("--left", String(place.left));
      box.style.setProperty("--top", String(place.top));
      box.style.setProperty("--width", String(place.width));
      box.style.setProperty("--height", String(place.height));
      const label = document.createElement("span");
      label.className = "mark-label";
      label.textContent = shortReading(mark);
      box.append(label);
      return box;
    });
    this.overlay.replaceChildren(...boxes);
  }

  renderChoices() {
    this.section.hidden = this.marks.length < 2;
    const count = this.section.hidden ? 0 : this.marks.length;
    // Existing choices are updated in place, never re-inserted: a focused one keeps focus.
    while (this.list.children.length > count) this.list.lastChild.remove();
    this.marks.slice(0, count).forEach((mark, i) => {
      const item = this.list.children[i] || this.list.appendChild(this.createChoice(i));
      const chosen = i === this.selected;
      item.setAttribute("aria-checked", String(chosen));
      item.tabIndex = chosen ? 0 : -1;
      item.dataset.status = mark.status;
      item.querySelector("img").src = mark.input_image;
      item.querySelector(".mark-digit").textContent = mark.status === "ok" ? String(mark.digit) : "?";
      item.querySelector(".mark-confidence").textContent = shortConfidence(mark);
      item.setAttribute("aria-label", `Mark ${i + 1} of ${this.marks.length}: ${spokenReading(mark)}`);
    });
  }

  createChoice(index) {
    const item = button("mark-choice");
    item.setAttribute("role", "radio");
    item.append(digitImage(""), span("mark-digit", ""), span("mark-confidence", ""));
    item.addEventListener("click", () => this.select(index));
    return item;
  }

  /** Arrow keys move the choice, as in any radio group. */
  onKey(e) {
    const step = { ArrowRight: 1, ArrowDown: 1, ArrowLeft: -1, ArrowUp: -1 }[e.key];
    if (!step || this.marks.length < 2) return;
    e.preventDefault();
    const next = (this.selected + step + this.marks.length) % this.marks.length;
    this.select(next, { focus: true });
  }
}

/** "7 99%" or "? not a digit" on the pad. */
function shortReading(mark) {
  return mark.status === "ok" ? `${mark.digit} ${shortConfidence(mark)}` : "not a digit";
}

function shortConfidence(mark) {
  if (mark.status === "ok") return formatPercent(mark.confidence ?? 0);
  return "not a digit";
}

/** How a screen reader says one mark. */
export function spokenReading(mark) {
  if (mark.status === "ok") return `${mark.digit}, ${formatPercent(mark.confidence ?? 0)} sure`;
  const guess = mark.guess ? ` (best guess ${mark.guess.digit}, ${formatPercent(mark.guess.confidence)})` : "";
  return `not a digit${guess}`;
}

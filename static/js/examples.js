// "Try an example": real MNIST test digits (static/examples/mnist-test-digits.json, made by
// scripts/make_examples.py) to read with one click or key: one of each digit, then a few that
// the current network misreads (from its report card).

import { button, digitImage, span } from "./dom.js";
import { moveFocus } from "./feature-maps.js";

/** How many of the current network's misread digits the row offers. */
const MISREAD_IN_ROW = 4;

export class ExampleRow {
  /**
   * @param {{root: HTMLElement, row: HTMLElement, onPick: (digit: object) => void}} parts
   */
  constructor({ root, row, onPick }) {
    this.root = root;
    this.row = row;
    this.onPick = onPick;
    /** @type {Map<number, {index: number, label: number, image: string}>} */
    this.digits = new Map();
    this.examples = [];
    this.misread = [];
    row.addEventListener("keydown", (e) => moveFocus(e, row));
  }

  /** The examples file's answer. */
  load(document) {
    this.digits = new Map(document.digits.map((d) => [d.index, d]));
    this.examples = document.examples;
    this.render();
    this.root.dataset.state = "ready";
  }

  fail() {
    this.root.dataset.state = "error";
    this.root.hidden = true;
  }

  /** The current network's misread digits (its report card's `misread`). */
  setMisread(misread) {
    this.misread = misread.filter((m) => this.digits.has(m.index)).slice(0, MISREAD_IN_ROW);
    this.render();
  }

  render() {
    if (this.digits.size === 0) return;
    const buttons = [
      ...this.examples.map((index) => this.button(this.digits.get(index), null)),
      ...this.misread.map((m) => this.button(this.digits.get(m.index), m)),
    ];
    buttons.forEach((b, i) => {
      b.tabIndex = i === 0 ? 0 : -1;
    });
    this.row.replaceChildren(...buttons);
  }

  button(digit, misread) {
    const example = button("example");
    example.dataset.index = String(digit.index);
    example.dataset.label = String(digit.label);
    example.append(digitImage(digit.image));
    if (misread) {
      example.dataset.misread = "true";
      example.append(span("example-tag", "misread"));
      example.setAttribute("aria-label", `A ${digit.label} that the network misreads as ${misread.predicted}`);
    } else {
      example.setAttribute("aria-label", `A handwritten ${digit.label}`);
    }
    example.addEventListener("click", () => this.onPick(digit));
    return example;
  }
}

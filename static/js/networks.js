// "Compare networks": which network reads the drawing (GET /api/models), and, when asked,
// every network's reading of the same drawing side by side.

import { formatAccuracy, formatPercent } from "./format.js";

export class NetworkChoice extends EventTarget {
  /**
   * @param {{root: HTMLElement, select: HTMLSelectElement, toggle: HTMLInputElement,
   *   section: HTMLElement, list: HTMLElement}} parts
   */
  constructor({ root, select, toggle, section, list }) {
    super();
    Object.assign(this, { root, select, toggle, section, list });
    this.names = [];
    select.addEventListener("change", () => this.dispatchEvent(new CustomEvent("change")));
    toggle.addEventListener("change", () => {
      if (!toggle.checked) this.clear();
      this.dispatchEvent(new CustomEvent("compare"));
    });
  }

  /** The /api/models answer: the default is chosen; one network alone needs no choice. */
  load({ default: chosen, models }) {
    this.names = models.map((m) => m.name);
    const options = models.map((m) => {
      const option = document.createElement("option");
      option.value = m.name;
      const accuracy = typeof m.test_accuracy === "number" ? `, ${formatAccuracy(m.test_accuracy)} on MNIST` : "";
      option.textContent = `${m.name} (${m.parameters.toLocaleString("en-US")} weights${accuracy})`;
      return option;
    });
    this.select.replaceChildren(...options);
    this.select.value = chosen;
    this.root.hidden = this.names.length < 2;
  }

  /** The chosen network's name (null before the list has loaded: the server's default). */
  get current() {
    return this.select.value || null;
  }

  get comparing() {
    return this.toggle.checked && this.names.length > 1;
  }

  /** Every network, the chosen one first. */
  get order() {
    return [this.current, ...this.names.filter((n) => n !== this.current)];
  }

  /** Show the readings: [{name, result}|{name, error}], in `order`. */
  show(readings) {
    const items = readings.map(({ name, result, error }) => {
      const li = document.createElement("li");
      li.className = "compare-item";
      li.dataset.model = name;
      const title = document.createElement("span");
      title.className = "compare-name";
      title.textContent = name === this.current ? `${name} (chosen)` : name;
      const reading = document.createElement("span");
      reading.className = "compare-reading";
      reading.textContent = error ? "no answer" : summarise(result);
      li.append(title, reading);
      return li;
    });
    this.list.replaceChildren(...items);
    this.section.hidden = false;
  }

  clear() {
    this.list.replaceChildren();
    this.section.hidden = true;
  }
}

/** "7 · 99.1% sure", "2026", "not a digit", "no digit". */
function summarise(result) {
  if (result.status === "ok" && result.digits?.length > 1) return result.number;
  if (result.status === "ok") return `${result.digit ?? result.number} · ${formatPercent(result.confidence ?? 0)} sure`;
  if (result.status === "not_a_digit") return "not a digit";
  return "no digit";
}

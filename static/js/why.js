// "Why this reading": the picked mark's saliency map, laid over its 28x28 preview and over
// the drawing itself, a choice of map (integrated gradients, occlusion, or none) and a
// caption in plain words.
//
// The map comes with look inside's answer: the mark's 28x28 sent again with ?explain=1
// passes through unchanged, so the map of that answer's one mark is the map of this mark (the
// server explains every mark it reads). The mark's `frame` in the reading places its 28x28
// over the image that was sent (pixel column u starts at x0 + u / scale), and the pad knows
// where that image is on itself, so the same map is drawn over the strokes.
//
// The overlays never take a pointer (the pad stays drawable through them), and they go as
// soon as the drawing or the picked mark changes: a map is only shown for the reading it
// explains.

import { span } from "./dom.js";

/** The maps, in the order of the choice, and what each means in one line. */
const METHODS = {
  integrated_gradients:
    "Integrated gradients: how strongly each pixel pushed the network towards the digit, " +
    "found by fading the mark in from a blank square. Only ink is marked.",
  occlusion:
    "Occlusion: how much the network's certainty drops when a small square around each pixel " +
    "is blanked out, so blank paper can matter too.",
};
const OFF = "off";

export class WhyView {
  /**
   * @param {{section: HTMLElement, choices: HTMLFieldSetElement, caption: HTMLElement,
   *   method: HTMLElement, preview: HTMLImageElement, padOverlay: HTMLImageElement,
   *   boxOnPad: (box: number[]) => {left: number, top: number, width: number, height: number}}} parts
   */
  constructor({ section, choices, caption, method, preview, padOverlay, boxOnPad }) {
    this.section = section;
    this.choices = choices;
    this.caption = caption;
    this.method = method;
    this.preview = preview;
    this.padOverlay = padOverlay;
    this.boxOnPad = boxOnPad;
    this.choice = choices.querySelector("input:checked")?.value || OFF;
    this.mark = null;
    this.explanation = null;
    choices.addEventListener("change", (e) => {
      this.choice = e.target.value;
      this.render();
    });
  }

  /**
   * The maps of `mark` (the picked mark of the settled reading): `explanation` is its
   * {target, integrated_gradients: {png}, occlusion: {png}}; without one, nothing is shown.
   */
  show(mark, explanation) {
    if (mark && isExplanation(explanation)) this.set(mark, explanation);
    else this.clear();
  }

  /** The drawing, or the picked mark, changed: the maps go; the choice stays, faded. */
  markStale() {
    this.explanation = null;
    this.section.dataset.stale = "true";
    this.render();
  }

  /** No reading: nothing to explain. */
  clear() {
    this.set(null, null);
  }

  /** Show the maps of `mark` (shown, fresh), or with none hide the section. */
  set(mark, explanation) {
    this.mark = mark;
    this.explanation = explanation;
    this.section.hidden = !explanation;
    this.section.dataset.stale = "false";
    this.render();
  }

  render() {
    const { explanation, mark, choice } = this;
    this.section.dataset.map = choice;
    const map = explanation && choice !== OFF ? explanation[choice].png : null;
    setOverlay(this.preview, map);
    const onPad = map && validFrame(mark?.frame);
    if (onPad) this.place(mark.frame);
    setOverlay(this.padOverlay, onPad ? map : null);
    if (explanation) this.describe(explanation.target);
  }

  /** The 28x28's square on the pad, through the mark's frame. */
  place({ scale, x0, y0 }) {
    const side = 28 / scale;
    const place = this.boxOnPad([x0, y0, x0 + side, y0 + side]);
    for (const key of ["left", "top", "width", "height"]) {
      this.padOverlay.style.setProperty(`--${key}`, String(place[key]));
    }
  }

  describe(target) {
    const thought = this.mark.status === "ok"
      ? `think ${target}`
      : `think of a ${target} (its best guess)`;
    if (this.choice === OFF) {
      this.caption.replaceChildren(`The heatmap is off. Pick a map to see what made the network ${thought}.`);
      this.method.textContent = "";
      return;
    }
    this.caption.replaceChildren(
      span("swatch swatch-towards", ""),
      ` Red: what made the network ${thought}. `,
      span("swatch swatch-against", ""),
      " Blue: what argued against it.",
    );
    this.method.textContent = METHODS[this.choice];
  }
}

function setOverlay(img, src) {
  if (src) {
    if (img.getAttribute("src") !== src) img.src = src;
    img.hidden = false;
  } else {
    img.hidden = true;
    img.removeAttribute("src");
  }
}

function isExplanation(explanation) {
  return Boolean(explanation) && Number.isInteger(explanation.target) &&
    Object.keys(METHODS).every((name) => typeof explanation[name]?.png === "string");
}

function validFrame(frame) {
  return Boolean(frame) && frame.scale > 0 && Number.isFinite(frame.x0) &&
    Number.isFinite(frame.y0);
}

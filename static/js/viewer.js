// One feature map or kernel, enlarged in a modal dialog with its value scale.

import { renderLegend } from "./colormap.js";

const $ = (id) => document.getElementById(id);

export class Viewer {
  constructor() {
    this.dialog = $("viewer");
    this.title = $("viewer-title");
    this.canvas = $("viewer-canvas");
    this.legend = $("viewer-legend");
    this.note = $("viewer-note");
    $("viewer-close").addEventListener("click", () => this.dialog.close());
    // A click on the backdrop (outside the dialog's box) closes it too.
    this.dialog.addEventListener("click", (e) => {
      if (e.target === this.dialog) this.dialog.close();
    });
  }

  get isOpen() {
    return this.dialog.open;
  }

  /**
   * @param {{title: string, paint: (canvas: HTMLCanvasElement) => void, legend: object,
   *   note: string, label: string}} view  paint draws the grid (one pixel per value);
   *   label describes the picture for screen readers
   */
  open({ title, paint, legend, note, label }) {
    this.title.textContent = title;
    paint(this.canvas);
    this.canvas.setAttribute("role", "img");
    this.canvas.setAttribute("aria-label", label);
    renderLegend(this.legend, legend);
    this.note.textContent = note;
    if (!this.dialog.open) this.dialog.showModal(); // focus goes to Close, and back after
  }
}

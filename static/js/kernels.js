// "The filters themselves": the first convolution's learned kernels from GET /api/kernels,
// each a small grid of weights drawn on one shared scale, enlarged on click.

import { COLOURS, paintGrid, renderLegend } from "./colormap.js";
import { button, paragraph } from "./dom.js";
import { moveFocus } from "./feature-maps.js";
import { formatValue } from "./format.js";

export class KernelView {
  /**
   * @param {{grid: HTMLElement, legend: HTMLElement, viewer: import("./viewer.js").Viewer}} parts
   */
  constructor({ grid, legend, viewer }) {
    this.grid = grid;
    this.legend = legend;
    this.viewer = viewer;
    this.kernels = null;
    grid.setAttribute("role", "group");
    grid.addEventListener("keydown", (e) => moveFocus(e, grid));
  }

  /** @param {object} kernels  the /api/kernels answer */
  show(kernels) {
    this.kernels = kernels;
    const scale = kernels.scale || 1;
    const tiles = kernels.weights.map((filter, i) => {
      const tile = button("kernel-tile");
      tile.tabIndex = i === 0 ? 0 : -1;
      tile.setAttribute("aria-label", `Filter ${i + 1} of ${kernels.filters}`);
      const canvas = document.createElement("canvas");
      paintGrid(canvas, filter[0], COLOURS.diverging, (v) => v / scale);
      tile.append(canvas);
      tile.addEventListener("click", () => this.enlarge(i));
      return tile;
    });
    this.grid.replaceChildren(...tiles);
    this.grid.setAttribute(
      "aria-label",
      `${kernels.filters} learned filters of ${kernels.height}×${kernels.width} weights. Arrow keys move between them, Enter enlarges one.`,
    );
    renderLegend(this.legend, {
      kind: "diverging",
      min: -scale,
      max: scale,
      label: "Weight, one scale for every filter",
    });
  }

  showMessage(text) {
    this.grid.replaceChildren(paragraph("placeholder", text));
    this.legend.replaceChildren();
  }

  enlarge(index) {
    const { weights, scale, height, width, filters, channels } = this.kernels;
    const grid = weights[index][0];
    const flat = grid.flat();
    this.viewer.open({
      title: `Filter ${index + 1} of ${filters} (first layer)`,
      paint: (canvas) => paintGrid(canvas, grid, COLOURS.diverging, (v) => v / scale),
      legend: { kind: "diverging", min: -scale, max: scale, label: "Weight" },
      note: `${height}×${width} weights, from ${formatValue(Math.min(...flat))} to ${formatValue(Math.max(...flat))}. Orange wants ink, blue wants blank paper; its feature map (layer 1, map ${index + 1}) is bright where the drawing matches.${channels > 1 ? " Only its first input channel is shown." : ""}`,
      label: `Filter ${index + 1}: ${height} by ${width} weights`,
    });
  }
}

// Small grids of numbers drawn as pixels, on a shared scale, and the legend that says what
// the colours mean. Used for the first layer's kernels and the enlarged feature maps.

import { formatValue } from "./format.js";

const NEGATIVE = [33, 102, 172]; // blue: the filter wants blank paper here
const ZERO = [247, 247, 247];
const POSITIVE = [202, 92, 8]; // orange: the filter wants ink here

function mix(a, b, t) {
  return a.map((v, i) => Math.round(v + (b[i] - v) * t));
}

/** Colour maps: a value scaled to 0..1 (gray) or -1..1 (diverging) -> [r, g, b]. */
export const COLOURS = {
  gray: (t) => {
    const v = Math.round(Math.min(1, Math.max(0, t)) * 255);
    return [v, v, v];
  },
  diverging: (t) => {
    const c = Math.min(1, Math.max(-1, t));
    return c < 0 ? mix(ZERO, NEGATIVE, -c) : mix(ZERO, POSITIVE, c);
  },
};

/**
 * Paint `rows` (a 2-D array of numbers) onto `canvas`, one canvas pixel per value; CSS
 * enlarges it with crisp pixels. `scale(v)` maps a value to the colour map's domain.
 */
export function paintGrid(canvas, rows, colour, scale) {
  const height = rows.length;
  const width = rows[0]?.length || 0;
  canvas.width = width;
  canvas.height = height;
  const ctx = canvas.getContext("2d");
  const image = ctx.createImageData(width, height);
  rows.forEach((row, y) =>
    row.forEach((value, x) => {
      const [r, g, b] = colour(scale(value));
      const i = (y * width + x) * 4;
      image.data.set([r, g, b, 255], i);
    }),
  );
  ctx.putImageData(image, 0, 0);
}

/**
 * A legend: a colour bar and its values at both ends (and zero for a diverging scale).
 * @param {HTMLElement} container
 * @param {{kind: "gray"|"diverging", min: number, max: number, label: string}} scale
 */
export function renderLegend(container, { kind, min, max, label }) {
  const bar = document.createElement("span");
  bar.className = `legend-bar legend-${kind}`;
  const ends = document.createElement("span");
  ends.className = "legend-values";
  const values = kind === "diverging" ? [min, 0, max] : [min, max];
  ends.append(...values.map((v) => {
    const span = document.createElement("span");
    span.textContent = formatValue(v);
    return span;
  }));
  const caption = document.createElement("span");
  caption.className = "legend-label";
  caption.textContent = label;
  container.replaceChildren(caption, bar, ends);
  container.setAttribute("role", "img");
  container.setAttribute(
    "aria-label",
    `${label}: colour scale from ${formatValue(min)} to ${formatValue(max)}`,
  );
}

// A small line chart as SVG, drawn without any outside library: epochs along x, one line per
// series, the axis ends labelled. Colours and widths come from the stylesheet (classes).

const SVG = "http://www.w3.org/2000/svg";
const W = 320;
const H = 180;
const PAD = { left: 44, right: 12, top: 12, bottom: 30 };

function el(name, attributes = {}, text = "") {
  const node = document.createElementNS(SVG, name);
  for (const [key, value] of Object.entries(attributes)) node.setAttribute(key, String(value));
  if (text) node.textContent = text;
  return node;
}

/**
 * @param {{title: string, summary: string, xs: number[], series: {name: string,
 *   className: string, values: (number|null)[]}[], format: (v: number) => string,
 *   marker?: number}} chart  marker: an x to mark (the kept epoch)
 * @returns {SVGSVGElement}
 */
export function lineChart({ title, summary, xs, series, format, marker }) {
  const svg = el("svg", { viewBox: `0 0 ${W} ${H}`, class: "chart", role: "img" });
  svg.setAttribute("aria-label", `${title}. ${summary}`);
  const values = series.flatMap((s) => s.values).filter((v) => Number.isFinite(v));
  if (xs.length === 0 || values.length === 0) return svg;
  let low = Math.min(...values);
  let high = Math.max(...values);
  if (high - low < 1e-9) {
    low -= 0.5;
    high += 0.5;
  }
  const x0 = xs[0];
  const x1 = xs[xs.length - 1];
  const px = (x) => PAD.left + (x1 === x0 ? 0.5 : (x - x0) / (x1 - x0)) * (W - PAD.left - PAD.right);
  const py = (y) => PAD.top + (1 - (y - low) / (high - low)) * (H - PAD.top - PAD.bottom);

  svg.append(
    el("line", { class: "chart-axis", x1: PAD.left, y1: H - PAD.bottom, x2: W - PAD.right, y2: H - PAD.bottom }),
    el("line", { class: "chart-axis", x1: PAD.left, y1: PAD.top, x2: PAD.left, y2: H - PAD.bottom }),
    el("text", { class: "chart-tick", x: PAD.left - 4, y: py(high) + 4, "text-anchor": "end" }, format(high)),
    el("text", { class: "chart-tick", x: PAD.left - 4, y: py(low), "text-anchor": "end" }, format(low)),
    el("text", { class: "chart-tick", x: px(x0), y: H - PAD.bottom + 14, "text-anchor": "middle" }, String(x0)),
    el("text", { class: "chart-tick", x: px(x1), y: H - PAD.bottom + 14, "text-anchor": "middle" }, String(x1)),
    el("text", { class: "chart-tick", x: (PAD.left + W - PAD.right) / 2, y: H - 4, "text-anchor": "middle" }, "epoch"),
  );
  if (Number.isFinite(marker)) {
    svg.append(el("line", { class: "chart-marker", x1: px(marker), y1: PAD.top, x2: px(marker), y2: H - PAD.bottom }));
  }
  for (const s of series) {
    const points = xs
      .map((x, i) => [x, s.values[i]])
      .filter(([, y]) => Number.isFinite(y))
      .map(([x, y]) => `${px(x).toFixed(1)},${py(y).toFixed(1)}`);
    svg.append(el("polyline", { class: `chart-line ${s.className}`, points: points.join(" ") }));
  }
  return svg;
}

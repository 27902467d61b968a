// "Look inside": one collapsible section per convolution layer, its feature maps on one
// scale with a legend, any map enlarged on click.
//
// - A layer's tiles are made only when its section is open (on a phone the sections start
//   closed, so 224 tiles do not make the page six screens long).
// - The tiles of a layer are one stop for Tab: arrow keys move between them, Enter or a
//   click enlarges one.
// - Sections and tiles are reused between updates (only `src` changes), so the grid does not
//   flicker or jump while the drawing changes.

import { renderLegend } from "./colormap.js";
import { button, paragraph } from "./dom.js";
import { formatValue } from "./format.js";

/** Below this width the layer sections start closed. */
const NARROW = "(max-width: 700px)";

export class FeatureMapView {
  /** @param {HTMLElement} container @param {import("./viewer.js").Viewer} viewer */
  constructor(container, viewer) {
    this.container = container;
    this.viewer = viewer;
    this.sections = new Map(); // layer key -> section parts
    this.startOpen = !window.matchMedia(NARROW).matches;
  }

  /** Show the API's `feature_maps` list; `subject` says which mark they are for. */
  show(featureMaps, subject = "") {
    if (!Array.isArray(featureMaps) || featureMaps.length === 0) {
      this.showMessage("This server did not send feature maps for the drawing.");
      return;
    }
    this.container.querySelector(":scope > .placeholder")?.remove();
    let heading = this.container.querySelector(":scope > .maps-subject");
    if (!heading) {
      heading = paragraph("maps-subject", "");
      this.container.prepend(heading);
    }
    heading.textContent = subject;
    const keep = new Set();
    featureMaps.forEach((layer, position) => {
      const key = `${layer.layer ?? position}`;
      keep.add(key);
      const section = this.sections.get(key) || this.createSection(key);
      section.layer = layer;
      section.position = position;
      section.count = featureMaps.length;
      this.fillHead(section);
      if (section.root.open) this.fillTiles(section);
      // New sections go last (API order); existing ones stay put, so focus inside them stays.
      if (!section.root.isConnected) this.container.append(section.root);
    });
    for (const [key, section] of this.sections) {
      if (!keep.has(key)) {
        section.root.remove();
        this.sections.delete(key);
      }
    }
    this.container.dataset.state = "ready";
  }

  /** The maps on screen no longer match the drawing (it is being changed). */
  markStale() {
    if (this.container.dataset.state === "ready") this.container.dataset.state = "stale";
  }

  showMessage(text) {
    for (const section of this.sections.values()) section.root.remove();
    this.sections.clear();
    this.container.replaceChildren(paragraph("placeholder", text));
    this.container.dataset.state = "empty";
  }

  createSection(key) {
    const root = document.createElement("details");
    root.className = "fold layer";
    root.dataset.layer = key;
    root.open = this.startOpen;
    const summary = document.createElement("summary");
    const title = document.createElement("span");
    title.className = "fold-title";
    const shape = document.createElement("span");
    shape.className = "layer-shape";
    summary.append(title, shape);
    const body = document.createElement("div");
    body.className = "fold-body";
    const role = paragraph("layer-summary", "");
    const legend = document.createElement("div");
    legend.className = "legend";
    const grid = document.createElement("div");
    grid.className = "layer-maps";
    grid.setAttribute("role", "group");
    grid.addEventListener("keydown", (e) => moveFocus(e, grid));
    body.append(role, legend, grid);
    root.append(summary, body);
    const section = { root, title, shape, role, legend, grid, layer: null, position: 0, count: 0 };
    root.addEventListener("toggle", () => {
      if (root.open && section.layer) this.fillTiles(section);
    });
    this.sections.set(key, section);
    return section;
  }

  fillHead(section) {
    const { layer, position, count } = section;
    section.title.textContent = `Layer ${position + 1} of ${count}`;
    section.shape.textContent = `${layer.channels} maps of ${layer.height}×${layer.width}`;
    section.role.textContent = explainRole(position, count, layer);
    const scale = layer.scale || { min: 0, max: 1 };
    renderLegend(section.legend, {
      kind: "gray",
      min: scale.min,
      max: scale.max,
      label: "Every map of this layer on one scale",
    });
    section.grid.setAttribute(
      "aria-label",
      `${layer.channels} feature maps of layer ${position + 1}. Arrow keys move between them, Enter enlarges one.`,
    );
  }

  fillTiles(section) {
    const { layer, grid, position } = section;
    const maps = Array.isArray(layer.maps) ? layer.maps : [];
    const peaks = Array.isArray(layer.peaks) ? layer.peaks : [];
    const tiles = grid.children;
    while (tiles.length > maps.length) tiles[tiles.length - 1].remove();
    maps.forEach((src, channel) => {
      let tile = tiles[channel];
      if (!tile) {
        tile = button("map-tile");
        tile.tabIndex = channel === 0 ? 0 : -1;
        const img = document.createElement("img");
        img.alt = "";
        img.decoding = "async";
        tile.append(img);
        tile.addEventListener("click", () => this.enlarge(section, Number(tile.dataset.channel)));
        grid.append(tile);
      }
      tile.dataset.channel = String(channel);
      const img = tile.firstChild;
      img.width = layer.width || 28;
      img.height = layer.height || 28;
      if (img.src !== src) img.src = src;
      const peak = peaks[channel];
      tile.setAttribute(
        "aria-label",
        `Map ${channel + 1} of ${maps.length}${peak !== undefined ? `, strongest value ${formatValue(peak)}` : ""}`,
      );
    });
    grid.dataset.position = String(position);
  }

  enlarge(section, channel) {
    const { layer, position } = section;
    const img = section.grid.children[channel]?.firstChild;
    if (!img) return;
    const scale = layer.scale || { min: 0, max: 1 };
    const peak = layer.peaks?.[channel];
    this.viewer.open({
      title: `Layer ${position + 1}, map ${channel + 1} of ${layer.channels}`,
      paint: (canvas) => {
        canvas.width = layer.width;
        canvas.height = layer.height;
        canvas.getContext("2d").drawImage(img, 0, 0, layer.width, layer.height);
      },
      legend: { kind: "gray", min: scale.min, max: scale.max, label: "The layer's scale" },
      note:
        peak !== undefined
          ? `Strongest value in this map: ${formatValue(peak)} (the layer's strongest: ${formatValue(scale.max)}). Each pixel is one position of the filter; black means it did not respond.`
          : "",
      label: `Feature map ${channel + 1} of layer ${position + 1}, ${layer.height} by ${layer.width} pixels`,
    });
  }
}

/** What a convolution layer at this depth does, in plain words. */
function explainRole(position, count, layer) {
  const cell = Math.round(28 / (layer.height || 28));
  if (position === 0) {
    return "Each filter looks at a few pixels at a time and finds simple patterns: edges, the sides and ends of strokes. One map pixel is one position in the 28×28 image.";
  }
  const coarse = `Each map pixel here stands for a ${cell}×${cell} patch of the 28×28 image`;
  if (position === count - 1) {
    return `${coarse}, so the maps are coarse: they say roughly where a part of a digit (a loop, a corner, a crossing) was found, not what it looks like. The dense layers after this one weigh them up.`;
  }
  return `${coarse}. These filters combine the previous layer's patterns into larger pieces: curves, corners and line ends.`;
}

/** Arrow keys, Home and End move focus between a grid's buttons (one Tab stop). */
export function moveFocus(e, grid) {
  const tiles = [...grid.children];
  const index = tiles.indexOf(document.activeElement);
  if (index < 0) return;
  const perRow = Math.max(1, Math.round(grid.clientWidth / (tiles[0].offsetWidth || 1)));
  const step = { ArrowRight: 1, ArrowLeft: -1, ArrowDown: perRow, ArrowUp: -perRow }[e.key];
  let next;
  if (step) next = Math.min(tiles.length - 1, Math.max(0, index + step));
  else if (e.key === "Home") next = 0;
  else if (e.key === "End") next = tiles.length - 1;
  else return;
  e.preventDefault();
  tiles[index].tabIndex = -1;
  tiles[next].tabIndex = 0;
  tiles[next].focus();
}


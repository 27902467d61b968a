// "Look inside": one block per convolution layer, one small image per channel.
//
// Blocks and images are reused between updates (only `src` changes), so the grid does not
// flicker or jump while the drawing changes.

export class FeatureMapView {
  constructor(container) {
    this.container = container;
    this.blocks = new Map(); // layer key -> {root, shape, description, grid}
  }

  /** Show the API's `feature_maps` list. */
  show(featureMaps) {
    if (!Array.isArray(featureMaps) || featureMaps.length === 0) {
      this.showMessage("This server did not send feature maps for the drawing.");
      return;
    }
    this.container.querySelector(":scope > .placeholder")?.remove();
    const keep = new Set();
    featureMaps.forEach((layer, position) => {
      const key = `${layer.layer ?? position}`;
      keep.add(key);
      const block = this.blocks.get(key) || this.createBlock(key);
      this.fillBlock(block, layer, position, featureMaps.length);
      this.container.append(block.root); // keeps API order
    });
    for (const [key, block] of this.blocks) {
      if (!keep.has(key)) {
        block.root.remove();
        this.blocks.delete(key);
      }
    }
    this.container.dataset.state = "ready";
  }

  /** The maps on screen no longer match the drawing (it is being changed). */
  markStale() {
    if (this.container.dataset.state === "ready") this.container.dataset.state = "stale";
  }

  showMessage(text) {
    for (const block of this.blocks.values()) block.root.remove();
    this.blocks.clear();
    this.container.replaceChildren(paragraph("placeholder", text));
    this.container.dataset.state = "empty";
  }

  createBlock(key) {
    const root = document.createElement("section");
    root.className = "layer";
    root.dataset.layer = key;
    const head = document.createElement("div");
    head.className = "layer-head";
    const title = document.createElement("h3");
    title.className = "layer-name";
    const shape = document.createElement("span");
    shape.className = "layer-shape";
    head.append(title, shape);
    const summary = paragraph("layer-summary", "");
    const description = paragraph("layer-description", "");
    const grid = document.createElement("div");
    grid.className = "layer-maps";
    grid.setAttribute("role", "list");
    root.append(head, summary, description, grid);
    const block = { root, title, shape, summary, description, grid };
    this.blocks.set(key, block);
    return block;
  }

  fillBlock(block, layer, position, count) {
    const name = `Convolution ${position + 1} of ${count}`;
    block.title.textContent = name;
    block.shape.textContent = describeShape(layer);
    block.summary.textContent = explainRole(position, count);
    block.description.textContent = layer.description || "";
    const maps = Array.isArray(layer.maps) ? layer.maps : [];
    const images = block.grid.children;
    while (images.length > maps.length) images[images.length - 1].remove();
    maps.forEach((src, channel) => {
      let img = images[channel];
      if (!img) {
        img = document.createElement("img");
        img.setAttribute("role", "listitem");
        img.decoding = "async";
        img.width = layer.width || 28;
        img.height = layer.height || 28;
        block.grid.append(img);
      }
      img.alt = `${name}, channel ${channel + 1}`;
      img.title = `Channel ${channel + 1}`;
      if (img.src !== src) img.src = src;
    });
    block.grid.setAttribute("aria-label", `${maps.length} feature maps of ${name}`);
  }
}

/** What a convolution layer at this depth does, in plain words. */
function explainRole(position, count) {
  if (position === 0) {
    return "Finds simple local patterns: edges, the sides and ends of strokes, at every position.";
  }
  if (position === count - 1) {
    return "Combines earlier patterns into digit parts (loops, corners, crossings) that the dense layers weigh up.";
  }
  return "Combines the patterns found by the layer before into larger shapes: curves, corners and line ends.";
}

/** "layer 2:conv2d · 8 maps of 20×20" */
function describeShape(layer) {
  const parts = [];
  if (layer.layer !== undefined) parts.push(`layer ${layer.layer}`);
  const { channels, height, width } = layer;
  if (channels && height && width) parts.push(`${channels} maps of ${height}×${width}`);
  return parts.join(" · ");
}

function paragraph(className, text) {
  const p = document.createElement("p");
  p.className = className;
  p.textContent = text;
  return p;
}

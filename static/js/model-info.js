// "The model": name, size, test accuracy and the layer stack from GET /api/model, in words a
// visitor can use (the file's version and hash are under "Technical details").

import { span } from "./dom.js";
import { formatAccuracy } from "./format.js";

const LAYER_NAMES = {
  conv2d: "Convolution",
  batchnorm2d: "Batch norm",
  batchnorm1d: "Batch norm",
  relu: "ReLU",
  maxpool2d: "Max pool",
  avgpool2d: "Average pool",
  flatten: "Flatten",
  dense: "Dense",
  dropout: "Dropout",
  softmax: "Softmax",
};

/** Fill `container` with the model's details. */
export function renderModelInfo(container, info) {
  const summary = document.createElement("dl");
  summary.className = "model-summary";
  const arch = Array.isArray(info.architecture) ? info.architecture : [];
  addFact(summary, "Network", info.name ?? "unnamed");
  addFact(
    summary,
    "Test accuracy",
    formatAccuracy(info.test_accuracy),
    "of MNIST's test digits: scanned pen-on-paper handwriting, not mouse drawings",
  );
  addFact(
    summary,
    "Learned weights",
    Number.isFinite(info.parameters) ? info.parameters.toLocaleString("en-US") : "–",
  );
  addFact(summary, "Learned layers", describeDepth(arch), "the layers with weights");

  const heading = document.createElement("h3");
  heading.className = "subtitle";
  heading.id = "architecture-heading";
  heading.textContent = "Architecture, input to output";

  const list = document.createElement("ol");
  list.className = "architecture";
  list.setAttribute("aria-labelledby", heading.id);
  const shapes = inferShapes(arch, info.input_shape);
  const input = document.createElement("li");
  input.dataset.kind = "input";
  input.append(span("arch-type", "Input"), span("arch-shape", formatShape(info.input_shape)));
  list.append(input);
  arch.forEach((spec, i) => {
    const item = document.createElement("li");
    item.dataset.kind = spec.type;
    item.append(span("arch-type", describeLayer(spec)));
    if (shapes[i]) item.append(span("arch-shape", formatShape(shapes[i])));
    list.append(item);
  });

  const parts = [summary, heading, list];
  if (info.sha256 || info.version) {
    const details = document.createElement("details");
    details.className = "fold tech";
    const title = document.createElement("summary");
    title.append(span("fold-title", "Technical details"));
    const facts = document.createElement("p");
    facts.className = "sha";
    facts.textContent = `Version ${info.version ?? "–"} · parameter file SHA-256 ${info.sha256 ?? "–"}`;
    details.append(title, facts);
    parts.push(details);
  }
  container.replaceChildren(...parts);
}

/** "3 convolution + 2 dense": the layers that learn, not ReLU, pooling or dropout. */
export function describeDepth(arch) {
  const convs = arch.filter((spec) => spec.type === "conv2d").length;
  const dense = arch.filter((spec) => spec.type === "dense").length;
  return [convs && `${convs} convolution`, dense && `${dense} dense`].filter(Boolean).join(" + ") || "–";
}

/** One layer spec as a short label, e.g. "Convolution 5×5 ×8". */
export function describeLayer(spec) {
  const name = LAYER_NAMES[spec.type] || spec.type;
  switch (spec.type) {
    case "conv2d":
      return `${name} ${spec.kernel}×${spec.kernel}, ${spec.filters} filters`;
    case "maxpool2d":
    case "avgpool2d":
      return `${name} ${spec.kernel}×${spec.kernel}`;
    case "dense":
      return `${name} ${spec.units}`;
    case "dropout":
      return spec.rate !== undefined ? `${name} ${Math.round(spec.rate * 100)}%` : name;
    default:
      return name;
  }
}

/** Output shape after each layer ([C, H, W] or [N]); null where a spec is not understood. */
export function inferShapes(arch, inputShape) {
  let shape = Array.isArray(inputShape) ? [...inputShape] : null;
  return arch.map((spec) => {
    shape = shape ? nextShape(spec, shape) : null;
    return shape;
  });
}

function nextShape(spec, shape) {
  const spatial = shape.length === 3;
  switch (spec.type) {
    case "conv2d": {
      if (!spatial) return null;
      const [, h, w] = shape;
      const k = spec.kernel;
      const s = spec.stride ?? 1;
      let pad = 0;
      if (spec.padding === "same") return [spec.filters, Math.ceil(h / s), Math.ceil(w / s)];
      if (Number.isFinite(spec.padding)) pad = spec.padding;
      return [spec.filters, Math.floor((h + 2 * pad - k) / s) + 1, Math.floor((w + 2 * pad - k) / s) + 1];
    }
    case "maxpool2d":
    case "avgpool2d": {
      if (!spatial) return null;
      const [c, h, w] = shape;
      const s = spec.stride ?? spec.kernel;
      return [c, Math.floor((h - spec.kernel) / s) + 1, Math.floor((w - spec.kernel) / s) + 1];
    }
    case "flatten":
      return [shape.reduce((a, b) => a * b, 1)];
    case "dense":
      return [spec.units];
    default:
      return shape; // activations, normalisation and dropout keep the shape
  }
}

function formatShape(shape) {
  if (!Array.isArray(shape)) return "";
  if (shape.length === 3) return `${shape[1]}×${shape[2]}×${shape[0]}`;
  return shape.join("×");
}

function addFact(list, term, value, note = "") {
  const wrap = document.createElement("div");
  const dt = document.createElement("dt");
  dt.textContent = term;
  const dd = document.createElement("dd");
  dd.textContent = value;
  if (note) dd.append(span("fact-note", note));
  wrap.append(dt, dd);
  list.append(wrap);
}


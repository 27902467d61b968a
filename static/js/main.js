// Digit reader: wires the drawing pad, live predictions, results, feature maps and model info.

import { fetchModelInfo, predict } from "./api.js";
import { DrawingPad, EXPORT_SIZE } from "./drawing.js";
import { FeatureMapView } from "./feature-maps.js";
import { renderModelInfo } from "./model-info.js";
import { ResultView } from "./results.js";
import { PredictionScheduler } from "./scheduler.js";
import { acceptImages, readImageFile } from "./upload.js";

const $ = (id) => document.getElementById(id);

const padBox = $("pad");
const canvas = $("canvas");
const brush = $("brush-size");
const undoButton = $("undo");
const clearButton = $("clear");

const results = new ResultView();
const featureMaps = new FeatureMapView($("feature-maps"));
const pad = new DrawingPad(canvas, { brushSize: () => Number(brush.value) });

const scheduler = new PredictionScheduler({
  interval: 150,
  // Read the pad when the request starts. While a stroke is under way the answers are
  // provisional; once the pen lifts, the request also asks for the feature maps.
  snapshot: () => {
    if (pad.isEmpty) return null;
    const final = !pad.isDrawing;
    return { image: pad.toImage(), explain: final, final };
  },
  send: (job, signal) => predict(job.image, { explain: job.explain, signal }),
  onResult: showResult,
  onError: (error, job, latest) =>
    results.showError(error.message || "Something went wrong.", { settled: job.final && latest }),
  onBusy: (busy) => results.setBusy(busy),
});

function showResult(result, job, latest) {
  results.showResult(result, { settled: job.final && latest });
  if (!job.explain) return;
  if (result.status === "ok") featureMaps.show(result.feature_maps);
  else featureMaps.showMessage("No digit found, so there is nothing to look inside yet.");
}

function onPadChange(reason) {
  padBox.dataset.empty = String(pad.isEmpty);
  undoButton.disabled = pad.isEmpty;
  clearButton.disabled = pad.isEmpty;
  if (pad.isEmpty && !pad.isDrawing) {
    scheduler.cancel();
    results.showEmpty(reason === "clear" || reason === "undo");
    featureMaps.showMessage("Draw a digit to see what each layer picks out.");
    return;
  }
  featureMaps.markStale();
  results.markPending();
  scheduler.request();
}

pad.addEventListener("change", (e) => onPadChange(e.detail.reason));

// ------------------------------------------------------------------------------ controls

undoButton.addEventListener("click", () => pad.undo());
clearButton.addEventListener("click", () => pad.clear());
$("retry").addEventListener("click", () => {
  if (pad.isEmpty) results.showEmpty();
  else scheduler.request();
});

document.addEventListener("keydown", (e) => {
  if (e.defaultPrevented || e.altKey) return;
  const command = e.ctrlKey || e.metaKey;
  if (command && !e.shiftKey && e.key.toLowerCase() === "z") {
    e.preventDefault();
    pad.undo();
  } else if (e.key === "Escape" && !command && !e.shiftKey) {
    pad.clear();
  }
});

function showBrushSize() {
  const size = Number(brush.value);
  $("brush-size-value").textContent = String(size);
  brush.setAttribute("aria-valuetext", `${size} pixels`);
  // The preview dot is the stroke width as it looks on the pad right now (capped to its box).
  const onScreen = (size / EXPORT_SIZE) * (canvas.clientWidth || EXPORT_SIZE);
  $("brush-preview").style.setProperty("--size", `${Math.min(30, Math.max(2, onScreen))}px`);
}
brush.addEventListener("input", showBrushSize);
new ResizeObserver(showBrushSize).observe(canvas);
showBrushSize();

acceptImages({
  input: $("upload"),
  button: $("upload-button"),
  dropZone: padBox,
  onFile: async (file) => {
    try {
      const { bitmap, image } = await readImageFile(file);
      pad.setPicture(bitmap, image);
    } catch (error) {
      scheduler.cancel();
      results.showError(error.message);
    }
  },
  onReject: (message) => results.showError(message),
});

// ------------------------------------------------------------------------------ model info

async function loadModelInfo() {
  const card = $("model-info");
  const body = $("model-body");
  try {
    renderModelInfo(body, await fetchModelInfo());
    card.dataset.state = "ready";
  } catch (error) {
    const p = document.createElement("p");
    p.className = "placeholder";
    p.textContent = `The model's details could not be loaded. ${error.message || ""}`.trim();
    body.replaceChildren(p);
    card.dataset.state = "error";
  }
}

results.showEmpty();
onPadChange("init");
loadModelInfo();
document.documentElement.dataset.ready = "true";

// Digit reader: wires the drawing pad, live readings, the marks, results, why this reading,
// corrections, look inside, the networks, the examples and the model's report card.

import {
  ApiError,
  fetchExamples,
  fetchKernels,
  fetchModelInfo,
  fetchModels,
  fetchReport,
  isOutage,
  predict,
  predictPath,
} from "./api.js";
import { CorrectionControl } from "./corrections.js";
import { paragraph } from "./dom.js";
import { DrawingPad, EXPORT_HEIGHT, SMALL_EXTENT } from "./drawing.js";
import { ExampleRow } from "./examples.js";
import { FeatureMapView } from "./feature-maps.js";
import { setEnabled } from "./focus.js";
import { KernelView } from "./kernels.js";
import { MarksView } from "./marks.js";
import { renderModelInfo } from "./model-info.js";
import { NetworkChoice } from "./networks.js";
import { Recovery } from "./recovery.js";
import { renderReport } from "./report-card.js";
import { ResultView } from "./results.js";
import { PredictionScheduler } from "./scheduler.js";
import { curlCommand, download, fileName, imageBlob } from "./share.js";
import { acceptImages, readDataUrl, readImageFile } from "./upload.js";
import { Viewer } from "./viewer.js";
import { WhyView } from "./why.js";

const $ = (id) => document.getElementById(id);

const padBox = $("pad");
const canvas = $("canvas");
const brush = $("brush-size");
const buttons = { undo: $("undo"), redo: $("redo"), clear: $("clear"), upload: $("upload-button") };

const pad = new DrawingPad(canvas, { brushSize: () => Number(brush.value) });
const marks = new MarksView({
  overlay: $("pad-marks"),
  section: $("marks"),
  list: $("mark-list"),
  boxOnPad: (box) => pad.boxOnPad(box),
});
const results = new ResultView({ marks });
const why = new WhyView({
  section: $("why"),
  choices: $("why-maps"),
  caption: $("why-caption"),
  method: $("why-method"),
  preview: $("why-preview"),
  padOverlay: $("pad-why"),
  boxOnPad: (box) => pad.boxOnPad(box),
});
const corrections = new CorrectionControl({
  root: $("correct"),
  heading: $("correct-heading"),
  row: $("correct-row"),
  about: $("correct-about"),
  note: $("correct-note"),
  fallbacks: [buttons.undo, buttons.redo, buttons.upload],
});
const viewer = new Viewer();
const featureMaps = new FeatureMapView($("feature-maps"), viewer);
const kernels = new KernelView({ grid: $("kernel-grid"), legend: $("kernel-legend"), viewer });
const networks = new NetworkChoice({
  root: $("network-choice"),
  select: $("model-select"),
  toggle: $("compare-toggle"),
  section: $("compare"),
  list: $("compare-list"),
});
const examples = new ExampleRow({ root: $("examples"), row: $("example-row"), onPick: loadDigit });
const recovery = new Recovery({ onBack: onServerBack });

/**
 * The settled answer on screen and the request it answered (for look inside, why, corrections,
 * compare, share); null while the drawing is being changed.
 */
let settled = null;
/** Cancels the look-inside and compare requests of an older answer. */
let extras = new AbortController();

const scheduler = new PredictionScheduler({
  interval: 150,
  // Read the pad when the request starts. While a stroke is under way the answers are
  // provisional; once the pen lifts, only the answer for the finished drawing is shown.
  snapshot: () => {
    if (pad.isEmpty || pad.isDot) return null;
    return { image: pad.toImage(), final: !pad.isDrawing, model: networks.current };
  },
  send: (job, signal) => predict(job.image, { model: job.model, signal }),
  onResult: showResult,
  onError: showError,
  onBusy: (busy) => results.setBusy(busy),
});

/**
 * An answer to a request made mid-stroke that arrives after the pen lifted is for a drawing
 * that no longer exists: it is dropped (the finished drawing's answer is on its way), so a
 * slow network does not flash 0 → 6 → 7 → 0.
 */
function outdated(job) {
  return !job.final && !pad.isDrawing;
}

function showResult(result, job, latest) {
  if (outdated(job)) return;
  recovery.stop();
  padBox.dataset.stale = "false";
  const isSettled = job.final && latest;
  results.showResult(result, { settled: isSettled });
  if (!isSettled) return;
  settled = { result, job };
  afterSettled();
}

/** No reading of the pad as it is (empty, a dot, an error): nothing to share, compare,
 * explain or correct. */
function forgetReading() {
  settled = null;
  extras.abort();
  showShare(false);
  networks.clear();
  why.clear();
  corrections.clear();
}

function showError(error, job, latest) {
  if (outdated(job)) return;
  const isSettled = job.final && latest;
  forgetReading();
  featureMaps.showMessage("There is no reading, so there is nothing to look inside yet.");
  if (isOutage(error)) {
    results.showError(error.message, { settled: isSettled, action: retryAction(), recovering: true });
    recovery.start();
  } else if (error instanceof ApiError && error.status >= 400 && error.status < 500) {
    results.showError(error.message || "The server refused the image.", { settled: isSettled });
  } else {
    results.showError(error.message || "Something went wrong.", { settled: isSettled, action: retryAction() });
  }
}

function retryAction() {
  return { label: "Try again", run: readAgain };
}

function readAgain() {
  if (pad.isEmpty) {
    results.showEmpty();
    return;
  }
  results.markPending();
  why.markStale();
  corrections.markPending();
  scheduler.request();
}

function onServerBack() {
  if ($("results").dataset.state === "error" && !pad.isEmpty) readAgain();
  if ($("model-info").dataset.state === "error") loadNetwork(networks.current);
  if ($("examples").dataset.state === "error") loadExamples();
}

// ------------------------------------------------------------------------------ after a reading

/**
 * The answer for the finished drawing is in: look inside the picked mark (and why it reads
 * so), offer to correct it, compare, share.
 */
function afterSettled() {
  extras.abort();
  extras = new AbortController();
  offerCorrection();
  inspect(marks.current);
  compare();
  showShare(true);
}

function offerCorrection() {
  corrections.show(marks.current, {
    model: settled.result.model,
    index: marks.selected,
    count: marks.marks.length,
  });
}

/**
 * "Look inside" the picked mark: its 28x28 image sent again, with ?explain=1. The answer's
 * one mark is that image read again, unchanged: its saliency maps are this mark's.
 */
async function inspect(mark) {
  if (!mark) {
    featureMaps.showMessage("No digit found, so there is nothing to look inside yet.");
    why.clear();
    return;
  }
  const { signal } = extras;
  const count = marks.marks.length;
  const reading = mark.status === "ok" ? `read as ${mark.digit}` : "not a digit";
  const subject = count > 1 ? `For mark ${marks.selected + 1} of ${count} (${reading}).` : "";
  try {
    const answer = await predict(
      { dataUrl: mark.input_image },
      { explain: true, model: settled?.job.model, signal },
    );
    featureMaps.show(answer.feature_maps, subject);
    const seen = Array.isArray(answer.digits) && answer.digits.length === 1 ? answer.digits[0] : null;
    why.show(mark, seen?.explanation);
  } catch (error) {
    if (signal.aborted) return;
    featureMaps.showMessage(`The feature maps could not be loaded. ${error.message || ""}`.trim());
    why.clear();
  }
}

marks.addEventListener("select", () => {
  if (!settled) return;
  extras.abort();
  extras = new AbortController();
  featureMaps.markStale();
  why.markStale();
  offerCorrection();
  inspect(marks.current);
});

/** Every other network's reading of the same drawing, beside the chosen one's. */
async function compare() {
  if (!networks.comparing || !settled) {
    networks.clear();
    return;
  }
  const { signal } = extras;
  const { job, result } = settled;
  const readings = await Promise.all(
    networks.order.map(async (name) => {
      if (name === job.model || (job.model === null && name === networks.order[0])) return { name, result };
      try {
        return { name, result: await predict(job.image, { model: name, signal }) };
      } catch (error) {
        return { name, error };
      }
    }),
  );
  if (!signal.aborted) networks.show(readings);
}

networks.addEventListener("compare", compare);
networks.addEventListener("change", () => {
  networks.clear();
  loadNetwork(networks.current);
  if (!pad.isEmpty && !pad.isDot) readAgain();
});

// ------------------------------------------------------------------------------ save and curl

function showShare(visible) {
  $("share").hidden = !visible;
  $("share-status").textContent = "";
  if (!visible) return;
  const blob = imageBlob(pad.toImage());
  $("curl-command").textContent = curlCommand(predictPath({ model: networks.current }), fileName(blob));
}

$("save-png").addEventListener("click", () => {
  const blob = imageBlob(pad.toImage());
  download(blob, fileName(blob));
  $("share-status").textContent = `Saved as ${fileName(blob)}.`;
});

$("copy-curl").addEventListener("click", async () => {
  const command = $("curl-command").textContent;
  const name = fileName(imageBlob(pad.toImage()));
  try {
    await navigator.clipboard.writeText(command);
    $("share-status").textContent = `Copied. Run it where you saved ${name}.`;
  } catch {
    window.getSelection()?.selectAllChildren($("curl-command"));
    $("share-status").textContent = "The browser did not allow copying: the command is selected, copy it with Ctrl+C.";
  }
});

// ------------------------------------------------------------------------------ the pad

function updateButtons() {
  const { undo, redo, clear, upload } = buttons;
  setEnabled(undo, pad.canUndo, [redo, clear, upload]);
  setEnabled(redo, pad.canRedo, [undo, clear, upload]);
  setEnabled(clear, !pad.isEmpty, [undo, redo, upload]);
}

function updateSizeHint() {
  const hint = $("size-hint");
  const extent = pad.isDrawing ? null : pad.inkExtent();
  const small = extent !== null && !pad.isDot && extent.height < SMALL_EXTENT;
  hint.hidden = !small;
  hint.textContent = small
    ? "Small drawings are harder to read: draw your digits about as tall as the space between the guide lines."
    : "";
}

const CLEARED = {
  clear: "Cleared. Undo brings the drawing back.",
  undo: "Nothing left on the pad. Redo brings it back.",
};

function onPadChange(reason) {
  padBox.dataset.empty = String(pad.isEmpty);
  updateButtons();
  updateSizeHint();
  if (reason !== "init") padBox.dataset.stale = "true";
  // What was read, explained or offered for correction was about the drawing as it was.
  settled = null;
  extras.abort();
  if (pad.isEmpty && !pad.isDrawing) {
    scheduler.cancel();
    recovery.stop();
    forgetReading();
    results.showEmpty();
    if (CLEARED[reason]) results.announce(CLEARED[reason]);
    featureMaps.showMessage("Draw a digit to see what each layer picks out.");
    return;
  }
  if (pad.isDot && !pad.isDrawing) {
    scheduler.cancel();
    forgetReading();
    results.showDot();
    featureMaps.showMessage("Draw a digit to see what each layer picks out.");
    return;
  }
  featureMaps.markStale();
  why.markStale();
  corrections.markPending();
  results.markPending();
  scheduler.request();
}

pad.addEventListener("change", (e) => onPadChange(e.detail.reason));

buttons.undo.addEventListener("click", () => pad.undo());
buttons.redo.addEventListener("click", () => pad.redo());
buttons.clear.addEventListener("click", () => pad.clear());

/** Esc clears only from the drawing card or the page itself, never from another control. */
function escapeClears(target) {
  return target === document.body || $("draw-card").contains(target);
}

document.addEventListener("keydown", (e) => {
  if (e.defaultPrevented || e.altKey || viewer.isOpen) return;
  const command = e.ctrlKey || e.metaKey;
  const key = e.key.toLowerCase();
  if (command && key === "z") {
    e.preventDefault();
    if (e.shiftKey) pad.redo();
    else pad.undo();
  } else if (command && key === "y" && !e.shiftKey) {
    e.preventDefault();
    pad.redo();
  } else if (e.key === "Escape" && !command && !e.shiftKey && escapeClears(e.target)) {
    pad.clear();
  }
});

function showBrushSize() {
  const size = Number(brush.value);
  $("brush-size-value").textContent = String(size);
  brush.setAttribute("aria-valuetext", `${size} pixels`);
  // The preview is the stroke as wide as it is on the pad right now.
  const perPixel = (canvas.clientHeight || EXPORT_HEIGHT) / EXPORT_HEIGHT;
  const preview = $("brush-preview");
  preview.style.setProperty("--size", `${Math.max(2, size * perPixel)}px`);
  preview.style.setProperty("--box", `${Math.max(34, Number(brush.max) * perPixel + 8)}px`);
}
brush.addEventListener("input", showBrushSize);
new ResizeObserver(showBrushSize).observe(canvas);
showBrushSize();

// ------------------------------------------------------------------------------ pictures

async function loadDigit(digit) {
  const { bitmap, image, size } = await readDataUrl(digit.image);
  pad.setPicture(bitmap, image, size);
}

acceptImages({
  input: $("upload"),
  button: buttons.upload,
  dropZone: padBox,
  onFile: async (file) => {
    try {
      const { bitmap, image, size } = await readImageFile(file);
      pad.setPicture(bitmap, image, size);
    } catch (error) {
      scheduler.cancel();
      forgetReading();
      results.showError(error.message, {
        action: { label: "Choose another file", run: () => $("upload").click() },
      });
    }
  },
  onReject: (message) => {
    forgetReading();
    results.showError(message);
  },
});

// ------------------------------------------------------------------------------ the network

async function loadNetwork(name) {
  const card = $("model-info");
  const body = $("model-body");
  const [info, report, filters] = await Promise.allSettled([
    fetchModelInfo(name),
    fetchReport(name),
    fetchKernels(name),
  ]);
  if (info.status === "fulfilled") {
    renderModelInfo(body, info.value);
    card.dataset.state = "ready";
  } else {
    const why = `The model's details could not be loaded. ${info.reason?.message || ""}`.trim();
    body.replaceChildren(paragraph("placeholder", why));
    card.dataset.state = "error";
    recovery.start();
  }
  const reportBox = $("report");
  if (report.status === "fulfilled") {
    renderReport($("report-body"), report.value, examples.digits, loadDigit);
    examples.setMisread(report.value.misread);
    reportBox.dataset.state = "ready";
  } else {
    reportBox.dataset.state = "error";
  }
  if (filters.status === "fulfilled") kernels.show(filters.value);
  else kernels.showMessage("The filters could not be loaded.");
}

async function loadExamples() {
  try {
    examples.load(await fetchExamples());
  } catch {
    examples.fail();
  }
}

async function start() {
  results.showEmpty();
  onPadChange("init");
  $("report").open = window.matchMedia("(min-width: 860px)").matches;
  await loadExamples();
  try {
    networks.load(await fetchModels());
  } catch {
    // One network (the server's default) still works without the list.
  }
  await loadNetwork(networks.current);
  document.documentElement.dataset.ready = "true";
}

start();

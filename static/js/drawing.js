// The drawing pad: Pointer Events in, smooth strokes out, undo and redo, and export.
//
// The pad is 3:2, wide enough for a number. Strokes are kept in normalised coordinates (0..1
// of the pad's width and height) with a brush size measured on a pad 280 px tall, so the
// pad can be resized (or exported at any size) without losing anything. Only one pointer
// draws at a time: a second finger, or a palm while a pen is down, is ignored.
//
// Every change is a step in a History (a stroke, Clear, a picture), so Undo brings back a
// cleared drawing or the picture a stray stroke replaced, and Redo goes forward again.

import { History } from "./history.js";

/** The exported image's size; brush sizes are measured on EXPORT_HEIGHT. */
export const EXPORT_WIDTH = 420;
export const EXPORT_HEIGHT = 280;

const INK = "#000000";
const PAPER = "#ffffff";
/** Points closer than this (in normalised units) to the previous one are skipped. */
const MIN_STEP = 0.0025;
/**
 * In the exported image a stroke is at most this fraction of the drawing's height wide, so
 * a small digit is not sent as a blob: once cropped and shrunk to 20 px it keeps MNIST-like
 * strokes. (What is shown on the pad is what was drawn.)
 */
const MAX_WIDTH_PER_HEIGHT = 1 / 5;
const MIN_EXPORT_WIDTH = 3;
/** Ink spanning less than this (of the pad's height) either way is a dot, not a digit. */
export const DOT_EXTENT = 0.08;
/** Drawings less tall than this (of the pad's height) get a "draw bigger" hint. */
export const SMALL_EXTENT = 0.3;

const EMPTY = Object.freeze({ strokes: Object.freeze([]), picture: null });

/**
 * Trace one stroke on a 2D context whose drawing area is `w` x `h` px.
 * Curves pass through the midpoints between samples, which smooths the polyline.
 */
export function traceStroke(ctx, stroke, w, h, maxWidth = Infinity) {
  const pts = stroke.points;
  const width = Math.min((stroke.size / EXPORT_HEIGHT) * h, maxWidth);
  ctx.lineCap = "round";
  ctx.lineJoin = "round";
  ctx.strokeStyle = INK;
  ctx.fillStyle = INK;
  ctx.lineWidth = width;
  if (pts.length === 1) {
    ctx.beginPath();
    ctx.arc(pts[0].x * w, pts[0].y * h, width / 2, 0, Math.PI * 2);
    ctx.fill();
    return;
  }
  ctx.beginPath();
  ctx.moveTo(pts[0].x * w, pts[0].y * h);
  for (let i = 1; i < pts.length - 1; i += 1) {
    const midX = ((pts[i].x + pts[i + 1].x) / 2) * w;
    const midY = ((pts[i].y + pts[i + 1].y) / 2) * h;
    ctx.quadraticCurveTo(pts[i].x * w, pts[i].y * h, midX, midY);
  }
  const last = pts[pts.length - 1];
  ctx.lineTo(last.x * w, last.y * h);
  ctx.stroke();
}

/** Where an image of `w` x `h` px sits when drawn centred and scaled to fit ("contain"). */
export function containRect(w, h, areaW, areaH) {
  const scale = Math.min(areaW / w, areaH / h);
  return { x: (areaW - w * scale) / 2, y: (areaH - h * scale) / 2, scale };
}

function drawContained(ctx, image, areaW, areaH) {
  const { x, y, scale } = containRect(image.width, image.height, areaW, areaH);
  // A tiny image (an MNIST example, 28 px) is shown as crisp pixels, not a blur.
  ctx.imageSmoothingEnabled = Math.max(image.width, image.height) > 64;
  ctx.imageSmoothingQuality = "high";
  ctx.drawImage(image, x, y, image.width * scale, image.height * scale);
}

export class DrawingPad extends EventTarget {
  /**
   * @param {HTMLCanvasElement} canvas
   * @param {{brushSize: () => number}} options
   */
  constructor(canvas, { brushSize }) {
    super();
    this.canvas = canvas;
    this.ctx = canvas.getContext("2d");
    this.brushSize = brushSize;
    this.history = new History(EMPTY);
    this.active = null; // {pointerId, pointerType, stroke, rect}
    this.frame = 0;
    this.bindPointerEvents();
    this.watchSize();
  }

  // -------------------------------------------------------------------------- state

  /** @returns {{strokes: object[], picture: object|null}} */
  get state() {
    return this.history.present;
  }

  get strokes() {
    return this.state.strokes;
  }

  /** The uploaded or example picture on the pad ({bitmap, image, width, height}), if any. */
  get picture() {
    return this.active ? null : this.state.picture;
  }

  /** The strokes on the pad now, the one under way included. */
  get visibleStrokes() {
    return this.active ? [...this.active.base, this.active.stroke] : this.strokes;
  }

  /** Nothing drawn (not even a stroke under way) and no picture. */
  get isEmpty() {
    return !this.active && this.strokes.length === 0 && this.state.picture === null;
  }

  get isDrawing() {
    return this.active !== null;
  }

  get canUndo() {
    return !this.active && this.history.canUndo;
  }

  get canRedo() {
    return !this.active && this.history.canRedo;
  }

  undo() {
    if (this.active || !this.history.undo()) return;
    this.changed("undo");
  }

  redo() {
    if (this.active || !this.history.redo()) return;
    this.changed("redo");
  }

  /** Clear the pad (one step: Undo brings it all back). */
  clear() {
    if (this.isEmpty) return;
    if (this.active) this.cancelActiveStroke();
    this.history.push(EMPTY);
    this.changed("clear");
  }

  /**
   * Show a picture instead of the drawing (one step: Undo brings back what was there).
   * @param {CanvasImageSource} bitmap  what to show
   * @param {{file?: Blob, dataUrl?: string}} image  what to send for prediction
   * @param {{width: number, height: number}} size  the sent image's size in pixels
   */
  setPicture(bitmap, image, size) {
    if (this.active) this.cancelActiveStroke();
    this.history.push({ strokes: [], picture: { bitmap, image, ...size } });
    this.changed("picture");
  }

  changed(reason) {
    this.canvas.dataset.strokes = String(this.strokes.length);
    this.canvas.dataset.picture = String(this.state.picture !== null);
    this.render();
    this.dispatchEvent(new CustomEvent("change", { detail: { reason } }));
  }

  /** The ink's extent as fractions of the pad's height: {width, height}, or null if none. */
  inkExtent() {
    const strokes = this.visibleStrokes;
    if (this.picture || strokes.length === 0) return null;
    let x0 = Infinity;
    let y0 = Infinity;
    let x1 = -Infinity;
    let y1 = -Infinity;
    for (const stroke of strokes) {
      for (const p of stroke.points) {
        x0 = Math.min(x0, p.x);
        x1 = Math.max(x1, p.x);
        y0 = Math.min(y0, p.y);
        y1 = Math.max(y1, p.y);
      }
    }
    const aspect = EXPORT_WIDTH / EXPORT_HEIGHT;
    return { width: (x1 - x0) * aspect, height: y1 - y0 };
  }

  /** A dot or a tiny tick: too little ink to be a digit. */
  get isDot() {
    const extent = this.inkExtent();
    return extent !== null && Math.max(extent.width, extent.height) < DOT_EXTENT;
  }

  // -------------------------------------------------------------------------- export

  /** What to send for prediction: the picture, or the drawing as a PNG. */
  toImage() {
    return this.picture ? this.picture.image : { dataUrl: this.toDataURL() };
  }

  /** The size, in pixels, of what toImage() sends. */
  imageSize() {
    const picture = this.picture;
    return picture
      ? { width: picture.width, height: picture.height }
      : { width: EXPORT_WIDTH, height: EXPORT_HEIGHT };
  }

  /**
   * Where a box [x0, y0, x1, y1] in the sent image's pixels is on the pad, as fractions of
   * the pad's width and height: {left, top, width, height}.
   */
  boxOnPad([x0, y0, x1, y1]) {
    const { width, height } = this.imageSize();
    const fit = this.picture
      ? containRect(width, height, EXPORT_WIDTH, EXPORT_HEIGHT)
      : { x: 0, y: 0, scale: 1 };
    const at = (x, y) => ({
      x: (fit.x + x * fit.scale) / EXPORT_WIDTH,
      y: (fit.y + y * fit.scale) / EXPORT_HEIGHT,
    });
    const a = at(x0, y0);
    const b = at(x1, y1);
    return { left: a.x, top: a.y, width: b.x - a.x, height: b.y - a.y };
  }

  /** The drawing as a PNG data URL: black ink on white, EXPORT_WIDTH x EXPORT_HEIGHT. */
  toDataURL() {
    const out = document.createElement("canvas");
    out.width = EXPORT_WIDTH;
    out.height = EXPORT_HEIGHT;
    const ctx = out.getContext("2d");
    ctx.fillStyle = PAPER;
    ctx.fillRect(0, 0, EXPORT_WIDTH, EXPORT_HEIGHT);
    const extent = this.inkExtent();
    const maxWidth = extent
      ? Math.max(MIN_EXPORT_WIDTH, extent.height * EXPORT_HEIGHT * MAX_WIDTH_PER_HEIGHT)
      : Infinity;
    for (const stroke of this.visibleStrokes) {
      traceStroke(ctx, stroke, EXPORT_WIDTH, EXPORT_HEIGHT, maxWidth);
    }
    return out.toDataURL("image/png");
  }

  // -------------------------------------------------------------------------- rendering

  requestRender() {
    if (this.frame) return;
    this.frame = requestAnimationFrame(() => {
      this.frame = 0;
      this.render();
    });
  }

  render() {
    if (this.frame) {
      cancelAnimationFrame(this.frame);
      this.frame = 0;
    }
    const { ctx, canvas } = this;
    const w = canvas.width;
    const h = canvas.height;
    ctx.setTransform(1, 0, 0, 1, 0, 0);
    ctx.clearRect(0, 0, w, h);
    if (this.picture) drawContained(ctx, this.picture.bitmap, w, h);
    for (const stroke of this.visibleStrokes) traceStroke(ctx, stroke, w, h);
  }

  /** Keep the backing store at device resolution as the pad's CSS size changes. */
  watchSize() {
    const resize = () => {
      const ratio = window.devicePixelRatio || 1;
      const w = Math.max(1, Math.round(this.canvas.clientWidth * ratio));
      const h = Math.max(1, Math.round(this.canvas.clientHeight * ratio));
      if (w !== this.canvas.width || h !== this.canvas.height) {
        this.canvas.width = w;
        this.canvas.height = h;
      }
      this.render();
    };
    new ResizeObserver(resize).observe(this.canvas);
    resize();
  }

  // -------------------------------------------------------------------------- pointers

  bindPointerEvents() {
    const c = this.canvas;
    c.addEventListener("pointerdown", (e) => this.onPointerDown(e));
    c.addEventListener("pointermove", (e) => this.onPointerMove(e));
    c.addEventListener("pointerup", (e) => this.onPointerEnd(e));
    c.addEventListener("pointercancel", (e) => this.onPointerEnd(e));
    c.addEventListener("lostpointercapture", (e) => this.onPointerEnd(e));
    // No long-press menu, text selection or drag ghost while drawing.
    c.addEventListener("contextmenu", (e) => e.preventDefault());
    c.addEventListener("selectstart", (e) => e.preventDefault());
    // Older iOS Safari still scrolls on touchmove despite touch-action: none.
    c.addEventListener("touchmove", (e) => e.preventDefault(), { passive: false });
  }

  onPointerDown(e) {
    if (this.active) return; // one stroke at a time: extra fingers and palms are ignored
    if (e.pointerType === "mouse" && e.button !== 0) return;
    e.preventDefault();
    try {
      this.canvas.setPointerCapture(e.pointerId);
    } catch {
      // Synthetic events have no active pointer to capture; drawing still works.
    }
    const rect = this.canvas.getBoundingClientRect();
    const stroke = { size: this.brushSize(), points: [] };
    // Drawing over a picture starts a fresh drawing (Undo brings the picture back).
    const base = this.state.picture ? [] : this.strokes;
    this.active = { pointerId: e.pointerId, pointerType: e.pointerType, stroke, rect, base };
    this.addPoint(e);
    this.requestRender();
    this.dispatchEvent(new CustomEvent("change", { detail: { reason: "draw" } }));
  }

  onPointerMove(e) {
    if (!this.active || e.pointerId !== this.active.pointerId) return;
    e.preventDefault();
    const samples = typeof e.getCoalescedEvents === "function" ? e.getCoalescedEvents() : [];
    let added = false;
    for (const sample of samples.length ? samples : [e]) added = this.addPoint(sample) || added;
    if (!added) return;
    this.requestRender();
    this.dispatchEvent(new CustomEvent("change", { detail: { reason: "draw" } }));
  }

  onPointerEnd(e) {
    if (!this.active || e.pointerId !== this.active.pointerId) return;
    if (e.type !== "lostpointercapture") this.addPoint(e);
    const { stroke, base } = this.active;
    this.active = null;
    if (stroke.points.length > 0) this.history.push({ strokes: [...base, stroke], picture: null });
    this.changed("stroke");
  }

  cancelActiveStroke() {
    const { pointerId } = this.active;
    this.active = null;
    if (this.canvas.hasPointerCapture?.(pointerId)) this.canvas.releasePointerCapture(pointerId);
    this.requestRender();
  }

  /** Add the event's position to the active stroke; false if it was too close to count. */
  addPoint(e) {
    const { rect, stroke } = this.active;
    if (rect.width === 0 || rect.height === 0) return false;
    // Points past the edge are kept (the canvas clips them) so strokes leave and re-enter
    // naturally; they are bounded only to keep the numbers sane.
    const x = bounded((e.clientX - rect.left) / rect.width);
    const y = bounded((e.clientY - rect.top) / rect.height);
    const last = stroke.points[stroke.points.length - 1];
    if (last && Math.hypot(x - last.x, y - last.y) < MIN_STEP) return false;
    stroke.points.push({ x, y });
    return true;
  }
}

function bounded(v) {
  return Math.min(1.5, Math.max(-0.5, v));
}

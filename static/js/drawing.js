// The drawing pad: Pointer Events in, smooth strokes out, undo, clear, and export.
//
// Strokes are kept in normalised coordinates (0..1 of the pad's side) with a brush size
// measured on a 280 px pad, so the pad can be resized (or exported at any size) without
// losing anything. Only one pointer draws at a time: a second finger, or a palm while a
// pen is down, is ignored.

/** Side of the exported image, and the scale brush sizes are measured on. */
export const EXPORT_SIZE = 280;

const INK = "#000000";
const PAPER = "#ffffff";
/** Points closer than this (in normalised units) to the previous one are skipped. */
const MIN_STEP = 0.0025;

/**
 * Trace one stroke on a 2D context whose coordinate space is `side` px square.
 * Curves pass through the midpoints between samples, which smooths the polyline.
 */
export function traceStroke(ctx, stroke, side) {
  const pts = stroke.points;
  const width = (stroke.size / EXPORT_SIZE) * side;
  ctx.lineCap = "round";
  ctx.lineJoin = "round";
  ctx.strokeStyle = INK;
  ctx.fillStyle = INK;
  ctx.lineWidth = width;
  if (pts.length === 1) {
    ctx.beginPath();
    ctx.arc(pts[0].x * side, pts[0].y * side, width / 2, 0, Math.PI * 2);
    ctx.fill();
    return;
  }
  ctx.beginPath();
  ctx.moveTo(pts[0].x * side, pts[0].y * side);
  for (let i = 1; i < pts.length - 1; i += 1) {
    const midX = ((pts[i].x + pts[i + 1].x) / 2) * side;
    const midY = ((pts[i].y + pts[i + 1].y) / 2) * side;
    ctx.quadraticCurveTo(pts[i].x * side, pts[i].y * side, midX, midY);
  }
  const last = pts[pts.length - 1];
  ctx.lineTo(last.x * side, last.y * side);
  ctx.stroke();
}

/** Draw `image` centred in a `side` px square, scaled to fit ("contain"). */
function drawContained(ctx, image, side) {
  const w = image.width;
  const h = image.height;
  const scale = Math.min(side / w, side / h);
  const dw = w * scale;
  const dh = h * scale;
  ctx.imageSmoothingEnabled = true;
  ctx.imageSmoothingQuality = "high";
  ctx.drawImage(image, (side - dw) / 2, (side - dh) / 2, dw, dh);
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
    /** @type {{size: number, points: {x: number, y: number}[]}[]} */
    this.strokes = [];
    /** An uploaded picture shown instead of strokes: {bitmap, image} or null. */
    this.picture = null;
    this.active = null; // {pointerId, pointerType, stroke, rect}
    this.frame = 0;
    this.bindPointerEvents();
    this.watchSize();
  }

  // -------------------------------------------------------------------------- state

  /** Nothing drawn (not even a stroke under way) and no picture. */
  get isEmpty() {
    return this.strokes.length === 0 && this.picture === null && !this.active;
  }

  get isDrawing() {
    return this.active !== null;
  }

  get strokeCount() {
    return this.strokes.length;
  }

  undo() {
    if (this.active) return;
    if (this.strokes.length > 0) {
      this.strokes.pop();
    } else if (this.picture) {
      this.picture = null;
    } else {
      return;
    }
    this.changed("undo");
  }

  clear() {
    if (this.isEmpty) return;
    if (this.active) this.cancelActiveStroke();
    this.strokes = [];
    this.picture = null;
    this.changed("clear");
  }

  /**
   * Show an uploaded picture instead of the drawing.
   * @param {CanvasImageSource} bitmap  what to show
   * @param {{file?: Blob, dataUrl?: string}} image  what to send for prediction
   */
  setPicture(bitmap, image) {
    if (this.active) this.cancelActiveStroke();
    this.strokes = [];
    this.picture = { bitmap, image };
    this.changed("picture");
  }

  changed(reason) {
    this.canvas.dataset.strokes = String(this.strokes.length);
    this.render();
    this.dispatchEvent(new CustomEvent("change", { detail: { reason } }));
  }

  // -------------------------------------------------------------------------- export

  /** What to send for prediction: the uploaded picture, or the drawing as a PNG. */
  toImage() {
    return this.picture ? this.picture.image : { dataUrl: this.toDataURL() };
  }

  /** The drawing as a PNG data URL: black ink on white, EXPORT_SIZE px square. */
  toDataURL() {
    const out = document.createElement("canvas");
    out.width = EXPORT_SIZE;
    out.height = EXPORT_SIZE;
    const ctx = out.getContext("2d");
    ctx.fillStyle = PAPER;
    ctx.fillRect(0, 0, EXPORT_SIZE, EXPORT_SIZE);
    for (const stroke of this.strokes) traceStroke(ctx, stroke, EXPORT_SIZE);
    if (this.active) traceStroke(ctx, this.active.stroke, EXPORT_SIZE);
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
    const side = canvas.width;
    ctx.setTransform(1, 0, 0, 1, 0, 0);
    ctx.clearRect(0, 0, canvas.width, canvas.height);
    if (this.picture) drawContained(ctx, this.picture.bitmap, side);
    for (const stroke of this.strokes) traceStroke(ctx, stroke, side);
    if (this.active) traceStroke(ctx, this.active.stroke, side);
  }

  /** Keep the backing store at device resolution as the pad's CSS size changes. */
  watchSize() {
    const resize = () => {
      const ratio = window.devicePixelRatio || 1;
      const side = Math.max(1, Math.round(this.canvas.clientWidth * ratio));
      if (side !== this.canvas.width || side !== this.canvas.height) {
        this.canvas.width = side;
        this.canvas.height = side;
      }
      this.render();
    };
    if ("ResizeObserver" in window) {
      new ResizeObserver(resize).observe(this.canvas);
    } else {
      window.addEventListener("resize", resize);
    }
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
    if (this.picture) {
      // Drawing after an upload starts a fresh drawing.
      this.picture = null;
    }
    const rect = this.canvas.getBoundingClientRect();
    const stroke = { size: this.brushSize(), points: [] };
    this.active = { pointerId: e.pointerId, pointerType: e.pointerType, stroke, rect };
    this.addPoint(e);
    this.requestRender();
    this.dispatchEvent(new CustomEvent("strokestart"));
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
    const { stroke } = this.active;
    this.active = null;
    if (stroke.points.length > 0) this.strokes.push(stroke);
    this.canvas.dataset.strokes = String(this.strokes.length);
    this.requestRender();
    this.dispatchEvent(new CustomEvent("strokeend"));
    this.dispatchEvent(new CustomEvent("change", { detail: { reason: "stroke" } }));
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

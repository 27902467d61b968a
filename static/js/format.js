// Numbers as people read them.

/** 0.9834 -> "98.3%", 0.00002 -> "<0.1%", 1 -> "100%". */
export function formatPercent(p) {
  const pct = p * 100;
  if (pct >= 99.95) return "100%";
  if (pct > 0 && pct < 0.05) return "<0.1%";
  return `${pct.toFixed(1)}%`;
}

/** A model's test accuracy, to the hundredth of a point: 0.9958 -> "99.58%" (rounding it
 *  to "99.6%" would claim more than was measured). */
export function formatAccuracy(value) {
  if (typeof value !== "number") return "not measured";
  return `${(value * 100).toFixed(2)}%`;
}

/** 8.4 -> "8 ms", 0.4 -> "<1 ms", 1840 -> "1.8 s". */
export function formatDuration(ms) {
  if (ms < 1) return "<1 ms";
  if (ms < 1000) return `${Math.round(ms)} ms`;
  return `${(ms / 1000).toFixed(1)} s`;
}

/** A value on a feature map or kernel scale: 3 significant digits. */
export function formatValue(v) {
  if (!Number.isFinite(v)) return "–";
  if (v === 0) return "0";
  return Math.abs(v) >= 100 ? v.toFixed(0) : Number(v.toPrecision(3)).toString();
}

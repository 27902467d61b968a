// Focus never falls to the page: a control about to be disabled (or hidden) while it has
// focus hands focus to the first of its fallbacks that is still usable.

/** Focus the first of `fallbacks` that is neither disabled nor hidden, if any. */
export function focusFirstUsable(fallbacks) {
  const next = fallbacks.find((el) => !el.disabled && !el.hidden);
  next?.focus();
}

/**
 * @param {HTMLButtonElement} button
 * @param {boolean} enabled
 * @param {HTMLElement[]} fallbacks  where focus goes if `button` had it, in order
 */
export function setEnabled(button, enabled, fallbacks) {
  if (!enabled && document.activeElement === button) focusFirstUsable(fallbacks);
  button.disabled = !enabled;
}

// Focus never falls to the page: a control about to be disabled while it has focus hands
// focus to the first of its fallbacks that is still enabled.

/**
 * @param {HTMLButtonElement} button
 * @param {boolean} enabled
 * @param {HTMLElement[]} fallbacks  where focus goes if `button` had it, in order
 */
export function setEnabled(button, enabled, fallbacks) {
  if (!enabled && document.activeElement === button) {
    const next = fallbacks.find((el) => !el.disabled && !el.hidden);
    next?.focus();
  }
  button.disabled = !enabled;
}

// Undo and redo over whole states: every change (a stroke, Clear, an uploaded or example
// picture replacing the drawing) is one step, so nothing a person made is lost for good.
//
// States are treated as immutable snapshots: a change pushes a new one.

export class History {
  /** @param {object} initial  the first state (nothing to undo past it) */
  constructor(initial) {
    this.past = [];
    this.present = initial;
    this.future = [];
  }

  get canUndo() {
    return this.past.length > 0;
  }

  get canRedo() {
    return this.future.length > 0;
  }

  /** A new state after a change; what could be redone is dropped. */
  push(state) {
    this.past.push(this.present);
    this.present = state;
    this.future = [];
  }

  /** Step back; returns the state now current, or null when there was nothing to undo. */
  undo() {
    if (!this.canUndo) return null;
    this.future.push(this.present);
    this.present = this.past.pop();
    return this.present;
  }

  /** Step forward again; null when there is nothing to redo. */
  redo() {
    if (!this.canRedo) return null;
    this.past.push(this.present);
    this.present = this.future.pop();
    return this.present;
  }
}

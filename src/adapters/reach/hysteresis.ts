/**
 * Debounces a flapping yes/no signal: the first result sets the state at once; after that it
 * takes `failAfter` failures in a row to go false and `succeedAfter` successes in a row to go
 * true. A result that agrees with the current state resets the count.
 */
export class Hysteresis {
  private current: boolean | null = null;
  private streak = 0;

  constructor(
    readonly failAfter: number,
    readonly succeedAfter: number,
  ) {
    if (!(failAfter >= 1 && succeedAfter >= 1)) throw new RangeError('failAfter and succeedAfter must be at least 1');
  }

  get state(): boolean | null {
    return this.current;
  }

  /** Feeds one result; returns the (possibly unchanged) state. */
  push(ok: boolean): boolean {
    if (this.current === null || ok === this.current) {
      this.current = ok;
      this.streak = 0;
      return ok;
    }
    this.streak++;
    if (this.streak >= (ok ? this.succeedAfter : this.failAfter)) {
      this.current = ok;
      this.streak = 0;
    }
    return this.current;
  }
}

/**
 * While a wake or shutdown is under way the switch shows where it is going, not every phase the host
 * passes through on the way: the target is held until the host reaches it, the command fails, or time runs out.
 */
export class TargetHold {
  private target: boolean | undefined;
  private until = 0;

  constructor(private readonly now: () => number = Date.now) {}

  hold(target: boolean, forMs: number): void {
    this.target = target;
    this.until = this.now() + forMs;
  }

  release(): void {
    this.target = undefined;
  }

  /** What the switch shows given the host's actual state; reaching the target ends the hold. */
  shown(actual: boolean): boolean {
    if (this.target === undefined) return actual;
    if (actual === this.target || this.now() >= this.until) {
      this.target = undefined;
      return actual;
    }
    return this.target;
  }
}

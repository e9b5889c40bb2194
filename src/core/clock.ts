/**
 * Time as a dependency: adapters and simulations take a Clock so tests (and `simulate`)
 * can run minutes of an outage in milliseconds without real timers.
 */
export interface TimerHandle {
  readonly __timer: true;
}

export interface Clock {
  /** Milliseconds since the epoch. */
  now(): number;
  setTimeout(fn: () => void, ms: number): TimerHandle;
  clearTimeout(handle: TimerHandle | undefined): void;
}

type NodeTimer = ReturnType<typeof globalThis.setTimeout>;

export const systemClock: Clock = {
  now: () => Date.now(),
  setTimeout: (fn, ms) => {
    const t = globalThis.setTimeout(fn, ms);
    return t as unknown as TimerHandle;
  },
  clearTimeout: (handle) => {
    if (handle) globalThis.clearTimeout(handle as unknown as NodeTimer);
  },
};

/** Resolves after `ms` on the given clock. */
export function sleep(clock: Clock, ms: number): Promise<void> {
  return new Promise((resolve) => clock.setTimeout(resolve, ms));
}

/** Calls `fn` every `ms` until the returned function is called. */
export function every(clock: Clock, ms: number, fn: () => void): () => void {
  let handle: TimerHandle | undefined;
  let stopped = false;
  const tick = (): void => {
    if (stopped) return;
    handle = clock.setTimeout(tick, ms);
    fn();
  };
  handle = clock.setTimeout(tick, ms);
  return () => {
    stopped = true;
    clock.clearTimeout(handle);
  };
}

interface FakeTimer extends TimerHandle {
  at: number;
  seq: number;
  fn: () => void;
}

/**
 * A clock that moves only when told. Timers fire in time order; promise callbacks queued
 * by a timer run before the next timer fires, as they would in real time.
 */
export class FakeClock implements Clock {
  private current: number;
  private seq = 0;
  private timers = new Set<FakeTimer>();

  constructor(start = Date.UTC(2026, 0, 1)) {
    this.current = start;
  }

  now(): number {
    return this.current;
  }

  setTimeout(fn: () => void, ms: number): TimerHandle {
    const timer = { __timer: true as const, at: this.current + Math.max(0, ms), seq: this.seq++, fn };
    this.timers.add(timer);
    return timer;
  }

  clearTimeout(handle: TimerHandle | undefined): void {
    if (handle) this.timers.delete(handle as FakeTimer);
  }

  get pending(): number {
    return this.timers.size;
  }

  /** Moves time forward by `ms`, firing every timer that falls due on the way. */
  async advance(ms: number): Promise<void> {
    const target = this.current + ms;
    for (;;) {
      await flushPromises();
      const next = this.nextDue(target);
      if (!next) break;
      this.timers.delete(next);
      this.current = next.at;
      next.fn();
    }
    this.current = target;
    await flushPromises();
  }

  private nextDue(limit: number): FakeTimer | undefined {
    let best: FakeTimer | undefined;
    for (const t of this.timers) {
      if (t.at > limit) continue;
      if (!best || t.at < best.at || (t.at === best.at && t.seq < best.seq)) best = t;
    }
    return best;
  }
}

async function flushPromises(): Promise<void> {
  // Several turns, because an awaited promise can queue another before settling.
  for (let i = 0; i < 10; i++) await new Promise<void>((resolve) => setImmediate(resolve));
}

import { every, FakeClock, sleep } from '../../../src/core/clock';

describe('FakeClock', () => {
  it('fires timers in time order, then in creation order', async () => {
    const clock = new FakeClock(0);
    const order: string[] = [];
    clock.setTimeout(() => order.push('b@20'), 20);
    clock.setTimeout(() => order.push('a@10'), 10);
    clock.setTimeout(() => order.push('c@20'), 20);
    await clock.advance(15);
    expect(order).toEqual(['a@10']);
    expect(clock.now()).toBe(15);
    await clock.advance(5);
    expect(order).toEqual(['a@10', 'b@20', 'c@20']);
  });

  it('runs promise continuations between timers', async () => {
    const clock = new FakeClock(0);
    const seen: number[] = [];
    void (async () => {
      await sleep(clock, 100);
      seen.push(clock.now());
      await sleep(clock, 100);
      seen.push(clock.now());
    })();
    await clock.advance(250);
    expect(seen).toEqual([100, 200]);
  });

  it('cleared timers never fire; every() stops when cancelled', async () => {
    const clock = new FakeClock(0);
    let n = 0;
    const t = clock.setTimeout(() => n++, 10);
    clock.clearTimeout(t);
    const stop = every(clock, 100, () => n++);
    await clock.advance(350);
    expect(n).toBe(3);
    stop();
    await clock.advance(1000);
    expect(n).toBe(3);
    expect(clock.pending).toBe(0);
  });
});

import { BlackstartError } from '../../../src/core/errors';
import { findCycle, layerBy, validateGraph, type GraphNode } from '../../../src/orchestrator/graph';

const g = (spec: Record<string, string[]>): GraphNode[] => Object.entries(spec).map(([id, dependsOn]) => ({ id, dependsOn }));

function configError(fn: () => void): BlackstartError {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(BlackstartError);
    expect((err as BlackstartError).code).toBe('CONFIG');
    return err as BlackstartError;
  }
  throw new Error('expected a CONFIG error');
}

describe('depends_on graph', () => {
  it('accepts a DAG', () => {
    expect(() => validateGraph(g({ vm1: ['pve'], vm2: ['pve', 'nas'], pve: [], nas: [] }))).not.toThrow();
    expect(findCycle(g({ a: ['b', 'c'], b: ['c'], c: [] }))).toBeNull();
  });

  it('names every unknown reference with the host that made it', () => {
    const err = configError(() => validateGraph(g({ vm1: ['pve2'], vm2: ['pve', 'nass'], pve: [] })));
    expect(err.message).toBe('host "vm1": depends_on names "pve2", which is not a host\nhost "vm2": depends_on names "nass", which is not a host');
  });

  it('names a self-loop', () => {
    expect(findCycle(g({ a: [], nas: ['nas'] }))).toEqual(['nas', 'nas']);
    expect(configError(() => validateGraph(g({ nas: ['nas'] }))).message).toMatch(/^depends_on forms a cycle: nas → nas /);
  });

  it('names a two-host cycle in the direction of depends_on', () => {
    expect(configError(() => validateGraph(g({ a: ['b'], b: ['a'] }))).message).toContain('a → b → a');
  });

  it('names a long cycle reached through a tail, without the tail', () => {
    const spec: Record<string, string[]> = { entry: ['h0'] };
    for (let i = 0; i < 50; i++) spec[`h${i}`] = [`h${i + 1}`];
    spec['h50'] = ['h10'];
    const cycle = findCycle(g(spec));
    expect(cycle).toEqual([...Array.from({ length: 41 }, (_, i) => `h${i + 10}`), 'h10']);
    expect(configError(() => validateGraph(g(spec))).message).toContain('h10 → h11 → h12');
  });

  it('finds a cycle in a deep chain without overflowing the stack', () => {
    const spec: Record<string, string[]> = {};
    for (let i = 0; i < 100_000; i++) spec[`h${i}`] = [`h${i + 1}`];
    spec['h100000'] = [];
    expect(findCycle(g(spec))).toBeNull();
    spec['h100000'] = ['h0'];
    expect(findCycle(g(spec))).toHaveLength(100_002);
  });

  it('refuses a host listed twice', () => {
    expect(configError(() => validateGraph([{ id: 'a', dependsOn: [] }, { id: 'a', dependsOn: [] }])).message).toBe('host "a" is listed twice');
  });

  it('layers by longest path, keeping input order within a layer', () => {
    // before: who must come first.
    const before: Record<string, string[]> = { a: [], b: ['a'], c: [], d: ['b', 'c'], e: ['a'] };
    expect(layerBy(['a', 'b', 'c', 'd', 'e'], (id) => before[id] ?? [])).toEqual([['a', 'c'], ['b', 'e'], ['d']]);
  });

  it('ignores predecessors outside the set it is given', () => {
    expect(layerBy(['x', 'y'], (id) => (id === 'y' ? ['x', 'gone'] : ['gone']))).toEqual([['x'], ['y']]);
  });
});

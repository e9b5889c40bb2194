/**
 * The `depends_on` graph. An edge A → B means "A depends_on B": A needs B, so A goes down before B
 * and comes back after it. Config errors name the host and, for a cycle, the whole loop, because a
 * bare "cycle detected" leaves the user hunting through every host.
 */
import { BlackstartError } from '../core/errors';

export interface GraphNode {
  id: string;
  dependsOn: readonly string[];
}

/** Every `depends_on` entry must name a known host; the error lists all bad references at once. */
export function checkReferences(nodes: readonly GraphNode[]): void {
  const known = new Set(nodes.map((n) => n.id));
  const bad: string[] = [];
  for (const n of nodes) {
    for (const d of n.dependsOn) {
      if (!known.has(d)) bad.push(`host "${n.id}": depends_on names "${d}", which is not a host`);
    }
  }
  if (bad.length > 0) throw new BlackstartError('CONFIG', bad.join('\n'));
}

/**
 * One cycle as a path whose first and last entries are the same host (`['a', 'b', 'a']`), or null.
 * Iterative, so a long chain of hosts cannot overflow the stack.
 */
export function findCycle(nodes: readonly GraphNode[]): string[] | null {
  const edges = new Map(nodes.map((n) => [n.id, n.dependsOn]));
  const state = new Map<string, 'open' | 'closed'>();
  for (const root of nodes) {
    if (state.has(root.id)) continue;
    const path: string[] = [root.id];
    const next: number[] = [0];
    state.set(root.id, 'open');
    while (path.length > 0) {
      const top = path.length - 1;
      const id = path[top] as string;
      const out = edges.get(id) ?? [];
      const i = next[top] as number;
      if (i >= out.length) {
        state.set(id, 'closed');
        path.pop();
        next.pop();
        continue;
      }
      next[top] = i + 1;
      const to = out[i] as string;
      if (!edges.has(to)) continue; // unknown references are checkReferences' business
      const seen = state.get(to);
      if (seen === 'open') return [...path.slice(path.indexOf(to)), to];
      if (seen === undefined) {
        state.set(to, 'open');
        path.push(to);
        next.push(0);
      }
    }
  }
  return null;
}

export function formatCycle(cycle: readonly string[]): string {
  return cycle.join(' → ');
}

/** References and cycles: what `blackstart check` must refuse before any plan is made. */
export function validateGraph(nodes: readonly GraphNode[]): void {
  const ids = new Set<string>();
  for (const n of nodes) {
    if (ids.has(n.id)) throw new BlackstartError('CONFIG', `host "${n.id}" is listed twice`);
    ids.add(n.id);
  }
  checkReferences(nodes);
  const cycle = findCycle(nodes);
  if (cycle) {
    throw new BlackstartError(
      'CONFIG',
      `depends_on forms a cycle: ${formatCycle(cycle)} (each host needs the next, so none can go down first); remove one of these depends_on entries`,
    );
  }
}

/**
 * Longest-path layering: a node's layer is one more than the highest layer among the nodes that
 * must come before it, 0 when none must. Nodes keep their input order within a layer so plans are
 * stable from run to run. `before(id)` may name ids outside `ids`; those are ignored. Assumes no
 * cycle (validateGraph first).
 */
export function layerBy(ids: readonly string[], before: (id: string) => readonly string[]): string[][] {
  const index = new Map(ids.map((id, i) => [id, i]));
  const after = new Map<string, string[]>(ids.map((id) => [id, []]));
  const waiting = new Map<string, number>();
  for (const id of ids) {
    let n = 0;
    for (const b of before(id)) {
      if (!index.has(b)) continue;
      (after.get(b) as string[]).push(id);
      n++;
    }
    waiting.set(id, n);
  }
  const layer = new Map<string, number>();
  const queue = ids.filter((id) => waiting.get(id) === 0);
  for (const id of queue) layer.set(id, 0);
  for (let q = 0; q < queue.length; q++) {
    const id = queue[q] as string;
    const l = layer.get(id) as number;
    for (const a of after.get(id) as string[]) {
      layer.set(a, Math.max(layer.get(a) ?? 0, l + 1));
      const left = (waiting.get(a) as number) - 1;
      waiting.set(a, left);
      if (left === 0) queue.push(a);
    }
  }
  if (queue.length !== ids.length) throw new BlackstartError('INTERNAL', 'layerBy was given a graph with a cycle');
  const out: string[][] = [];
  for (const id of ids) {
    const l = layer.get(id) as number;
    while (out.length <= l) out.push([]);
    (out[l] as string[]).push(id);
  }
  return out;
}

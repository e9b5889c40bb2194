/** Every status dot the nodes show comes from this one table, so a colour means the same on every node. */
import type { VmPower } from 'blackstart';
import type { NodeStatus, RedNode } from './red';

const TABLE = {
  // the link to Blackstart
  connecting: { fill: 'grey', shape: 'ring', text: 'connecting' },
  offline: { fill: 'red', shape: 'ring', text: 'Blackstart offline' },
  unknown: { fill: 'grey', shape: 'ring', text: 'no state yet' },
  error: { fill: 'red', shape: 'dot', text: 'error' },
  // UPS status
  online: { fill: 'green', shape: 'dot', text: 'online' },
  on_battery: { fill: 'yellow', shape: 'dot', text: 'on battery' },
  low_battery: { fill: 'red', shape: 'dot', text: 'low battery' },
  comm_lost: { fill: 'red', shape: 'ring', text: 'UPS not answering' },
  shutting_down: { fill: 'yellow', shape: 'ring', text: 'shutting down' },
  off: { fill: 'grey', shape: 'dot', text: 'off' },
  // host phase (shutting_down above)
  running: { fill: 'green', shape: 'dot', text: 'running' },
  down: { fill: 'grey', shape: 'dot', text: 'down' },
  waking: { fill: 'blue', shape: 'ring', text: 'waking' },
  unreachable: { fill: 'red', shape: 'ring', text: 'unreachable' },
  // outage phase (on_battery, shutting_down, down above)
  normal: { fill: 'green', shape: 'dot', text: 'normal' },
  restoring: { fill: 'blue', shape: 'ring', text: 'restoring' },
  // guest state (running, off above); a ring while it is on its way, as for shutting_down
  stopping: { fill: 'yellow', shape: 'ring', text: 'stopping' },
  paused: { fill: 'yellow', shape: 'dot', text: 'paused' },
  saved: { fill: 'grey', shape: 'dot', text: 'saved' },
  // Not "unknown" above (no state has arrived): the hypervisor has not been read, or could not be.
  vm_unknown: { fill: 'red', shape: 'ring', text: 'state unknown' },
  // a command
  busy: { fill: 'blue', shape: 'ring', text: 'working' },
  ok: { fill: 'green', shape: 'dot', text: 'ok' },
  failed: { fill: 'red', shape: 'dot', text: 'failed' },
  sent: { fill: 'green', shape: 'dot', text: 'sent' },
  ready: { fill: 'green', shape: 'ring', text: 'ready' },
} as const satisfies Record<string, Required<NodeStatus>>;

export type StatusKey = keyof typeof TABLE;

export const STATUS_KEYS = Object.keys(TABLE) as StatusKey[];

/** The dot for a state; `detail` replaces or follows the text (e.g. "on battery · 87 %"). */
export function statusOf(key: StatusKey, detail?: string): NodeStatus {
  const s = TABLE[key];
  return { fill: s.fill, shape: s.shape, text: detail ? `${s.text} · ${detail}` : s.text };
}

// A Record over every guest state, so a state added to the core fails to compile until it has a dot.
const VM_KEYS: Record<VmPower, StatusKey> = {
  running: 'running',
  paused: 'paused',
  stopping: 'stopping',
  off: 'off',
  saved: 'saved',
  unknown: 'vm_unknown',
};

/** The table's key for a guest state. */
export function vmStatusKey(state: VmPower): StatusKey {
  return VM_KEYS[state];
}

type Shown = NodeStatus | Record<string, never>;

// One per node, shared by the node's own code and the link and action helpers, so "last" is what the editor shows.
const setters = new WeakMap<RedNode, (status: Shown) => void>();

/**
 * The node's status setter: hub events (a host's latency on every probe) mostly repeat the dot already
 * shown, and each node.status call is a message to every open editor, so an identical one is skipped.
 */
export function statusSetter(node: RedNode): (status: Shown) => void {
  let setter = setters.get(node);
  if (!setter) {
    let last: Shown | undefined;
    setter = (status) => {
      if (last && same(last, status)) return;
      last = status;
      node.status(status);
    };
    setters.set(node, setter);
  }
  return setter;
}

function same(a: NodeStatus, b: NodeStatus): boolean {
  return a.fill === b.fill && a.shape === b.shape && a.text === b.text;
}

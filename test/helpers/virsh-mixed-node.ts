/**
 * test/fixtures/virsh/mixed-node.xml: a libvirt test-driver node file with one guest per state
 * virsh can list. What the driver must read from it, whether from real virsh or from the
 * captured session (session-mixed.txt).
 */
import { join } from 'node:path';
import type { GuestListing } from '../../src/adapters/vm/hypervisor';
import { repoRoot } from './repo';

export const MIXED_NODE_URI = `test://${join(repoRoot(), 'test/fixtures/virsh/mixed-node.xml')}`;

export const MIXED_NODE_GUESTS: readonly GuestListing[] = [
  { name: 'web server', state: 'running' },
  { name: 'cache', state: 'paused' },
  { name: "O'Brien #1", state: 'stopping' },
  { name: 'crashy', state: 'off', crashed: true },
  { name: 'sleepy', state: 'paused' },
  { name: 'idle one', state: 'running' },
  { name: 'archive', state: 'saved' },
  { name: 'db', state: 'off' },
  { name: '日本 guest', state: 'off' },
];

/**
 * Jest setup (each test file): daemons started by the tests keep their outage journal in a
 * fresh folder of this file's own, never in /var/lib/blackstart, so files run in parallel do
 * not contend for one journal lock.
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

process.env.BLACKSTART_STATE_DIR = mkdtempSync(join(tmpdir(), 'bs-state-'));

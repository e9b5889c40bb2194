/** The daemon and its outage journal: one controller per journal. */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startBlackstart } from '../../src/app';
import { parseConfig } from '../../src/config/loader';
import { silentLogger } from '../../src/core/logger';
import { freePort } from '../helpers/ports';

async function config(journal: string, port: number) {
  return parseConfig(`
mqtt: { embedded: { port: ${port} } }
outage: { journal: ${journal} }
ups:
  rack: { simulated: { interval: 200ms } }
hosts:
  web: { simulated: {} }
`).config;
}

describe('daemon journal', () => {
  it('a second daemon on the same journal is refused with BUSY, and nothing of it is left running', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'bs-daemon-journal-'));
    const journal = join(dir, 'journal.jsonl');
    const first = await startBlackstart(await config(journal, await freePort()), { log: silentLogger() });
    try {
      const port = await freePort();
      await expect(startBlackstart(await config(journal, port), { log: silentLogger() })).rejects.toMatchObject({ code: 'BUSY' });
      // Its embedded broker was closed again: the port is free for a third start.
      const third = await startBlackstart(await config(join(dir, 'other.jsonl'), port), { log: silentLogger() });
      await third.stop();
    } finally {
      await first.stop();
    }
  });
});

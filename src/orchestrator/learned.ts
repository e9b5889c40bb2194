/**
 * Measured shutdown durations, kept beside the journal so a plan made next month uses what the
 * hosts really took this month. A damaged file is reported and replaced, never fatal: the
 * planner falls back to the configured or default durations.
 */
import { promises as fs, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import type { Logger } from '../core/logger';
import { silentLogger } from '../core/logger';
import { LEARN_FROM_LAST, learnedShutdownMs } from './policy';

/** The measured durations' file: beside the journal at `journalPath`. */
export function durationsPath(journalPath: string): string {
  return join(dirname(journalPath), 'durations.json');
}

export interface LearnedDurations {
  /** The learned shutdown duration of a host, or null when nothing was measured. */
  shutdownMs(host: string): number | null;
  record(host: string, tookMs: number): Promise<void>;
}

/** For simulations and tests: nothing is remembered beyond the process. */
export class MemoryDurations implements LearnedDurations {
  protected measured = new Map<string, number[]>();

  shutdownMs(host: string): number | null {
    return learnedShutdownMs(this.measured.get(host) ?? []);
  }

  record(host: string, tookMs: number): Promise<void> {
    if (!Number.isFinite(tookMs) || tookMs <= 0) return Promise.resolve();
    const list = [...(this.measured.get(host) ?? []), Math.round(tookMs)].slice(-LEARN_FROM_LAST);
    this.measured.set(host, list);
    return Promise.resolve();
  }
}

/** A JSON file `{"<host>": [ms, …]}`, rewritten (temp file + rename) after each measurement. */
export class FileDurations extends MemoryDurations {
  private chain: Promise<void> = Promise.resolve();

  constructor(
    readonly path: string,
    private readonly log: Logger = silentLogger(),
  ) {
    super();
    this.load();
  }

  override async record(host: string, tookMs: number): Promise<void> {
    await super.record(host, tookMs);
    const body = JSON.stringify(Object.fromEntries(this.measured), null, 1) + '\n';
    this.chain = this.chain.then(async () => {
      try {
        const tmp = `${this.path}.tmp`;
        await fs.writeFile(tmp, body, { mode: 0o600 });
        await fs.rename(tmp, this.path);
      } catch (err) {
        this.log.warn({ file: this.path, err: (err as Error).message }, 'could not save measured shutdown durations');
      }
    });
    await this.chain;
  }

  private load(): void {
    let text: string;
    try {
      text = readFileSync(this.path, 'utf8');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') this.log.warn({ file: this.path, err: (err as Error).message }, 'cannot read measured shutdown durations');
      return;
    }
    try {
      const parsed = JSON.parse(text) as unknown;
      if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) throw new Error('not a JSON object');
      for (const [host, list] of Object.entries(parsed)) {
        if (!Array.isArray(list) || !list.every((n) => typeof n === 'number' && Number.isFinite(n) && n > 0)) {
          throw new Error(`"${host}" is not a list of positive numbers`);
        }
        this.measured.set(host, (list as number[]).slice(-LEARN_FROM_LAST));
      }
    } catch (err) {
      this.measured.clear();
      this.log.warn({ file: this.path, err: (err as Error).message }, 'measured shutdown durations are unreadable; starting afresh');
    }
  }
}

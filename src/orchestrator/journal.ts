/**
 * The outage journal: an append-only JSON-lines file. Every record is written and fsync'd
 * before `append` resolves, so the runner can write an intent, await it, and only then send
 * the command: after a crash, the file says at least as much as the hosts saw.
 */
import { promises as fs } from 'node:fs';
import { homedir } from 'node:os';
import { basename, dirname, join } from 'node:path';
import type { Config } from '../config/schema';
import { systemClock, type Clock } from '../core/clock';
import { BlackstartError, toBlackstartError } from '../core/errors';
import { silentLogger, type Logger } from '../core/logger';
import { JournalLock } from './journal-lock';
import { JOURNAL_VERSION, decodeRecord, encodeRecord, type JournalInput, type JournalRecord } from './journal-records';
import { JournalState } from './journal-state';

export * from './journal-records';
export * from './journal-state';

/** Where the journal lives when the config does not say: $BLACKSTART_STATE_DIR, /var/lib as root, else XDG state. */
function defaultJournalPath(env: NodeJS.ProcessEnv = process.env): string {
  if (env.BLACKSTART_STATE_DIR) return join(env.BLACKSTART_STATE_DIR, 'journal.jsonl');
  if (process.getuid?.() === 0) return '/var/lib/blackstart/journal.jsonl';
  return join(env.XDG_STATE_HOME || join(homedir(), '.local', 'state'), 'blackstart', 'journal.jsonl');
}

/** The journal of this config: `outage.journal`, else the default place. */
export function journalPath(config: Pick<Config, 'outage'>, env: NodeJS.ProcessEnv = process.env): string {
  return config.outage.journal?.path ?? defaultJournalPath(env);
}

export interface JournalOptions {
  log?: Logger;
  clock?: Clock;
  /**
   * What to do when the file holds a bad line (other than a torn last line). `fail` (default)
   * throws PROTOCOL; `rotate` moves the file to `<file>.corrupt-<ts>`, logs an error and starts
   * empty, so a damaged journal cannot keep the controller from starting. What the moved file
   * knew (hosts to restore) is then not known to the controller.
   */
  onCorrupt?: 'fail' | 'rotate';
  /** How many ended outages' files to keep as `<file>.ended-<ts>`; 0 keeps none. Default 5. */
  keepEnded?: number;
}

export interface ParsedJournal {
  records: JournalRecord[];
  /** Byte length of the complete lines; anything after it is a torn write. */
  goodBytes: number;
  tornBytes: number;
}

/** Parses journal text; a last line without its newline is a torn write and is left out. */
export function parseJournal(buf: Buffer, file: string): ParsedJournal {
  const lastNl = buf.lastIndexOf(0x0a);
  const goodBytes = lastNl + 1;
  const text = buf.subarray(0, goodBytes).toString('utf8');
  const records: JournalRecord[] = [];
  const lines = text.split('\n');
  lines.pop();
  lines.forEach((line, i) => {
    if (line.trim() === '') throw new BlackstartError('PROTOCOL', `${file} line ${i + 1}: empty line`);
    records.push(decodeRecord(line, `${file} line ${i + 1}`));
  });
  return { records, goodBytes, tornBytes: buf.length - goodBytes };
}

/** Folds parsed records; errors name the line. */
export function foldJournal(records: JournalRecord[], file: string): JournalState {
  const state = new JournalState();
  records.forEach((rec, i) => state.apply(rec, `${file} line ${i + 1}`));
  return state;
}

/**
 * A new record as every journal takes it: stamped with the version and `now` (unless it carries
 * its time), encoded (which checks it) and folded into a copy of `state`, so a record the fold
 * rejects is never kept. `where` names it in errors.
 */
function nextRecord(input: JournalInput, now: number, state: JournalState, where: string): { rec: JournalRecord; line: string; next: JournalState } {
  const rec = { v: JOURNAL_VERSION, ...input, at: input.at ?? now } as JournalRecord;
  const line = encodeRecord(rec);
  const next = state.clone();
  next.apply(rec, where);
  return { rec, line, next };
}

/** What the orchestrator needs of a journal: the file one, or the in-memory one `simulate` uses. */
export interface OutageJournal {
  append(input: JournalInput): Promise<JournalRecord>;
  replay(): JournalState;
  close(): Promise<void>;
}

/**
 * A journal that keeps its records in memory, with the same checks as the file: for simulations
 * on a virtual clock, where a real fsync would let virtual time run ahead of the runner.
 */
export class MemoryJournal implements OutageJournal {
  readonly records: JournalRecord[] = [];
  private state = new JournalState();

  constructor(private readonly clock: Clock = systemClock) {}

  append(input: JournalInput): Promise<JournalRecord> {
    try {
      const { rec, next } = nextRecord(input, this.clock.now(), this.state, `memory journal record ${this.records.length + 1}`);
      this.state = next;
      this.records.push(rec);
      return Promise.resolve(rec);
    } catch (err) {
      return Promise.reject(toBlackstartError(err));
    }
  }

  replay(): JournalState {
    return this.state.clone();
  }

  close(): Promise<void> {
    return Promise.resolve();
  }
}

export class Journal implements OutageJournal {
  private chain: Promise<void> = Promise.resolve();
  private broken: BlackstartError | null = null;
  private closed = false;

  private constructor(
    readonly path: string,
    private fh: fs.FileHandle,
    private state: JournalState,
    private readonly lock: JournalLock,
    private readonly log: Logger,
    private readonly clock: Clock,
    private readonly keepEnded: number,
  ) {}

  /**
   * Opens (creating with mode 0600, folder 0700) and locks the journal, drops a torn last line,
   * and folds what is there. Throws BUSY when another live controller holds the lock.
   */
  static async open(path: string, opts: JournalOptions = {}): Promise<Journal> {
    const log = opts.log ?? silentLogger();
    const clock = opts.clock ?? systemClock;
    await fs.mkdir(dirname(path), { recursive: true, mode: 0o700 });
    const lock = await JournalLock.acquire(path, log);
    try {
      let fh = await openFile(path);
      await syncDir(path);
      let state: JournalState;
      try {
        state = await loadAndRepair(fh, path, log);
      } catch (err) {
        await fh.close();
        if (!(err instanceof BlackstartError) || err.code !== 'PROTOCOL' || opts.onCorrupt !== 'rotate') throw err;
        const aside = `${path}.corrupt-${stamp(clock.now())}`;
        await fs.rename(path, aside);
        log.error(
          { journal: path, movedTo: aside, err: err.message },
          'journal is corrupt; moved aside, starting empty',
        );
        fh = await openFile(path);
        await syncDir(path);
        state = new JournalState();
      }
      return new Journal(path, fh, state, lock, log, clock, opts.keepEnded ?? 5);
    } catch (err) {
      await lock.release();
      throw err;
    }
  }

  /**
   * Writes one record and fsyncs it; resolves only once it is on disk. Appends are queued so
   * lines never interleave. After a failed write the journal refuses further appends: a
   * controller that cannot record must not go on commanding hosts.
   */
  append(input: JournalInput): Promise<JournalRecord> {
    // Stamped when asked for, not when its turn in the queue comes.
    const now = this.clock.now();
    const run = async (): Promise<JournalRecord> => {
      if (this.closed) throw new BlackstartError('INTERNAL', `journal ${this.path} is closed`);
      if (this.broken) throw this.broken;
      // Checked on a copy first so a record the fold rejects never reaches the file.
      const { rec, line, next } = nextRecord(input, now, this.state, `${this.path} (new record)`);
      try {
        await this.fh.appendFile(line, 'utf8');
        await this.fh.datasync();
      } catch (err) {
        const why = toBlackstartError(err).message;
        this.broken = new BlackstartError('INTERNAL', `journal ${this.path}: write failed: ${why}`, { cause: err });
        throw this.broken;
      }
      this.state = next;
      if (rec.kind === 'outage_ended') await this.rotateEnded();
      return rec;
    };
    const p = this.chain.then(run);
    this.chain = p.then(
      () => undefined,
      () => undefined,
    );
    return p;
  }

  /** The fold of what this journal holds now (the last outage; `active` false when none is open). */
  replay(): JournalState {
    return this.state.clone();
  }

  async close(): Promise<void> {
    if (this.closed) return;
    await this.chain;
    this.closed = true;
    await this.fh.close();
    await this.lock.release();
  }

  /**
   * Compaction: once an outage has ended the live file holds nothing a restart needs, so it is
   * renamed to `<file>.ended-<ts>` and a fresh one started; only the newest `keepEnded` are kept.
   */
  private async rotateEnded(): Promise<void> {
    const id = (this.state.outageId ?? 'unknown').replace(/[^A-Za-z0-9_-]/g, '_');
    const ended = `${this.path}.ended-${stamp(this.clock.now())}-${id}`;
    try {
      // Renamed while still open: if this fails, the old file simply goes on growing.
      await fs.rename(this.path, ended);
    } catch (err) {
      const why = (err as Error).message;
      this.log.warn({ journal: this.path, err: why }, 'could not rotate the journal; it keeps growing');
      return;
    }
    const old = this.fh;
    try {
      this.fh = await openFile(this.path);
      await syncDir(this.path);
    } catch (err) {
      // The handle still points at the archived file; writing there would hide records.
      const why = (err as Error).message;
      this.broken = new BlackstartError('INTERNAL', `journal ${this.path}: cannot start a new file: ${why}`);
      throw this.broken;
    } finally {
      await old.close();
    }
    await this.prune();
    this.log.info({ journal: this.path, archived: ended }, 'outage ended; journal rotated');
  }

  private async prune(): Promise<void> {
    const prefix = `${basename(this.path)}.ended-`;
    const names = (await fs.readdir(dirname(this.path))).filter((n) => n.startsWith(prefix)).sort();
    for (const name of names.slice(0, Math.max(0, names.length - this.keepEnded))) {
      await fs.rm(join(dirname(this.path), name), { force: true });
    }
  }
}

/**
 * Reads and folds a journal without locking or repairing it, for status displays and tools.
 * A torn last line is left out; a bad line throws PROTOCOL. A missing file is an empty journal.
 */
export async function readJournal(path: string): Promise<JournalState> {
  let buf: Buffer;
  try {
    buf = await fs.readFile(path);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return new JournalState();
    throw err;
  }
  return foldJournal(parseJournal(buf, path).records, path);
}

async function openFile(path: string): Promise<fs.FileHandle> {
  const fh = await fs.open(path, 'a+', 0o600);
  // The mode above only applies to a new file and is filtered by the umask.
  await fh.chmod(0o600);
  return fh;
}

async function loadAndRepair(fh: fs.FileHandle, path: string, log: Logger): Promise<JournalState> {
  const buf = await fh.readFile();
  const parsed = parseJournal(buf, path);
  if (parsed.tornBytes > 0) {
    // The process died mid-write; that record was never acknowledged, so nobody acted on it.
    // Cut it off, or the next append would glue a good record onto the fragment.
    log.warn(
      { journal: path, line: parsed.records.length + 1, bytes: parsed.tornBytes },
      'journal ends in a torn line (crash during a write); dropping it',
    );
    await fh.truncate(parsed.goodBytes);
    await fh.sync();
  }
  return foldJournal(parsed.records, path);
}

async function syncDir(path: string): Promise<void> {
  // A new or renamed file survives a power cut only once its folder entry is on disk too.
  const dir = await fs.open(dirname(path), 'r');
  try {
    await dir.sync();
  } finally {
    await dir.close();
  }
}

function stamp(ms: number): string {
  return new Date(ms).toISOString().replace(/[-:]/g, '').replace('.', '');
}

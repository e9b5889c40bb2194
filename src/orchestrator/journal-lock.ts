/**
 * A lock file beside the journal so two controllers never interleave records in one file.
 *
 * The lock is `<journal>.lock` holding `{pid, host, proc_start}`. It is written whole to a
 * temporary name and hard-linked into place, so it is never seen half-written. A lock whose
 * PID is gone on this machine is stale (the holder was killed) and is taken over. `proc_start`
 * (the process start time from /proc, where there is one) and the boot id tell a reused PID
 * from the holder.
 * A lock written on another host is never taken over: we cannot see its processes.
 */
import { promises as fs, readFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { BlackstartError } from '../core/errors';
import type { Logger } from '../core/logger';

interface LockInfo {
  pid: number;
  host: string;
  proc_start: string | null;
  /** Linux boot id: a lock from before a reboot is stale whatever process now has its PID. */
  boot: string | null;
}

export class JournalLock {
  private constructor(readonly path: string) {}

  static async acquire(journalPath: string, log: Logger): Promise<JournalLock> {
    const path = `${journalPath}.lock`;
    const mine: LockInfo = { pid: process.pid, host: hostname(), proc_start: procStart(process.pid), boot: bootId() };
    const tmp = `${path}.${process.pid}.${Date.now()}`;
    await fs.writeFile(tmp, JSON.stringify(mine) + '\n', { mode: 0o600 });
    try {
      // Two tries: the second follows removing a stale lock; losing that race to another
      // controller is reported as BUSY like any held lock.
      for (let attempt = 0; attempt < 2; attempt++) {
        try {
          await fs.link(tmp, path);
          return new JournalLock(path);
        } catch (err) {
          if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
        }
        const holder = await readLock(path);
        if (holder && isAlive(holder)) {
          throw new BlackstartError(
            'BUSY',
            `journal ${journalPath} is locked by pid ${holder.pid} on ${holder.host} (${path}); ` +
              'is another controller running?',
          );
        }
        log.warn({ lock: path, holder }, 'journal lock left by a controller that is gone; taking it over');
        await fs.rm(path, { force: true });
      }
      throw new BlackstartError('BUSY', `journal ${journalPath}: another controller took the lock ${path} first`);
    } finally {
      await fs.rm(tmp, { force: true });
    }
  }

  async release(): Promise<void> {
    const holder = await readLock(this.path);
    // Only remove our own lock: if it was (wrongly) taken over, the other holder keeps it.
    if (holder && holder.pid === process.pid && holder.host === hostname()) await fs.rm(this.path, { force: true });
  }
}

async function readLock(path: string): Promise<LockInfo | null> {
  let text: string;
  try {
    text = await fs.readFile(path, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw err;
  }
  try {
    const o = JSON.parse(text) as Partial<LockInfo>;
    if (typeof o.pid === 'number' && typeof o.host === 'string') {
      return {
        pid: o.pid,
        host: o.host,
        proc_start: typeof o.proc_start === 'string' ? o.proc_start : null,
        boot: typeof o.boot === 'string' ? o.boot : null,
      };
    }
  } catch {
    // fall through: a lock we cannot read was not written by us (ours appear whole).
  }
  return null;
}

function isAlive(holder: LockInfo): boolean {
  if (holder.host !== hostname()) return true;
  const boot = bootId();
  if (holder.boot !== null && boot !== null && holder.boot !== boot) return false;
  try {
    process.kill(holder.pid, 0);
  } catch (err) {
    // EPERM: it exists but belongs to someone else.
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
  const now = procStart(holder.pid);
  if (now === 'zombie') return false;
  return holder.proc_start === null || now === null || now === holder.proc_start;
}

/** Field 22 of /proc/<pid>/stat (start time in clock ticks since boot); null off Linux. */
function procStart(pid: number): string | null {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // The command name (field 2) may hold spaces and parentheses; count fields after the last ')'.
    const rest = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    // A zombie (killed, not yet reaped by its parent) still answers kill(pid, 0) but holds nothing.
    if (rest[0] === 'Z') return 'zombie';
    return rest[19] ?? null;
  } catch {
    return null;
  }
}

function bootId(): string | null {
  try {
    return readFileSync('/proc/sys/kernel/random/boot_id', 'utf8').trim();
  } catch {
    return null;
  }
}

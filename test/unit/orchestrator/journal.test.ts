import { spawn } from 'node:child_process';
import { promises as fs } from 'node:fs';
import { hostname, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { FakeClock } from '../../../src/core/clock';
import { BlackstartError } from '../../../src/core/errors';
import { silentLogger } from '../../../src/core/logger';
import { Journal, MemoryJournal, parseJournal, readJournal, type JournalInput } from '../../../src/orchestrator/journal';

let dir: string;
let file: string;
const open: Journal[] = [];

beforeEach(async () => {
  dir = await fs.mkdtemp(join(tmpdir(), 'bs-journal-'));
  file = join(dir, 'state', 'journal.jsonl');
});

afterEach(async () => {
  for (const j of open.splice(0)) await j.close();
  await fs.rm(dir, { recursive: true, force: true });
});

async function openJournal(opts: Parameters<typeof Journal.open>[1] = {}): Promise<Journal> {
  const j = await Journal.open(file, { log: silentLogger(), clock: new FakeClock(), ...opts });
  open.push(j);
  return j;
}

async function closeJournal(j: Journal): Promise<void> {
  open.splice(open.indexOf(j), 1);
  await j.close();
}

async function expectError(p: Promise<unknown>, code: string, text: RegExp): Promise<void> {
  const err = await p.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(BlackstartError);
  expect((err as BlackstartError).code).toBe(code);
  expect((err as BlackstartError).message).toMatch(text);
}

const O = 'o1';
const started: JournalInput = {
  kind: 'outage_started',
  outage_id: O,
  ups: 'rack',
  reason: 'on battery 60s',
  running_before: ['nas', 'pve1', 'pve2'],
};
const shutdownOf = (host: string, ok = true): JournalInput[] => [
  { kind: 'step_intent', outage_id: O, host, action: 'shutdown' },
  {
    kind: 'step_done',
    outage_id: O,
    host,
    action: 'shutdown',
    ok,
    took_ms: 1200,
    verified_by: 'ping',
    ...(ok ? {} : { error: 'ssh refused' }),
  },
];

async function appendAll(j: Journal, recs: JournalInput[]): Promise<void> {
  for (const r of recs) await j.append(r);
}

describe('Journal', () => {
  it('round-trips every record kind through the file', async () => {
    const j = await openJournal({ keepEnded: 0 });
    const all: JournalInput[] = [
      started,
      { kind: 'phase', outage_id: O, phase: 'shutting_down' },
      ...shutdownOf('nas'),
      { kind: 'phase', outage_id: O, phase: 'down' },
      { kind: 'restore_started', outage_id: O },
      { kind: 'restore_step_intent', outage_id: O, host: 'nas', action: 'wake' },
      { kind: 'restore_step_done', outage_id: O, host: 'nas', action: 'wake', ok: true, took_ms: 3e4, verified_by: 'ping' },
    ];
    await appendAll(j, all);
    await closeJournal(j);
    const parsed = parseJournal(await fs.readFile(file), file);
    expect(parsed.tornBytes).toBe(0);
    expect(parsed.records.map((r) => r.kind)).toEqual(all.map((r) => r.kind));
    parsed.records.forEach((r, i) => {
      expect(r).toMatchObject({ ...all[i], v: 1 });
      expect(typeof r.at).toBe('number');
    });
    // outage_ended rotates the file, so it is checked in the archived copy.
    const j2 = await openJournal({ keepEnded: 1 });
    await j2.append({ kind: 'outage_ended', outage_id: O, result: 'restored' });
    const archived = (await fs.readdir(join(dir, 'state'))).filter((n) => n.includes('.ended-'));
    expect(archived).toHaveLength(1);
    const last = parseJournal(await fs.readFile(join(dir, 'state', archived[0] ?? '')), 'x').records.at(-1);
    expect(last).toMatchObject({ kind: 'outage_ended', outage_id: O, result: 'restored', v: 1 });
  });

  it('folds a multi-step outage on replay after reopening', async () => {
    const j = await openJournal();
    await appendAll(j, [
      started,
      { kind: 'phase', outage_id: O, phase: 'shutting_down' },
      ...shutdownOf('pve1'),
      ...shutdownOf('pve2', false),
      { kind: 'step_intent', outage_id: O, host: 'pve2', action: 'power_off' },
      { kind: 'step_done', outage_id: O, host: 'pve2', action: 'power_off', ok: true, took_ms: 50, verified_by: 'ipmi' },
      ...shutdownOf('nas'),
      { kind: 'phase', outage_id: O, phase: 'down' },
      { kind: 'restore_started', outage_id: O },
      { kind: 'restore_step_intent', outage_id: O, host: 'nas', action: 'wake' },
      { kind: 'restore_step_done', outage_id: O, host: 'nas', action: 'wake', ok: true, took_ms: 9000 },
      { kind: 'restore_step_intent', outage_id: O, host: 'pve1', action: 'power_on' },
      { kind: 'restore_step_done', outage_id: O, host: 'pve1', action: 'power_on', ok: false, error: 'bmc', took_ms: 5 },
    ]);
    await closeJournal(j);
    const s = (await openJournal()).replay();
    expect(s.active).toBe(true);
    expect(s.outageId).toBe(O);
    expect(s.phase).toBe('restoring');
    expect([...s.runningBefore]).toEqual(['nas', 'pve1', 'pve2']);
    expect(s.commanded.get('pve2')).toEqual({ action: 'power_off', done: true, ok: true, verifiedBy: 'ipmi' });
    expect(s.commanded.get('pve1')).toMatchObject({ action: 'shutdown', done: true, ok: true });
    expect(s.wasCommanded('pve2', 'shutdown')).toBe(true);
    expect(s.wasCommanded('pve2', 'power_off')).toBe(true);
    expect(s.wasCommanded('pve1', 'power_off')).toBe(false);
    expect(s.wasCommanded('nas', 'wake', 'restore')).toBe(true);
    expect([...s.restored]).toEqual(['nas']);
    expect(s.toRestore()).toEqual(['pve1', 'pve2']);
    expect(s.uncertain()).toEqual([]);
  });

  it('reports an intent without its outcome as uncertain after a crash, not as re-commandable', async () => {
    const j = await openJournal();
    const intent: JournalInput = { kind: 'step_intent', outage_id: O, host: 'nas', action: 'shutdown', at: 1234 };
    await appendAll(j, [started, ...shutdownOf('pve1'), intent]);
    // Closed for the file handle's sake, then the lock a killed controller would leave is put back.
    await closeJournal(j);
    await fs.writeFile(`${file}.lock`, JSON.stringify({ pid: 2 ** 22 + 7, host: hostname(), proc_start: null }));
    const s = (await openJournal()).replay();
    expect(s.active).toBe(true);
    expect(s.uncertain()).toEqual([{ stage: 'shutdown', host: 'nas', action: 'shutdown', at: 1234 }]);
    expect(s.wasCommanded('nas', 'shutdown')).toBe(true);
    expect(s.commanded.get('nas')).toEqual({ action: 'shutdown', done: false });
    expect(s.toRestore()).toEqual(['nas', 'pve1', 'pve2']);
  });

  it('ignores a torn last line and cuts it off so later appends stay readable', async () => {
    const j = await openJournal();
    await appendAll(j, [started, ...shutdownOf('nas')]);
    await closeJournal(j);
    await fs.appendFile(file, '{"v":1,"kind":"step_intent","outage_id":"o1","ho');
    const warnings: unknown[] = [];
    const log = silentLogger();
    log.warn = ((o: unknown) => warnings.push(o)) as typeof log.warn;
    const j2 = await openJournal({ log });
    expect(warnings).toEqual([expect.objectContaining({ line: 4 })]);
    expect(j2.replay().commanded.get('nas')).toMatchObject({ done: true });
    await j2.append({ kind: 'step_intent', outage_id: O, host: 'pve1', action: 'shutdown' });
    await closeJournal(j2);
    const s = (await openJournal()).replay();
    expect(s.uncertain()).toEqual([expect.objectContaining({ host: 'pve1' })]);
  });

  it('fails on a corrupt middle line naming it, and rotate mode moves the file aside', async () => {
    const j = await openJournal();
    await appendAll(j, [started, ...shutdownOf('nas')]);
    await closeJournal(j);
    const lines = (await fs.readFile(file, 'utf8')).split('\n');
    lines[1] = '{"v":1,"kind":"step_intent","outage_id":"o1","host":"NAS!","action":"shutdown","at":1}';
    await fs.writeFile(file, lines.join('\n'));
    await expectError(openJournal(), 'PROTOCOL', /journal\.jsonl line 2: step_intent\.host "NAS!" is not a host id or <host>\/<guest>/);
    const misspelt = lines.join('\n').replace('"NAS!"', '"nas"').replace('"kind":"step_done"', '"kind":"step_dune"');
    await fs.writeFile(file, misspelt);
    await expectError(openJournal(), 'PROTOCOL', /line 3: unknown kind "step_dune"/);
    await fs.writeFile(file, `${lines[0]}\nnot json\n${lines[2]}\n`);
    await expectError(openJournal({ onCorrupt: 'fail' }), 'PROTOCOL', /line 2: not JSON/);

    const j2 = await openJournal({ onCorrupt: 'rotate' });
    expect(j2.replay().active).toBe(false);
    const names = await fs.readdir(join(dir, 'state'));
    const aside = names.find((n) => n.startsWith('journal.jsonl.corrupt-'));
    expect(aside).toBeDefined();
    expect(await fs.readFile(join(dir, 'state', aside ?? ''), 'utf8')).toContain('not json');
    expect(await fs.readFile(file, 'utf8')).toBe('');
  });

  it("keeps a guest's steps under its node id, with guest actions, and refuses a malformed node id", async () => {
    const j = await openJournal();
    await j.append({ kind: 'outage_started', outage_id: O, ups: 'rack', reason: 'test', running_before: ['hv1', 'hv1/db'] });
    await j.append({ kind: 'step_intent', outage_id: O, host: 'hv1/db', action: 'save' });
    await j.append({ kind: 'step_done', outage_id: O, host: 'hv1/db', action: 'save', ok: false, took_ms: 5, error: 'timeout' });
    await j.append({ kind: 'step_intent', outage_id: O, host: 'hv1/db', action: 'off' });
    await closeJournal(j);
    const j2 = await openJournal();
    const s = j2.replay();
    expect([...s.runningBefore]).toEqual(['hv1', 'hv1/db']);
    expect(s.uncertain()).toEqual([expect.objectContaining({ host: 'hv1/db', action: 'off' })]);
    for (const host of ['hv1/db/x', 'hv1/', '/db', 'hv1/DB']) {
      await expectError(j2.append({ kind: 'step_intent', outage_id: O, host, action: 'off' }), 'INTERNAL', /is not a host id or <host>\/<guest>/);
    }
    const bad = { kind: 'step_intent', outage_id: O, host: 'hv1/db', action: 'hibernate' } as unknown as JournalInput;
    await expectError(j2.append(bad), 'INTERNAL', /step_intent\.action "hibernate" is not one of/);
    await closeJournal(j2);
  });

  it('rejects records that break the outage sequence, without writing them', async () => {
    const j = await openJournal();
    const intent: JournalInput = { kind: 'step_intent', outage_id: O, host: 'nas', action: 'shutdown' };
    await expectError(j.append(intent), 'PROTOCOL', /before any outage_started/);
    await j.append(started);
    const done: JournalInput = { kind: 'step_done', outage_id: O, host: 'nas', action: 'shutdown', ok: true, took_ms: 1 };
    await expectError(j.append(done), 'PROTOCOL', /without an open intent/);
    await expectError(j.append({ kind: 'phase', outage_id: 'o2', phase: 'down' }), 'PROTOCOL', /current one is o1/);
    // A record the codec refuses is a programming error, not a file problem.
    const dark = { kind: 'phase', outage_id: O, phase: 'dark' } as unknown as JournalInput;
    await expectError(j.append(dark), 'INTERNAL', /phase\.phase "dark"/);
    expect(parseJournal(await fs.readFile(file), file).records).toHaveLength(1);
  });

  it('carries what an unfinished outage took down into the next one', async () => {
    const j = await openJournal();
    await appendAll(j, [started, ...shutdownOf('nas')]);
    await j.append({ kind: 'outage_started', outage_id: 'o2', ups: 'rack', reason: 'again', running_before: ['pve9'] });
    const s = j.replay();
    expect(s.outageId).toBe('o2');
    expect(s.toRestore().sort()).toEqual(['nas', 'pve1', 'pve2', 'pve9']);
  });

  it('rotates the file when an outage ends and keeps only the newest ended files', async () => {
    const clock = new FakeClock();
    const j = await openJournal({ clock, keepEnded: 2 });
    for (let i = 1; i <= 3; i++) {
      await j.append({ ...started, outage_id: `o${i}` } as JournalInput);
      await j.append({ kind: 'outage_ended', outage_id: `o${i}`, result: 'restored' });
      await clock.advance(1000);
    }
    expect(j.replay().active).toBe(false);
    expect(await fs.readFile(file, 'utf8')).toBe('');
    const ended = (await fs.readdir(join(dir, 'state'))).filter((n) => n.includes('.ended-')).sort();
    expect(ended).toHaveLength(2);
    expect(ended[0]).toMatch(/-o2$/);
    expect(ended[1]).toMatch(/-o3$/);
  });

  it('creates the file 0600 and refuses a second open while the first holds the lock', async () => {
    const j = await openJournal();
    expect((await fs.stat(file)).mode & 0o777).toBe(0o600);
    await expectError(openJournal(), 'BUSY', new RegExp(`locked by pid ${process.pid}`));
    await closeJournal(j);
    await openJournal();
  });

  it('takes over a stale lock left by a PID that no longer exists', async () => {
    await fs.mkdir(join(dir, 'state'), { recursive: true });
    const child = spawn(process.execPath, ['-e', '0']);
    const pid = child.pid ?? 0;
    await new Promise((r) => child.on('exit', r));
    await fs.writeFile(`${file}.lock`, JSON.stringify({ pid, host: hostname(), proc_start: null }));
    const j = await openJournal();
    await j.append(started);
    expect(JSON.parse(await fs.readFile(`${file}.lock`, 'utf8'))).toMatchObject({ pid: process.pid });
  });

  it('keeps records in call order when appends are not awaited one by one', async () => {
    const j = await openJournal();
    await j.append({ ...started, running_before: [] } as JournalInput);
    const hosts = Array.from({ length: 40 }, (_, i) => `h${i}`);
    await Promise.all(hosts.map((host) => j.append({ kind: 'step_intent', outage_id: O, host, action: 'soft_off' })));
    const recs = parseJournal(await fs.readFile(file), file).records.slice(1);
    expect(recs.map((r) => (r.kind === 'step_intent' ? r.host : ''))).toEqual(hosts);
  });

  it('reports an interrupted restore step as uncertain and still owed', async () => {
    const j = await openJournal();
    await appendAll(j, [
      started,
      ...shutdownOf('nas'),
      { kind: 'restore_started', outage_id: O },
      { kind: 'restore_step_intent', outage_id: O, host: 'nas', action: 'wake', at: 99 },
    ]);
    await closeJournal(j);
    const s = await readJournal(file);
    expect(s.phase).toBe('restoring');
    expect(s.uncertain()).toEqual([{ stage: 'restore', host: 'nas', action: 'wake', at: 99 }]);
    expect(s.wasCommanded('nas', 'wake', 'restore')).toBe(true);
    expect(s.wasCommanded('nas', 'wake')).toBe(false);
    expect(s.toRestore()).toContain('nas');
  });

  it('reads a journal without the lock, leaving out a torn tail, and a missing one as empty', async () => {
    expect((await readJournal(file)).active).toBe(false);
    const j = await openJournal();
    await j.append(started);
    await fs.appendFile(file, '{"v":1,"ki');
    expect((await readJournal(file)).outageId).toBe(O);
  });

  it('keeps a lock held on another machine, and drops one from before a reboot', async () => {
    await fs.mkdir(join(dir, 'state'), { recursive: true });
    const lock = { pid: process.pid, host: 'elsewhere', proc_start: null, boot: null };
    await fs.writeFile(`${file}.lock`, JSON.stringify(lock));
    await expectError(openJournal(), 'BUSY', /pid \d+ on elsewhere/);
    await fs.writeFile(`${file}.lock`, JSON.stringify({ ...lock, host: hostname(), boot: 'another-boot' }));
    const bootKnown = await fs.readFile('/proc/sys/kernel/random/boot_id').then(
      () => true,
      () => false,
    );
    if (bootKnown) await openJournal();
    else await expectError(openJournal(), 'BUSY', /locked/);
  });

  it('keeps every acknowledged record when the writer is SIGKILLed mid-stream', async () => {
    const modulePath = resolve(__dirname, '../../../src/orchestrator/journal.js');
    const script = join(dir, 'writer.js');
    await fs.writeFile(
      script,
      `const { Journal } = require(${JSON.stringify(modulePath)});
      const [file, from] = [process.argv[2], Number(process.argv[3])];
      (async () => {
        const j = await Journal.open(file);
        if (from === 0) {
          await j.append({ kind: 'outage_started', outage_id: 'crash', ups: 'u', reason: 'test', running_before: [] });
          console.log('ack start');
        }
        for (let i = from; ; i++) {
          await j.append({ kind: 'step_intent', outage_id: 'crash', host: 'h' + i, action: 'shutdown' });
          console.log('ack intent ' + i);
          await j.append({ kind: 'step_done', outage_id: 'crash', host: 'h' + i, action: 'shutdown', ok: true, took_ms: 1 });
          console.log('ack done ' + i);
        }
      })();`,
    );
    let from = 0;
    for (let round = 0; round < 3; round++) {
      const acked = await runAndKill(script, file, from, 150 + round * 37);
      const j = await openJournal();
      const s = j.replay();
      for (const line of acked) {
        const [, kind, n] = line.split(' ');
        if (kind === 'start') expect(s.outageId).toBe('crash');
        if (kind === 'intent') expect(s.wasCommanded(`h${n}`, 'shutdown')).toBe(true);
        if (kind === 'done') expect(s.commanded.get(`h${n}`)).toMatchObject({ done: true, ok: true });
      }
      // At most the one step in flight at the kill is in doubt.
      expect(s.uncertain().length).toBeLessThanOrEqual(1);
      from = Math.max(...[...s.commanded.keys()].map((h) => Number(h.slice(1)))) + 1;
      // An uncertain step is finished by the next run's verification, here simply recorded.
      for (const u of s.uncertain()) {
        const { host, action } = u;
        await j.append({ kind: 'step_done', outage_id: 'crash', host, action, ok: true, took_ms: 0, verified_by: 'test' });
      }
      await closeJournal(j);
    }
  });
});

/** Runs the writer until it has acknowledged `after` records, SIGKILLs it, and returns its acks. */
function runAndKill(script: string, file: string, from: number, after: number): Promise<string[]> {
  return new Promise((resolvePromise, reject) => {
    const child = spawn(process.execPath, [script, file, String(from)], { stdio: ['ignore', 'pipe', 'pipe'] });
    const acked: string[] = [];
    let buf = '';
    let stderr = '';
    let killed = false;
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.stdout.on('data', (d: Buffer) => {
      buf += d.toString();
      const lines = buf.split('\n');
      buf = lines.pop() ?? '';
      acked.push(...lines);
      if (!killed && acked.length >= after) {
        killed = true;
        child.kill('SIGKILL');
      }
    });
    child.on('exit', (_code, signal) => {
      if (signal !== 'SIGKILL') reject(new Error(`writer exited early: ${stderr}`));
      else resolvePromise(acked);
    });
  });
}

describe('an aborted plan and the in-memory journal', () => {
  it('remembers an abort across a restart, and forgets it with the next outage', async () => {
    const j = await openJournal();
    await j.append({ kind: 'outage_started', outage_id: 'o1', ups: 'rack', reason: 'test', running_before: ['nas'] });
    await j.append({ kind: 'plan_aborted', outage_id: 'o1', by: 'mqtt' });
    await closeJournal(j);
    const again = await openJournal();
    expect(again.replay().aborted).toBe(true);
    await again.append({ kind: 'outage_started', outage_id: 'o2', ups: 'rack', reason: 'again', running_before: [] });
    expect(again.replay().aborted).toBe(false);
    // nas was never brought back: it is carried into the new outage.
    expect(again.replay().toRestore()).toEqual(['nas']);
  });

  it('the memory journal applies the same checks as the file one', async () => {
    const m = new MemoryJournal(new FakeClock());
    await expect(m.append({ kind: 'step_intent', outage_id: 'o1', host: 'nas', action: 'shutdown' })).rejects.toMatchObject({ code: 'PROTOCOL', message: expect.stringMatching(/before any outage_started/) });
    await m.append({ kind: 'outage_started', outage_id: 'o1', ups: 'rack', reason: 'r', running_before: [] });
    await expect(m.append({ kind: 'plan_aborted', outage_id: 'o1', by: '' })).rejects.toMatchObject({ code: 'INTERNAL', message: expect.stringMatching(/plan_aborted\.by must be a non-empty string/) });
    expect(m.records.map((r) => r.kind)).toEqual(['outage_started']);
    expect(m.replay().active).toBe(true);
  });
});

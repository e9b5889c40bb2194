/**
 * The local command shutdown method with real processes (/bin/sh): exit codes, captured output,
 * the timeout that stops the whole process group, the environment it gets, and a dry run.
 */
import { mkdtempSync, readFileSync, rmSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CommandMethod, OUTPUT_LIMIT, showArgv } from '../../../src/adapters/power/command';
import { commandShutdownSchema, createCommandShutdown } from '../../../src/adapters/power/command-config';
import { rejection } from '../../helpers/rejection';

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/** Dead, or a zombie waiting for init to reap it (in a container init may reap lazily). */
function gone(pid: number): boolean {
  if (!alive(pid)) return true;
  try {
    return readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]?.startsWith('Z') ?? false;
  } catch {
    return true;
  }
}

async function until(cond: () => boolean): Promise<void> {
  while (!cond()) await new Promise((r) => setTimeout(r, 10));
}

describe('command shutdown method', () => {
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'blackstart-cmd-'));
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it('runs the argv without a shell and returns exit 0 with the output', async () => {
    const m = new CommandMethod({ argv: ['/bin/sh', '-c', 'echo "down: $1"; echo warn >&2', 'sh', 'a b;c'] });
    const outcome = await m.run();
    expect(outcome).toMatchObject({ method: 'command', dryRun: false, steps: [{ name: 'exec', status: 0 }] });
    // $1 arrived as one word, untouched by any shell of ours.
    expect(outcome.output).toBe('down: a b;c\nstderr: warn');
  });

  it('a non-zero exit is REFUSED with the code and what stderr said', async () => {
    const m = new CommandMethod({ argv: ['/bin/sh', '-c', 'echo progress; echo "permission denied" >&2; exit 3'] });
    const err = await rejection(m.run());
    expect(err.code).toBe('REFUSED');
    expect(err.message).toBe(`command /bin/sh -c 'echo progress; echo "permission denied" >&2; exit 3' exited with code 3: permission denied`);
  });

  it('another exit code can be declared a success', async () => {
    const m = new CommandMethod({ argv: ['/bin/sh', '-c', 'exit 2'], okExitCodes: [0, 2] });
    expect((await m.run()).steps[0]?.status).toBe(2);
  });

  it('a timeout is TIMEOUT and stops the command and what it started', async () => {
    const pids = join(dir, 'pids');
    const m = new CommandMethod({ argv: ['/bin/sh', '-c', `sleep 60 & echo $$ $! > ${pids}; wait`], timeoutMs: 300 });
    const err = await rejection(m.run());
    expect(err.code).toBe('TIMEOUT');
    expect(err.message).toMatch(/did not finish within 300 ms; stopped$/);
    const [shell, sleeper] = readFileSync(pids, 'utf8').trim().split(' ').map(Number);
    expect(alive(shell as number)).toBe(false);
    // The background sleep was in the same process group, so it got the signal too.
    await until(() => gone(sleeper as number));
  });

  it('an abort signal is CANCELLED and stops the command', async () => {
    const pid = join(dir, 'pid');
    const controller = new AbortController();
    const running = new CommandMethod({ argv: ['/bin/sh', '-c', `echo $$ > ${pid}; exec sleep 60`] }).run({ signal: controller.signal });
    await until(() => existsSync(pid) && readFileSync(pid, 'utf8').endsWith('\n'));
    controller.abort();
    expect((await rejection(running)).code).toBe('CANCELLED');
    expect(alive(Number(readFileSync(pid, 'utf8')))).toBe(false);
  });

  it('a dry run shows the argv and runs nothing', async () => {
    const marker = join(dir, 'ran');
    const m = new CommandMethod({ argv: ['/usr/bin/touch', marker], env: { MODE: 'x' }, passEnv: ['SSH_AUTH_SOCK'] });
    const outcome = await m.run({ dryRun: true });
    expect(outcome.dryRun).toBe(true);
    expect(outcome.output).toBe(`would run: /usr/bin/touch ${marker}\ntimeout: 30000 ms, success: exit 0\nenvironment adds: MODE, SSH_AUTH_SOCK`);
    expect(existsSync(marker)).toBe(false);
  });

  it('a program that does not exist is a CONFIG error naming it', async () => {
    const err = await rejection(new CommandMethod({ argv: [join(dir, 'nope')] }).run());
    expect(err.code).toBe('CONFIG');
    expect(err.message).toContain(`${join(dir, 'nope')} cannot be started (ENOENT)`);
  });

  it('keeps only the first part of a long output', async () => {
    const m = new CommandMethod({ argv: ['/bin/sh', '-c', `head -c ${OUTPUT_LIMIT * 3} /dev/zero | tr '\\0' x`] });
    const outcome = await m.run();
    expect(outcome.output).toBe(`${'x'.repeat(OUTPUT_LIMIT)}\n… (${OUTPUT_LIMIT * 2} more bytes not kept)`);
  });

  it('passes only the base environment, the named variables and the fixed ones', async () => {
    const m = new CommandMethod({
      argv: ['/bin/sh', '-c', 'echo "${MQTT_PASSWORD:-unset} ${KEEP:-unset} ${MODE:-unset}"'],
      env: { MODE: 'poweroff' },
      passEnv: ['KEEP'],
      parentEnv: { PATH: process.env.PATH, MQTT_PASSWORD: 'hunter2', KEEP: 'kept' },
    });
    expect((await m.run()).output).toBe('unset kept poweroff');
  });

  it('shows an argv as it could be pasted into a shell', () => {
    expect(showArgv(['ssh', 'root@nas', "echo 'hi there'", ''])).toBe(`ssh root@nas 'echo '\\''hi there'\\''' ''`);
  });
});

describe('command shutdown config', () => {
  it('fills defaults and builds the method', () => {
    const cfg = commandShutdownSchema.parse({ command: ['systemctl', 'poweroff'], pass_env: ['SSH_AUTH_SOCK'] });
    expect(cfg).toEqual({ command: ['systemctl', 'poweroff'], timeout: 30_000, okExitCodes: [0], passEnv: ['SSH_AUTH_SOCK'] });
    expect(createCommandShutdown(cfg).describe()).toBe('command systemctl poweroff');
  });

  it.each([
    ['a string instead of a list', { command: 'systemctl poweroff' }, 'command', /expected array/],
    ['an empty list', { command: [] }, 'command', /give the program and its arguments/],
    ['an empty program', { command: [''] }, 'command', /program name is empty/],
    ['a bad env name', { command: ['x'], env: { 'A-B': '1' } }, 'env.A-B', /environment variable name/],
    ['a typo', { command: ['x'], timout: '5s' }, '', /unknown key "timout" \(did you mean "timeout"\?\)/],
  ])('rejects %s', (_name, input, path, message) => {
    const r = commandShutdownSchema.safeParse(input);
    expect(r.success).toBe(false);
    const issue = r.error?.issues.find((i) => i.path.join('.') === path);
    expect(issue?.message).toMatch(message);
  });
});

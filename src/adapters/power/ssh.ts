/**
 * The SSH shutdown method: log in to the host and run its shutdown command. The host key is always
 * checked (pinned fingerprint or known_hosts); an unknown host is refused, never trusted on first use.
 *
 * A dry run connects, checks the host key and logs in, then stops without running anything: that
 * proves everything a real shutdown needs except the command's own permission (sudo).
 */
import type { Client, ClientChannel } from 'ssh2';
import { BlackstartError, toBlackstartError } from '../../core/errors';
import { silentLogger, type Logger } from '../../core/logger';
import type { TcpConnector } from '../tcp';
import type { ShutdownMethod, ShutdownOutcome, ShutdownRunOptions, ShutdownStep } from './method';
import { describeLogin, openLogin, type SshLogin } from './ssh-login';
import { where, type SessionTarget } from './ssh-session';

export type SshOs = 'linux' | 'macos' | 'windows';

/**
 * `shutdown -h now` rather than `systemctl poweroff`: it exists on systemd and non-systemd systems
 * alike (on systemd it is systemctl). `sudo -n` fails at once instead of waiting for a password
 * that never comes. A root login needs no sudo (Proxmox ships without it).
 */
export function defaultShutdownCommand(os: SshOs, username: string): string {
  if (os === 'windows') return 'shutdown /s /t 0';
  return username === 'root' ? '/sbin/shutdown -h now' : 'sudo -n /sbin/shutdown -h now';
}

export interface SshShutdownOptions {
  /** Key and known_hosts files are read on every run, so a rotated key is picked up. */
  readonly login: SshLogin;
  readonly command: string;
  /** The whole attempt: connect, log in, run the command until it exits. */
  readonly timeoutMs?: number;
  readonly connector?: TcpConnector;
  readonly log?: Logger;
}

export const DEFAULT_SSH_TIMEOUT_MS = 15_000;
const MAX_OUTPUT = 2000;
/** The signals a shutting-down host sends its sessions: the command was taken. */
const DOWN_SIGNALS = ['SIGTERM', 'SIGHUP', 'SIGKILL'];

export class SshShutdown implements ShutdownMethod {
  readonly kind = 'ssh';
  readonly #o: SshShutdownOptions;
  readonly #target: SessionTarget;
  readonly #timeoutMs: number;
  readonly #log: Logger;

  constructor(opts: SshShutdownOptions) {
    this.#o = opts;
    this.#target = opts.login.target;
    this.#timeoutMs = opts.timeoutMs ?? DEFAULT_SSH_TIMEOUT_MS;
    this.#log = (opts.log ?? silentLogger()).child({ method: 'ssh', host: this.#target.host, port: this.#target.port });
  }

  describe(): string {
    return `ssh ${where(this.#target)} runs "${this.#o.command}" (${describeLogin(this.#o.login)})`;
  }

  async run(opts: ShutdownRunOptions = {}): Promise<ShutdownOutcome> {
    const started = performance.now();
    const dryRun = opts.dryRun ?? false;
    const w = where(this.#target);
    const deadline = new AbortController();
    let phase = 'connect';
    const timer = setTimeout(
      () => deadline.abort(new BlackstartError('TIMEOUT', `ssh ${w}: not done within ${this.#timeoutMs} ms (stuck in ${phase})`)),
      this.#timeoutMs,
    );
    const cancel = opts.signal;
    const onCancel = (): void => deadline.abort(new BlackstartError('CANCELLED', `ssh ${w}: cancelled during ${phase}`));
    if (cancel?.aborted) onCancel();
    cancel?.addEventListener('abort', onCancel, { once: true });

    const steps: ShutdownStep[] = [];
    let stepStart = started;
    const endStep = (name: string, status?: string | number): void => {
      const now = performance.now();
      steps.push({ name, tookMs: Math.round(now - stepStart), ...(status !== undefined ? { status } : {}) });
      stepStart = now;
    };
    const outcome = (output?: string): ShutdownOutcome => ({
      method: this.kind,
      dryRun,
      steps,
      tookMs: Math.round(performance.now() - started),
      ...(output !== undefined ? { output } : {}),
    });

    let client: Client | undefined;
    try {
      const session = await openLogin(this.#o.login, {
        signal: deadline.signal,
        log: this.#log,
        ...(this.#o.connector ? { connector: this.#o.connector } : {}),
        onPhase: (done, status) => {
          endStep(done, status);
          phase = done === 'connect' ? 'handshake' : done === 'handshake' ? 'login' : 'exec';
        },
      });
      client = session.client;
      if (dryRun) return outcome(`would run on ${w}: ${this.#o.command}`);

      const result = await execCommand(client, this.#o.command, w, deadline.signal);
      endStep('exec', result.status);
      const output = truncate([result.stdout, result.stderr].filter(Boolean).join('\n'));
      if (result.kind === 'failed') {
        throw new BlackstartError(
          'REFUSED',
          `ssh ${w}: "${this.#o.command}" exited with status ${result.status}${result.stderr ? `: ${truncate(result.stderr.trim(), 300)}` : ''}`,
        );
      }
      this.#log.info({ user: this.#target.username, status: result.status }, 'ssh shutdown command accepted');
      return outcome(output || undefined);
    } catch (err) {
      const e = toBlackstartError(err);
      this.#log.warn({ code: e.code, err: e.message }, 'ssh shutdown failed');
      throw e;
    } finally {
      clearTimeout(timer);
      cancel?.removeEventListener('abort', onCancel);
      client?.end();
    }
  }
}

type ExecResult =
  | { kind: 'done'; status: number | string; stdout: string; stderr: string }
  | { kind: 'failed'; status: number; stdout: string; stderr: string };

/**
 * Runs one command. Once the server has accepted it, a connection that drops before an exit status
 * means the host went down under us: that is success, not an error.
 */
function execCommand(client: Client, command: string, w: string, signal: AbortSignal): Promise<ExecResult> {
  return new Promise<ExecResult>((resolve, reject) => {
    let accepted = false;
    let settled = false;
    let stdout = '';
    let stderr = '';
    let exit: { code: number | null; signal?: string } | undefined;
    const settle = (fn: () => void): void => {
      if (settled) return;
      settled = true;
      signal.removeEventListener('abort', onAbort);
      fn();
    };
    const onAbort = (): void => settle(() => reject(signal.reason));
    signal.addEventListener('abort', onAbort, { once: true });
    const connectionGone = (): void =>
      settle(() =>
        accepted
          ? resolve({ kind: 'done', status: 'connection lost (host going down)', stdout, stderr })
          : reject(new BlackstartError('UNREACHABLE', `ssh ${w}: the connection dropped before the server accepted the command`)),
      );
    client.on('close', connectionGone);
    client.on('error', connectionGone);
    client.exec(command, (err: Error | undefined, stream: ClientChannel) => {
      if (err) {
        settle(() => reject(new BlackstartError('REFUSED', `ssh ${w}: the server would not run a command: ${err.message}`)));
        return;
      }
      accepted = true;
      stream.on('data', (d: Buffer) => (stdout = capped(stdout + d.toString())));
      stream.stderr.on('data', (d: Buffer) => (stderr = capped(stderr + d.toString())));
      stream.on('exit', (code: number | null, sig?: string) => (exit = { code, ...(sig ? { signal: sig } : {}) }));
      stream.on('close', () => {
        if (!exit) return connectionGone();
        const { code, signal: sig } = exit;
        if (code === 0) return settle(() => resolve({ kind: 'done', status: 0, stdout, stderr }));
        if (sig !== undefined && DOWN_SIGNALS.includes(sig)) return settle(() => resolve({ kind: 'done', status: `signal ${sig}`, stdout, stderr }));
        if (code !== null) return settle(() => resolve({ kind: 'failed', status: code, stdout, stderr }));
        settle(() => reject(new BlackstartError('REFUSED', `ssh ${w}: "${command}" was killed by signal ${sig ?? 'unknown'}`)));
      });
    });
  });
}

function capped(text: string): string {
  return text.length > 4 * MAX_OUTPUT ? text.slice(0, 4 * MAX_OUTPUT) : text;
}

function truncate(text: string, max = MAX_OUTPUT): string {
  return text.length > max ? `${text.slice(0, max)}…` : text;
}

export { scanHostKey, type ScannedHostKey } from './ssh-session';

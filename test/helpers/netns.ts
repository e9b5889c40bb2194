/**
 * Network namespaces a test creates for itself (only `lo` inside), and node scripts run in them:
 * what runs there (Homebridge with its mDNS advertiser, HAP clients) cannot reach a real interface.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';

/** Why namespaces cannot be used here, or undefined when `ip netns add` works (it needs root). */
export function netnsUnavailable(tag: string): string | undefined {
  if (process.getuid?.() !== 0) return 'not root';
  const probe = `bs-${tag}probe-${process.pid}`;
  const add = spawnSync('ip', ['netns', 'add', probe], { encoding: 'utf8' });
  if (add.error) return `ip not runnable: ${add.error.message}`;
  if (add.status !== 0) return `ip netns add not permitted: ${add.stderr.trim()}`;
  spawnSync('ip', ['netns', 'del', probe]);
  return undefined;
}

export function ip(...args: string[]): void {
  const r = spawnSync('ip', args, { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`ip ${args.join(' ')}: ${r.stderr.trim()}`);
}

/** A namespace with only `lo`, up. */
export function createLoopbackNamespace(name: string): void {
  ip('netns', 'add', name);
  ip('-n', name, 'link', 'set', 'lo', 'up');
}

export function deleteNamespace(name: string): void {
  spawnSync('ip', ['netns', 'del', name]);
}

export function listNamespaces(): string[] {
  return spawnSync('ip', ['netns', 'list'], { encoding: 'utf8' }).stdout.split('\n').map((l) => l.split(' ')[0] ?? '').filter(Boolean);
}

/** Starts `node <args>` inside the namespace (`ip netns exec` execs, so the child's pid is node's). */
export function spawnNodeIn(ns: string, args: string[]): ChildProcess {
  return spawn('ip', ['netns', 'exec', ns, process.execPath, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
}

/** Runs a short node script inside the namespace and resolves with its stdout. */
export function runNodeIn(ns: string, script: string, args: string[] = [], timeoutMs = 10_000): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawnNodeIn(ns, ['-e', script, '--', ...args]);
    let out = '';
    let err = '';
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.stdout?.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr?.on('data', (d: Buffer) => (err += d.toString()));
    child.on('error', reject);
    child.on('exit', (code) => {
      clearTimeout(timer);
      if (code === 0) resolve(out);
      else reject(new Error(`script in ${ns} exited ${code}: ${err}`));
    });
  });
}

/**
 * A real Homebridge 2 with the built plugin, run inside a namespace that has only `lo` (HAP-NodeJS listens
 * on every address and its advertiser multicasts), read and written over plain HAP HTTP from inside it.
 */
import type { ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { accessoryName, hapRequest, type HapAccessory } from './hap-http';
import { spawnNodeIn } from './netns';
import { killNow } from './process';
import { repoRoot } from './repo';

export const PIN = '031-45-154';
export const HAP_PORT = 51826;

export async function until<T>(what: string, fn: () => Promise<T | undefined> | T | undefined, ms: number, log?: () => string): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    const v = await fn();
    if (v !== undefined) return v;
    if (Date.now() > deadline) throw new Error(`timed out after ${ms} ms waiting for ${what}${log ? `\n--- log ---\n${log()}` : ''}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

export class HomebridgeInNamespace {
  readonly userdir: string;
  private readonly plugins: string;
  private readonly lines: string[] = [];
  private child: ChildProcess | undefined;
  accessories: HapAccessory[] = [];

  /** Lays out the user dir (config.json with one Blackstart platform) and a plugin dir linking the built package. */
  constructor(
    readonly ns: string,
    dir: string,
    platform: Record<string, unknown>,
  ) {
    const plugin = join(repoRoot(), 'homebridge');
    if (!existsSync(join(plugin, 'dist', 'index.js'))) throw new Error('homebridge/dist/index.js is missing: build the plugin first (npm run build)');
    this.userdir = join(dir, 'userdir');
    this.plugins = join(dir, 'plugins');
    mkdirSync(this.userdir, { recursive: true });
    mkdirSync(this.plugins, { recursive: true });
    // Homebridge finds the plugin in -P by its package name; through the link it resolves `blackstart` from this repository.
    symlinkSync(plugin, join(this.plugins, 'homebridge-blackstart'));
    writeFileSync(
      join(this.userdir, 'config.json'),
      JSON.stringify({
        bridge: { name: 'BlackstartTest', username: '0E:B5:7A:12:34:56', port: HAP_PORT, pin: PIN, bind: ['lo'], advertiser: 'ciao' },
        accessories: [],
        platforms: [{ platform: 'Blackstart', name: 'Blackstart', ...platform }],
      }),
    );
  }

  log(): string {
    return this.lines.join('');
  }

  /** Starts Homebridge and resolves once it serves `expected` accessories (the bridge counts as one). */
  async start(expected: number): Promise<HapAccessory[]> {
    const t0 = Date.now();
    const bin = join(repoRoot(), 'node_modules', 'homebridge', 'bin', 'homebridge.js');
    this.child = spawnNodeIn(this.ns, [bin, '-U', this.userdir, '-P', this.plugins, '-I', '-Q', '-T', '--strict-plugin-resolution']);
    this.child.stdout?.on('data', (d: Buffer) => this.lines.push(d.toString()));
    this.child.stderr?.on('data', (d: Buffer) => this.lines.push(d.toString()));
    this.accessories = await until(
      `Homebridge to serve ${expected} accessories`,
      async () => {
        const r = await hapRequest(this.ns, HAP_PORT, PIN, 'GET', '/accessories');
        if (r.status !== 200) return undefined;
        const all = (JSON.parse(r.body) as { accessories: HapAccessory[] }).accessories;
        return all.length === expected ? all : undefined;
      },
      20_000,
      () => this.log(),
    );
    console.log(`Homebridge serving ${expected} accessories ${Date.now() - t0} ms after start`);
    return this.accessories;
  }

  async stop(): Promise<void> {
    const hb = this.child;
    if (hb && hb.exitCode === null && hb.signalCode === null) {
      const exited = new Promise<void>((resolve) => hb.once('exit', () => resolve()));
      hb.kill('SIGTERM');
      let timer: NodeJS.Timeout | undefined;
      await Promise.race([exited, new Promise((r) => (timer = setTimeout(r, 5000)))]);
      clearTimeout(timer);
    }
    await killNow(hb);
  }

  byName(name: string): HapAccessory {
    const a = this.accessories.find((x) => accessoryName(x) === name);
    if (!a) throw new Error(`no accessory named ${name}: ${this.accessories.map(accessoryName).join(', ')}`);
    return a;
  }

  /** A characteristic's value (booleans as 1 / 0, as HAP sends them here), or `status <code>` when it failed. */
  async get(id: string): Promise<unknown> {
    const r = await hapRequest(this.ns, HAP_PORT, PIN, 'GET', `/characteristics?id=${id}`);
    const c = (JSON.parse(r.body) as { characteristics: { value?: unknown; status?: number }[] }).characteristics[0];
    return c?.status ? `status ${c.status}` : typeof c?.value === 'boolean' ? Number(c.value) : c?.value;
  }

  /** Writes one characteristic with the PIN; resolves with the HTTP status (204 when accepted). */
  async put(id: string, value: unknown): Promise<number> {
    const [aid, iid] = id.split('.').map(Number);
    return (await hapRequest(this.ns, HAP_PORT, PIN, 'PUT', '/characteristics', { characteristics: [{ aid, iid, value }] })).status;
  }
}

/**
 * A real Node-RED 5 (the root devDependency) on a free 127.0.0.1 port with a fresh temp userDir
 * (recipe: shared/reference/real-peers.md §6). Local node packages are "installed" the way
 * `npm install <dir>` would: listed in userDir/package.json and linked into userDir/node_modules,
 * so Node-RED sees them as user-installed modules; through the link's real path they resolve their
 * own dependencies (`blackstart`) from this repository, with no network and no npm run.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort } from './ports';
import { repoRoot } from './repo';

export const NODE_RED_MIN = [22, 9] as const;

export const nodeRedMain = (): string => join(repoRoot(), 'node_modules', 'node-red', 'red.js');

/** Why a real Node-RED cannot start here, or undefined when it can. */
export function nodeRedMissing(): string | undefined {
  const [major, minor] = process.versions.node.split('.').map(Number) as [number, number];
  if (major < NODE_RED_MIN[0] || (major === NODE_RED_MIN[0] && minor < NODE_RED_MIN[1])) {
    return `Node-RED 5 needs Node >= ${NODE_RED_MIN.join('.')}, this is ${process.version} (.ci/run puts Node 22 first on PATH)`;
  }
  if (!existsSync(nodeRedMain())) return 'node_modules/node-red is missing (a root devDependency: npm install)';
  return undefined;
}

/** One node set as `GET /nodes` lists it. */
export interface NodeSet {
  id: string;
  name: string;
  module: string;
  types: string[];
  enabled: boolean;
  local?: boolean;
  user?: boolean;
  /** Present when the node set failed to load (an object such as `{code, url}` or a message). */
  err?: unknown;
  version?: string;
}

export type FlowNode = Record<string, unknown> & { id: string; type: string };

export interface NodeRedOptions {
  /** Directories of local node packages to install into the userDir. */
  packages?: string[];
  /** Added to Node-RED's environment. */
  env?: NodeJS.ProcessEnv;
  /** Files written into the userDir before the start (name relative to it → content). */
  files?: Record<string, string>;
  /** Console log level (default info; "Waiting for missing types" is a warning). */
  logLevel?: 'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'trace';
}

export interface DeployOutcome {
  /** Types the runtime said it was waiting for; empty when the flow started. */
  missingTypes: string[];
  /** The runtime log written since the deploy was sent. */
  log: string;
}

export interface HttpAnswer {
  status: number;
  body: string;
}

function http(port: number, method: string, path: string, headers: Record<string, string> = {}, body?: string): Promise<HttpAnswer> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, method, path, headers: body === undefined ? headers : { ...headers, 'Content-Length': String(Buffer.byteLength(body)) } }, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (d: string) => (text += d));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: text }));
      res.on('error', reject);
    });
    req.setTimeout(10_000, () => req.destroy(new Error(`${method} ${path}: no answer in 10 s`)));
    req.on('error', reject);
    req.end(body);
  });
}

/**
 * The types listed after each "Waiting for missing types to be registered:" warning in `log`
 * (Node-RED 5 writes them at info level, one "[info]  - <type>" line per type).
 */
export function missingTypesIn(log: string): string[] {
  const out: string[] = [];
  const lines = log.split('\n');
  for (let i = 0; i < lines.length; i++) {
    if (!(lines[i] as string).includes('Waiting for missing types to be registered')) continue;
    for (let j = i + 1; j < lines.length; j++) {
      const m = /\[\w+\]\s+-\s+(\S+)\s*$/.exec(lines[j] as string);
      if (!m) break;
      out.push(m[1] as string);
    }
  }
  return out;
}

/**
 * A Blackstart config with a simulated device for every UPS, host and guest the given flows name, for
 * flows whose config node runs in-process from `blackstart.yaml` in the userDir (as the examples
 * do). The simulated UPS stays on mains and the config has no outage trigger that could fire, so
 * nothing acts by itself; the embedded broker listens on `mqttPort` on loopback only.
 */
export function simulatedLabYaml(flows: FlowNode[], mqttPort: number): string {
  const ups = new Set<string>();
  const hosts = new Set<string>();
  const guests = new Map<string, Set<string>>();
  for (const n of flows) {
    if (n.type === 'blackstart-ups' && typeof n.ups === 'string' && n.ups) ups.add(n.ups);
    if (/^blackstart-(host|power|sensors|vm|vm-power)$/.test(n.type) && typeof n.host === 'string' && n.host) hosts.add(n.host);
    if (/^blackstart-(vm|vm-power)$/.test(n.type) && typeof n.host === 'string' && n.host && typeof n.guest === 'string' && n.guest) {
      guests.set(n.host, (guests.get(n.host) ?? new Set<string>()).add(n.guest));
    }
  }
  const hostYaml = (h: string): string[] => {
    const g = guests.get(h);
    if (!g) return [`  ${h}:`, '    simulated: {}'];
    return [`  ${h}:`, '    simulated: {}', '    vms:', '      simulated: {}', '      guests:', ...[...g].sort().map((id) => `        ${id}: { simulated: {} }`)];
  };
  if (ups.size === 0) ups.add('rack');
  return [
    'mqtt:',
    '  embedded:',
    '    host: 127.0.0.1',
    `    port: ${mqttPort}`,
    'ups:',
    ...[...ups].sort().flatMap((u) => [`  ${u}:`, '    simulated:', '      interval: 1s']),
    'outage:',
    `  ups: ${[...ups].sort()[0] as string}`,
    '  trigger:',
    '    on_battery_after: 24h',
    '    low_battery: false',
    '    plan: false',
    ...(hosts.size ? ['hosts:', ...[...hosts].sort().flatMap(hostYaml)] : []),
    '',
  ].join('\n');
}

export class NodeRed {
  private lines: string[] = [];
  /** As `/settings` reports it, once ready. */
  version: string | undefined;

  private constructor(
    readonly port: number,
    readonly dir: string,
    readonly userDir: string,
    private readonly child: ChildProcess,
  ) {
    const keep = (d: Buffer): void => void this.lines.push(d.toString());
    child.stdout?.on('data', keep);
    child.stderr?.on('data', keep);
  }

  get url(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  static async start(opts: NodeRedOptions = {}): Promise<NodeRed> {
    const t0 = Date.now();
    const dir = mkdtempSync(join(tmpdir(), 'bs-node-red-'));
    const userDir = join(dir, 'userdir');
    mkdirSync(join(userDir, 'node_modules'), { recursive: true });
    const deps: Record<string, string> = {};
    for (const pkgDir of opts.packages ?? []) {
      const name = (JSON.parse(readFileSync(join(pkgDir, 'package.json'), 'utf8')) as { name: string }).name;
      // Listed in package.json = "user-installed" to Node-RED, as after `npm install <dir>`.
      deps[name] = `file:${pkgDir}`;
      const link = join(userDir, 'node_modules', ...name.split('/'));
      mkdirSync(join(link, '..'), { recursive: true });
      symlinkSync(pkgDir, link, 'dir');
    }
    for (const [name, content] of Object.entries(opts.files ?? {})) writeFileSync(join(userDir, name), content);
    writeFileSync(join(userDir, 'package.json'), JSON.stringify({ name: 'node-red-project', version: '0.0.1', private: true, dependencies: deps }, null, 2));

    const port = await freePort();
    const settings = {
      uiHost: '127.0.0.1',
      uiPort: port,
      userDir,
      flowFile: 'flows.json',
      flowFilePretty: true,
      credentialSecret: 'blackstart-test-credential-secret',
      httpAdminRoot: '/',
      httpNodeRoot: '/api',
      diagnostics: { enabled: false, ui: false },
      telemetry: { enabled: false, updateNotification: false },
      runtimeState: { enabled: false, ui: false },
      logging: { console: { level: opts.logLevel ?? 'info', metrics: false, audit: false } },
      // No catalogue, no tours, no palette or module installs: nothing may leave loopback.
      editorTheme: { projects: { enabled: false }, tours: false, palette: { catalogues: [] } },
      externalModules: { autoInstall: false, palette: { allowInstall: false, allowUpload: false }, modules: { allowInstall: false } },
      functionExternalModules: false,
      exportGlobalContextKeys: false,
    };
    const settingsFile = join(dir, 'settings.js');
    writeFileSync(settingsFile, `module.exports = ${JSON.stringify(settings, null, 2)};\n`);

    const child = spawn(process.execPath, [nodeRedMain(), '--settings', settingsFile], {
      cwd: dir,
      env: { ...process.env, ...opts.env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const nr = new NodeRed(port, dir, userDir, child);
    try {
      await nr.waitReady(30_000);
    } catch (err) {
      await nr.stop();
      throw err;
    }
    console.log(`Node-RED ${nr.version ?? '?'} ready on 127.0.0.1:${port} ${Date.now() - t0} ms after start`);
    return nr;
  }

  /** Resolves once `/settings` answers 200 (the admin API is up and the palette loaded). */
  private async waitReady(timeoutMs: number): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    let last: string;
    for (;;) {
      if (this.child.exitCode !== null || this.child.signalCode !== null) throw new Error(`Node-RED exited (${this.child.exitCode ?? this.child.signalCode}) before it answered\n${this.log()}`);
      try {
        const r = await http(this.port, 'GET', '/settings', { Accept: 'application/json' });
        if (r.status === 200) {
          this.version = (JSON.parse(r.body) as { version?: string }).version;
          return;
        }
        last = `HTTP ${r.status}`;
      } catch (err) {
        last = (err as Error).message;
      }
      if (Date.now() > deadline) throw new Error(`Node-RED did not answer /settings within ${timeoutMs} ms (last: ${last})\n${this.log()}`);
      await new Promise((r) => setTimeout(r, 50));
    }
  }

  log(): string {
    return this.lines.join('');
  }

  get(path: string, headers: Record<string, string> = {}): Promise<HttpAnswer> {
    return http(this.port, 'GET', path, headers);
  }

  async nodes(): Promise<NodeSet[]> {
    const r = await this.get('/nodes', { Accept: 'application/json' });
    if (r.status !== 200) throw new Error(`GET /nodes: HTTP ${r.status} ${r.body}`);
    return JSON.parse(r.body) as NodeSet[];
  }

  async flows(): Promise<FlowNode[]> {
    const r = await this.get('/flows', { Accept: 'application/json' });
    if (r.status !== 200) throw new Error(`GET /flows: HTTP ${r.status} ${r.body}`);
    return JSON.parse(r.body) as FlowNode[];
  }

  /**
   * A full deploy through the admin API; resolves once the runtime has either started the flows or
   * said which types it is waiting for.
   */
  async deploy(flow: FlowNode[], timeoutMs = 15_000): Promise<DeployOutcome> {
    const from = this.log().length;
    const r = await http(this.port, 'POST', '/flows', { 'Content-Type': 'application/json', 'Node-RED-Deployment-Type': 'full' }, JSON.stringify(flow));
    if (r.status !== 204 && r.status !== 200) throw new Error(`POST /flows: HTTP ${r.status} ${r.body}`);
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const since = this.log().slice(from);
      if (/Started flows/.test(since)) return { missingTypes: [], log: since };
      // The type list follows the warning; give it a moment to arrive in full.
      if (/Waiting for missing types/.test(since)) {
        await new Promise((res) => setTimeout(res, 200));
        const all = this.log().slice(from);
        return { missingTypes: missingTypesIn(all), log: all };
      }
      if (Date.now() > deadline) throw new Error(`no "Started flows" within ${timeoutMs} ms of the deploy\n${since}`);
      await new Promise((res) => setTimeout(res, 25));
    }
  }

  /** SIGTERM, then SIGKILL after `graceMs`; removes the temp dir. */
  async stop(graceMs = 5000): Promise<void> {
    const p = this.child;
    if (p.exitCode === null && p.signalCode === null) {
      await new Promise<void>((resolve) => {
        const timer = setTimeout(() => p.kill('SIGKILL'), graceMs);
        p.once('exit', () => {
          clearTimeout(timer);
          resolve();
        });
        p.kill('SIGTERM');
      });
    }
    rmSync(this.dir, { recursive: true, force: true });
  }
}

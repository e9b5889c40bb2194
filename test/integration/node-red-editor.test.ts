/**
 * The Node-RED editor with our package, in a headless Debian Chromium driven by playwright-core
 * (recipe: shared/reference/real-peers.md §9): an example flow is deployed, the workspace shows
 * it, every blackstart-* type is in the palette, and a screenshot is kept as a test artifact.
 */
import { existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium, type BrowserContext } from 'playwright-core';
import { NodeRed, nodeRedMissing, simulatedLabYaml, type FlowNode } from '../helpers/node-red';
import { freePort } from '../helpers/ports';
import { repoRoot } from '../helpers/repo';

const CHROMIUM = '/usr/bin/chromium';
const PKG_DIR = join(repoRoot(), 'nodes');
const SHOT = join(repoRoot(), 'test-artifacts', 'node-red-editor.png');
/** The recipe's flags: no sandbox (root in CI), and nothing that phones home. */
const CHROMIUM_ARGS = ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'];

const missing = nodeRedMissing() ?? (existsSync(CHROMIUM) ? undefined : `${CHROMIUM} is missing (Debian package chromium; .ci/run installs it)`);
if (missing) console.warn(`node-red-editor: skipped: ${missing}`);

/** What the page functions use of the browser's globals (this project compiles without the DOM lib). */
interface BrowserGlobals {
  document: { getElementById(id: string): { closest(sel: string): unknown } | null; querySelectorAll(sel: string): { length: number } };
  RED: { nodes: { getType(t: string): { category?: string } | undefined } };
}

/** The example shown: the one with the most of our node types, so the screenshot shows the most. */
function pickExample(): { file: string; flow: FlowNode[] } {
  const dir = join(PKG_DIR, 'examples');
  const files = existsSync(dir) ? readdirSync(dir).filter((f) => f.endsWith('.json')) : [];
  if (files.length === 0) throw new Error(`no example flows in ${dir}`);
  const scored = files.map((file) => {
    const flow = JSON.parse(readFileSync(join(dir, file), 'utf8')) as FlowNode[];
    return { file, flow, n: new Set(flow.map((n) => n.type).filter((t) => t.startsWith('blackstart-'))).size };
  });
  scored.sort((a, b) => b.n - a.n || a.file.localeCompare(b.file));
  const best = scored[0] as { file: string; flow: FlowNode[] };
  // Deployed inert: no inject fires by itself while the editor is open.
  return { file: best.file, flow: best.flow.map((n) => (n.type === 'inject' ? { ...n, once: false, repeat: '', crontab: '' } : n)) };
}

(missing ? describe.skip : describe)(`the Node-RED editor in Chromium${missing ? ` (skipped: ${missing})` : ''}`, () => {
  let nr: NodeRed;
  let ctx: BrowserContext | undefined;
  let profile: string;
  let stateDir: string;
  const offLoopback: string[] = [];

  beforeAll(async () => {
    stateDir = mkdtempSync(join(tmpdir(), 'bs-nr-state-'));
    nr = await NodeRed.start({ packages: [PKG_DIR], env: { BLACKSTART_STATE_DIR: stateDir }, files: { 'blackstart.yaml': simulatedLabYaml(pickExample().flow, await freePort()) } });
    profile = mkdtempSync(join(tmpdir(), 'bs-chromium-'));
    ctx = await chromium.launchPersistentContext(profile, { executablePath: CHROMIUM, headless: true, args: CHROMIUM_ARGS, viewport: { width: 1400, height: 860 } });
    // The page may reach Node-RED on 127.0.0.1 and nothing else; anything else is recorded and refused.
    await ctx.route('**/*', (route) => {
      const url = new URL(route.request().url());
      if (url.protocol === 'data:' || url.protocol === 'blob:' || url.hostname === '127.0.0.1') return route.continue();
      offLoopback.push(route.request().url());
      return route.abort('blockedbyclient');
    });
  }, 60_000);

  afterAll(async () => {
    await ctx?.close();
    await nr?.stop();
    for (const d of [profile, stateDir]) if (d) rmSync(d, { recursive: true, force: true });
  });

  it('opens an example flow, shows every blackstart-* type in the palette, and saves a screenshot', async () => {
    const pkg = JSON.parse(readFileSync(join(PKG_DIR, 'package.json'), 'utf8')) as { 'node-red': { nodes: Record<string, string> } };
    const types = Object.keys(pkg['node-red'].nodes);
    const { file, flow } = pickExample();
    const { missingTypes } = await nr.deploy(flow);
    expect({ file, missingTypes }).toEqual({ file, missingTypes: [] });

    const page = ctx?.pages()[0] ?? (await (ctx as BrowserContext).newPage());
    const t0 = Date.now();
    await page.goto(nr.url + '/', { waitUntil: 'domcontentloaded' });
    await page.waitForSelector('#red-ui-workspace-chart .red-ui-flow-node-group', { timeout: 30_000 });
    // Node-RED draws the nodes a moment after the workspace; let the status dots settle too.
    await page.waitForTimeout(1500);

    // Our nodes of the tab the editor opens on are drawn on the canvas.
    const firstTab = flow.find((n) => n.type === 'tab')?.id;
    const ours = flow.filter((n) => n.z === firstTab && n.type.startsWith('blackstart-')).map((n) => n.id);
    expect(ours.length).toBeGreaterThan(0);
    const drawn = await page.evaluate((ids) => ids.filter((id) => (globalThis as unknown as BrowserGlobals).document.getElementById(id)?.closest('#red-ui-workspace-chart') != null), ours);
    expect(drawn.sort()).toEqual([...ours].sort());

    // Config nodes (category "config") never sit in the palette: they are made from the nodes that use them.
    const categories = await page.evaluate(
      (ts) => ts.map((t) => (globalThis as unknown as BrowserGlobals).RED.nodes.getType(t)?.category ?? null),
      types,
    );
    expect({ unregistered: types.filter((_, i) => categories[i] === null) }).toEqual({ unregistered: [] });
    const paletteTypes = types.filter((_, i) => categories[i] !== 'config');
    expect(paletteTypes.length).toBeGreaterThan(0);
    const inPalette: Record<string, number> = {};
    for (const type of paletteTypes) inPalette[type] = await page.locator(`.red-ui-palette-node[data-palette-type="${type}"]`).count();
    expect(inPalette).toEqual(Object.fromEntries(paletteTypes.map((t) => [t, 1])));

    // The screenshot shows our palette section rather than the core nodes above it.
    // The filter box reacts to key presses, not to a filled-in value.
    await page.locator('#red-ui-palette-search input').pressSequentially('blackstart');
    await page.waitForFunction(() => (globalThis as unknown as BrowserGlobals).document.querySelectorAll('.red-ui-palette-node[data-palette-type="inject"]:not([style*="display: none"])').length === 0, undefined, { timeout: 5000 });
    await page.waitForTimeout(300);

    mkdirSync(join(repoRoot(), 'test-artifacts'), { recursive: true });
    await page.screenshot({ path: SHOT });
    console.log(`editor screenshot of ${file} → ${SHOT} (${Date.now() - t0} ms after opening the editor)`);
    expect(existsSync(SHOT)).toBe(true);
    expect(offLoopback).toEqual([]);
  }, 60_000);
});

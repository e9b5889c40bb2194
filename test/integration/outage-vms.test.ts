/**
 * Guests in a real outage: `blackstart run` follows a real NUT upsd (dummy-ups); the host `hv1`
 * runs a real `virsh` session on libvirt's test driver (a node file with a running web guest, a
 * running database guest, and a guest that is off); the hosts' own shutdowns go to a real sshd
 * that records them. On battery the guests stop through virsh before hv1's own shutdown leaves;
 * when mains is back hv1 is woken first, then only the guests that were running start again.
 */
import { mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, dirname, join } from 'node:path';
import { cli, stopRun, type CliRun } from '../helpers/cli-run';
import { Watcher, type Received } from '../helpers/mqtt-watch';
import { nutMissing, startNut, type NutServer } from '../helpers/nut';
import { OB, OL, labConfig, labEnv, startLab, type Lab } from '../helpers/outage-lab';
import { freePort, waitForPort } from '../helpers/ports';
import { sshdMissing, startSshd, type SshServer } from '../helpers/sshd';
import { virshMissing } from '../helpers/virsh';

const NODE_XML = `<node>
  <domain type="test"><name>web server</name><memory>65536</memory><vcpu>1</vcpu><os><type>hvm</type></os></domain>
  <domain type="test"><name>db</name><memory>65536</memory><vcpu>1</vcpu><os><type>hvm</type></os></domain>
  <domain type="test" xmlns:test="http://libvirt.org/schemas/domain/test/1.0">
    <name>old</name><memory>65536</memory><vcpu>1</vcpu><os><type>hvm</type></os><test:runstate>5</test:runstate>
  </domain>
</node>
`;

const missing = nutMissing() ?? sshdMissing() ?? virshMissing();
if (missing) console.warn(`outage-vms: skipped: ${missing}`);

(missing ? describe.skip : describe)(`an outage with libvirt guests: NUT, sshd, real virsh${missing ? ` (skipped: ${missing})` : ''}`, () => {
  let nut: NutServer;
  let sshd: SshServer;
  let lab: Lab;
  let daemon: CliRun | undefined;
  let watch: Watcher;
  let journalPath: string;
  const output = (): string => (daemon ? daemon.stdout() + daemon.stderr() : '');
  /** The outage's journal: once it ends the daemon moves it aside as `<file>.ended-<ts>`. */
  const journalText = (): string => {
    const ended = readdirSync(dirname(journalPath)).filter((f) => f.startsWith(`${basename(journalPath)}.ended-`)).sort();
    return [...ended.map((f) => join(dirname(journalPath), f)), journalPath].map((f) => readFileSync(f, 'utf8')).join('');
  };
  const journal = (): Record<string, unknown>[] =>
    journalText()
      .split('\n')
      .filter((l) => l)
      .map((l) => JSON.parse(l) as Record<string, unknown>);
  const index = (pred: (r: Record<string, unknown>) => boolean, what: string): number => {
    const i = journal().findIndex(pred);
    if (i < 0) throw new Error(`no journal record for ${what}:\n${journalText()}`);
    return i;
  };
  const outageIn = (phase: string, timeoutMs: number, after = 0): Promise<Received> =>
    watch.waitFor((m) => m.topic === 'blackstart/outage' && m.json().phase === phase && watch.messages.indexOf(m) >= after, timeoutMs, `outage phase ${phase}`).catch((err: Error) => {
      throw new Error(`${err.message}\n--- daemon output (tail):\n${output().slice(-6000)}`);
    });
  const vmState = (guest: string): unknown => watch.messages.filter((m) => m.topic === `blackstart/host/hv1/vm/${guest}`).at(-1)?.json().state;
  /**
   * A guest's state as a newcomer reads it (the retained message). The long-lived watcher's last
   * message is not enough for a guest that never changed: the broker may hand its retained copy
   * of the state from before the first reading after a live message that came in as it subscribed.
   */
  const retainedState = async (guest: string): Promise<unknown> => {
    const late = await Watcher.connect(mqttUrl, {}, [`blackstart/host/hv1/vm/${guest}`]);
    try {
      return (await late.waitForTopic(`blackstart/host/hv1/vm/${guest}`, (m) => m.retain, 5000)).json().state;
    } finally {
      await late.close();
    }
  };
  let mqttUrl: string;

  beforeAll(async () => {
    [nut, sshd] = await Promise.all([startNut({ ups: { labups: OL } }), startSshd()]);
    const dir = mkdtempSync(join(tmpdir(), 'bs-outage-vms-'));
    const nodeXml = join(dir, 'node.xml');
    writeFileSync(nodeXml, NODE_XML);
    lab = await startLab(
      [
        {
          id: 'hv1',
          wol: true,
          blocks: [
            '    vms:',
            '      libvirt:',
            `        uri: "test://${nodeXml}"`,
            '        timeout: 10s',
            '      poll_every: 500ms',
            '      guests:',
            '        web: { name: "web server", stop: shutdown, stop_within: 10s, depends_on: [hv1/db] }',
            '        db: { stop: save, stop_within: 10s }',
            '        old: { stop: shutdown }',
          ],
        },
        { id: 'app', dependsOn: ['hv1/web'], wol: true },
      ],
      sshd,
    );
    const mqttPort = await freePort();
    journalPath = join(dir, 'journal.jsonl');
    const cfg = join(dir, 'blackstart.yaml');
    writeFileSync(cfg, labConfig({ mqttPort, nut, sshd, lab, journal: journalPath }));
    daemon = cli(['run', '-c', cfg, '--log-level', 'debug'], labEnv());
    await waitForPort(mqttPort, 15_000);
    mqttUrl = `mqtt://127.0.0.1:${mqttPort}`;
    watch = await Watcher.connect(mqttUrl, {}, ['blackstart/outage', 'blackstart/event', 'blackstart/host/+', 'blackstart/host/+/vm/+']);
  }, 30_000);

  afterAll(async () => {
    await watch?.close();
    await stopRun(daemon);
    await lab?.close();
    await Promise.all([nut?.stop(), sshd?.stop()]);
  });

  it("reads the guests' states from virsh and publishes them under their host", async () => {
    for (const [g, state] of [['web', 'running'], ['db', 'running'], ['old', 'off']] as const) {
      await watch.waitForTopic(`blackstart/host/hv1/vm/${g}`, (x) => x.json().state === state, 10_000);
    }
    expect((await watch.waitForTopic('blackstart/host/hv1/vm/web')).json()).toMatchObject({ name: 'web server', last_error: null });
    await watch.waitForTopic('blackstart/host/hv1', (m) => m.json().phase === 'running', 10_000);
    await watch.waitForTopic('blackstart/outage', (m) => m.json().ups === 'lab', 10_000);
  });

  it('on battery: app, then web (shutdown), then db (managedsave) through virsh, and only then hv1 itself', async () => {
    nut.setVars('labups', OB);
    const down = (await outageIn('down', 40_000)).json();
    expect(lab.shutdownCommands()).toEqual(['shutdown-host app', 'shutdown-host hv1']);
    // The journal's order is the order things happened: each guest proven off or saved before the next step.
    const done = (host: string): number => index((r) => r.kind === 'step_done' && r.host === host && r.ok === true, `${host} done`);
    const intent = (host: string): number => index((r) => r.kind === 'step_intent' && r.host === host, `${host} intent`);
    expect(done('app')).toBeLessThan(intent('hv1/web'));
    expect(done('hv1/web')).toBeLessThan(intent('hv1/db'));
    expect(done('hv1/db')).toBeLessThan(intent('hv1'));
    expect(journal().filter((r) => r.kind === 'step_intent' && String(r.host).startsWith('hv1/')).map((r) => [r.host, r.action])).toEqual([
      ['hv1/web', 'shutdown'],
      ['hv1/db', 'save'],
    ]);
    expect(journal().find((r) => r.kind === 'step_done' && r.host === 'hv1/db')).toMatchObject({ verified_by: 'hypervisor' });
    // virsh itself says so.
    expect(vmState('web')).toBe('off');
    expect(vmState('db')).toBe('saved');
    const plan = down.plan as Record<string, unknown>[];
    expect(plan.find((s) => s.host === 'hv1/old')).toMatchObject({ state: 'skipped', error: 'already down' });
    expect(plan.find((s) => s.host === 'hv1/db')).toMatchObject({ state: 'done', action: 'save' });
    expect(watch.messages.filter((m) => m.topic === 'blackstart/event' && m.json().type === 'escalation')).toEqual([]);
  }, 60_000);

  it('mains back: hv1 is woken first, then db (from its saved image) and web start, and old stays off', async () => {
    const from = watch.messages.length;
    nut.setVars('labups', OL);
    await outageIn('restoring', 15_000, from);
    const over = await outageIn('normal', 40_000, from);
    expect(over.json()).toMatchObject({ phase: 'normal', plan: [] });
    const rIntent = (host: string): number => index((r) => r.kind === 'restore_step_intent' && r.host === host, `${host} restore`);
    const rDone = (host: string): number => index((r) => r.kind === 'restore_step_done' && r.host === host && r.ok === true, `${host} back`);
    expect(rDone('hv1')).toBeLessThan(rIntent('hv1/db'));
    expect(rDone('hv1/db')).toBeLessThan(rIntent('hv1/web'));
    expect(rDone('hv1/web')).toBeLessThan(rIntent('app'));
    expect(journal().filter((r) => r.kind === 'restore_step_intent' && r.host === 'hv1/old')).toEqual([]);
    expect(journal().at(-1)).toMatchObject({ kind: 'outage_ended', result: 'restored' });
    expect(vmState('web')).toBe('running');
    expect(vmState('db')).toBe('running');
    // old was never started: no running state ever, and off as a newcomer reads it.
    expect(watch.messages.filter((m) => m.topic === 'blackstart/host/hv1/vm/old' && m.json().state !== 'off' && m.json().state !== 'unknown')).toEqual([]);
    expect(await retainedState('old')).toBe('off');
    expect(await retainedState('db')).toBe('running');
    for (const secret of Object.values(labEnv()) as string[]) expect(output()).not.toContain(secret);
  }, 60_000);
});

import { parseConfig } from '../../../src/config/loader';
import { planNodes } from '../../../src/orchestrator/nodes';
import { planShutdown } from '../../../src/orchestrator/planner';
import { issuesOf } from '../../helpers/config-issues';

const hv = (vms: string, extra = ''): string => `hosts:\n  hv1:\n    address: 127.0.0.1\n    probe: { tcp: [22] }\n    vms:\n${vms.replace(/^/gm, '      ')}\n${extra}`;

describe('config: a host\'s guests (vms:)', () => {
  it('fills in defaults, keeps the hypervisor name apart from the id, and plans guests as nodes before their host', () => {
    const { config } = parseConfig(hv('libvirt: {}\nguests:\n  web: { name: "Web Server", depends_on: [hv1/db] }\n  db: { stop: save, stop_takes: 10s }'));
    const vms = config.hosts.hv1?.vms;
    expect(vms?.libvirt).toMatchObject({ uri: 'qemu:///system', virsh: 'virsh', timeout: 300_000 });
    expect(vms?.pollEvery).toBe(15_000);
    expect(vms?.guests.web).toMatchObject({ name: 'Web Server', stop: 'shutdown', stopWithin: 120_000, start: 'if_running_before', dependsOn: ['hv1/db'] });
    expect(vms?.guests.db).toMatchObject({ stop: 'save', stopTakes: 10_000 });
    const plan = planShutdown(planNodes(config.hosts));
    expect(plan.waves).toEqual([['hv1/web'], ['hv1/db'], ['hv1']]);
    // web: default 30 s; db: its stop_takes; then the host's default 60 s.
    expect(plan.criticalPathMs).toBe(30_000 + 10_000 + 60_000);
  });

  it('lets a host depend on a guest, and names a guest dependency that does not exist', () => {
    const ok = parseConfig(hv('simulated: {}\nguests:\n  nas: {}', '  app:\n    simulated: {}\n    outage: { depends_on: [hv1/nas] }\n').replace('address: 127.0.0.1\n    probe: { tcp: [22] }', 'simulated: {}'));
    expect(planShutdown(planNodes(ok.config.hosts)).waves).toEqual([['app'], ['hv1/nas'], ['hv1']]);
    const issues = issuesOf(hv('libvirt: {}\nguests:\n  web: { depends_on: [hv1/nope] }'));
    expect(issues).toEqual([expect.objectContaining({ path: 'hosts', message: 'host "hv1/web": depends_on names "hv1/nope", which is not a host' })]);
  });

  it('refuses no hypervisor, two hypervisors, no guests, bad actions and deadlines, with their paths', () => {
    expect(issuesOf(hv('guests:\n  web: {}'))).toEqual([expect.objectContaining({ path: 'hosts.hv1.vms', message: 'needs a hypervisor: one of libvirt, xen, hyperv, simulated' })]);
    expect(issuesOf(hv('libvirt: {}\nxen: {}\nguests:\n  web: { config: /etc/xen/web.cfg }'))).toEqual([
      expect.objectContaining({ path: 'hosts.hv1.vms', message: 'give only one hypervisor (got libvirt, xen)' }),
    ]);
    expect(issuesOf(hv('libvirt: {}\nguests: {}'))).toEqual([expect.objectContaining({ path: 'hosts.hv1.vms.guests', message: 'name at least one guest' })]);
    expect(issuesOf(hv('libvirt: {}\nguests:\n  web: { stop: hibernate }'))).toEqual([
      expect.objectContaining({ path: 'hosts.hv1.vms.guests.web.stop', message: 'stop is one of save, shutdown, off' }),
    ]);
    expect(issuesOf(hv('libvirt: {}\nguests:\n  web: { start: sometimes }'))).toEqual([
      expect.objectContaining({ path: 'hosts.hv1.vms.guests.web.start', message: 'start is one of none, if_running_before, always' }),
    ]);
    expect(issuesOf(hv('libvirt: {}\nguests:\n  web: { stop_takes: 2m, stop_within: 1m }'))).toEqual([
      expect.objectContaining({ path: 'hosts.hv1.vms.guests.web.stop_within', message: 'must not be shorter than stop_takes, or every stop would be forced' }),
    ]);
    expect(issuesOf(hv('libvirt: {}\nguests:\n  Web: {}'))[0]).toMatchObject({ path: 'hosts.hv1.vms.guests.Web' });
  });

  it('refuses two guests with one hypervisor name, a Xen guest it could not start again, and a config file off Xen', () => {
    expect(issuesOf(hv('libvirt: {}\nguests:\n  a: { name: web }\n  web: {}'))).toEqual([
      expect.objectContaining({ path: 'hosts.hv1.vms.guests.web.name', message: 'guest "a" already names "web" on this hypervisor' }),
    ]);
    expect(issuesOf(hv('xen: {}\nguests:\n  web: {}'))).toEqual([
      expect.objectContaining({ path: 'hosts.hv1.vms.guests.web.config', message: 'xl create needs the domain config file to start this guest again: give config (or start: none)' }),
    ]);
    expect(parseConfig(hv('xen: {}\nguests:\n  web: { config: /etc/xen/web.cfg }\n  tmp: { start: none }')).config.hosts.hv1?.vms?.xen?.saveDir).toBe('/var/lib/xen/save');
    expect(issuesOf(hv('libvirt: {}\nguests:\n  web: { config: /etc/xen/web.cfg }'))).toEqual([
      expect.objectContaining({ path: 'hosts.hv1.vms.guests.web.config', message: 'config is the Xen domain file; this hypervisor is not xen' }),
    ]);
  });

  it("refuses a command in the hypervisor's ssh block, and Hyper-V without ssh", () => {
    const ssh = 'ssh: { host: 127.0.0.1, username: admin, password_env: HV_PW, host_key: "SHA256:uNiVztksCsDhcc0u9e8BujQXVUpKZIDTMczCvj3tD2s", command: "rm -rf /" }';
    expect(issuesOf(hv(`libvirt:\n  ${ssh}\nguests:\n  web: {}`), { HV_PW: 'x' })).toEqual([
      expect.objectContaining({ path: 'hosts.hv1.vms.libvirt.ssh.command', message: "the hypervisor's commands are Blackstart's own: drop command" }),
    ]);
    expect(issuesOf(hv('hyperv: {}\nguests:\n  web: {}'))[0]).toMatchObject({ path: 'hosts.hv1.vms.hyperv.ssh' });
  });

  it('keeps simulated guests on simulated hosts', () => {
    expect(issuesOf(hv('simulated: {}\nguests:\n  web: {}'))).toEqual([
      expect.objectContaining({ path: 'hosts.hv1.vms.simulated', message: 'a simulated hypervisor runs on a simulated host: add simulated to this host, or give libvirt, xen or hyperv' }),
    ]);
    expect(issuesOf(hv('libvirt: {}\nguests:\n  web: { simulated: {} }'))).toEqual([
      expect.objectContaining({ path: 'hosts.hv1.vms.guests.web.simulated', message: 'simulated guests live on a simulated hypervisor: add simulated: {} beside guests' }),
    ]);
  });
});

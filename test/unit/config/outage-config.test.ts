import { parseConfig } from '../../../src/config/loader';
import { outageUps } from '../../../src/config/schema';
import { issuesOf } from '../../helpers/config-issues';

const host = (id: string, outage: string): string => `  ${id}:\n    simulated: {}\n    outage: ${outage}\n`;

describe('config: outage policy', () => {
  it('gives every host and the file outage defaults', () => {
    const { config } = parseConfig(`hosts:\n${host('vm', '{ depends_on: [hv] }')}${host('hv', '{}')}`);
    expect(config.hosts.vm?.outage).toMatchObject({ dependsOn: ['hv'], controller: false });
    expect(config.outage.reserve).toBe(120_000);
  });

  it('names a dependency cycle, as a path', () => {
    const issues = issuesOf(`hosts:\n${host('a', '{ depends_on: [b] }')}${host('b', '{ depends_on: [c] }')}${host('c', '{ depends_on: [a] }')}`);
    expect(issues).toHaveLength(1);
    expect(issues[0]).toMatchObject({ path: 'hosts', message: expect.stringMatching(/cycle: (a → b → c → a|b → c → a → b|c → a → b → c)/) });
  });

  it('names a dependency on a host that does not exist', () => {
    const issues = issuesOf(`hosts:\n${host('web', '{ depends_on: [dbb] }')}${host('db', '{}')}`);
    expect(issues[0]?.message).toMatch(/host "web": depends_on names "dbb", which is not a host/);
  });

  it('allows one controller only', () => {
    const issues = issuesOf(`hosts:\n${host('a', '{ controller: true }')}${host('b', '{ controller: true }')}`);
    expect(issues[0]?.message).toMatch(/controller/);
  });
});

describe('outage config: the UPS, the journal, service checks and remediation', () => {
  const base = `
ups:
  rack: { simulated: {} }
  spare: { simulated: {} }
hosts:
  mail:
    address: 127.0.0.1
    simulated: {}
`;

  it('names an unknown outage.ups, and picks the only UPS when none is named', () => {
    expect(issuesOf(`${base}outage: { ups: nope }\n`)).toEqual([expect.objectContaining({ path: 'outage.ups', message: '"nope" is not a UPS of this config (have: rack, spare)' })]);
    const one = parseConfig('ups:\n  rack: { simulated: {} }\n').config;
    expect(outageUps(one)).toBe('rack');
    expect(outageUps(parseConfig(base).config)).toBeUndefined();
    expect(outageUps(parseConfig(`${base}outage: { ups: spare }\n`).config)).toBe('spare');
  });

  it('takes the journal path relative to the config folder, without needing it to exist', () => {
    const { config } = parseConfig('outage: { journal: state/journal.jsonl }\n', { baseDir: '/etc/blackstart' });
    expect(config.outage.journal?.path).toBe('/etc/blackstart/state/journal.jsonl');
  });

  it('refuses a remediation without service checks, an ssh remediation without its command, and a tcp check without an address', () => {
    const host = (block: string): string => `hosts:\n  mail:\n    simulated: {}\n${block.replace(/^/gm, '    ')}\n`;
    expect(issuesOf(host('remediate: { command: { command: ["true"] } }'))).toEqual([
      expect.objectContaining({ path: 'hosts.mail.remediate', message: 'remediation runs when a service check fails: add outage.services to this host' }),
    ]);
    expect(issuesOf(host('outage: { services: [{ tcp: 25 }] }'))).toEqual([
      expect.objectContaining({ path: 'hosts.mail.outage.services[0].tcp', message: 'a tcp check needs an address: set address on the host or on the check' }),
    ]);
    const ssh = '{ host: 127.0.0.1, username: root, password_env: PW, host_key: "SHA256:uNiVztksCsDhcc0u9e8BujQXVUpKZIDTMczCvj3tD2s" }';
    expect(issuesOf(host(`outage: { services: [{ tcp: 25, address: 127.0.0.1 }] }\nremediate: { ssh: ${ssh} }`), { PW: 'x' })).toEqual([
      expect.objectContaining({ path: 'hosts.mail.remediate.ssh.command', message: 'give the command to run (os: would pick a shutdown command)' }),
    ]);
    expect(issuesOf(host('outage: { services: [{ tcp: 25, address: 127.0.0.1 }] }\nremediate: {}'))).toEqual([expect.objectContaining({ path: 'hosts.mail.remediate', message: 'give one of ssh or command' })]);
  });
});

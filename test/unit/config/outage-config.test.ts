import { parseConfig } from '../../../src/config/loader';
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

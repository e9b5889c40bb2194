/** `compat.apcupsd`: defaults, limits, and which UPS it serves, checked against the rest of the file. */
import { parseConfig } from '../../../src/config/loader';
import { issuesOf } from '../../helpers/config-issues';

const rack = 'ups:\n  rack: { simulated: {} }\n';
const two = 'ups:\n  rack: { simulated: {} }\n  spare: { simulated: {} }\n';

describe('compat.apcupsd config', () => {
  it('defaults: loopback, port 3551, 16 connections, 30 s idle, 30 s for the slaves', () => {
    const { config } = parseConfig(`${rack}compat: { apcupsd: {} }\n`);
    expect(config.compat.apcupsd).toEqual({ listen: '127.0.0.1', port: 3551, maxConnections: 16, idleTimeout: 30_000, slaveWait: 30_000 });
  });

  it('takes every setting in snake_case', () => {
    const { config } = parseConfig(`${two}compat:\n  apcupsd: { listen: 0.0.0.0, port: 13551, ups: spare, max_connections: 2, idle_timeout: 5s, slave_wait: 1m }\n`);
    expect(config.compat.apcupsd).toEqual({ listen: '0.0.0.0', port: 13551, ups: 'spare', maxConnections: 2, idleTimeout: 5000, slaveWait: 60_000 });
  });

  it('ups must name a UPS of this config', () => {
    expect(issuesOf(`${rack}compat: { apcupsd: { ups: rak } }\n`)).toEqual([
      expect.objectContaining({ path: 'compat.apcupsd.ups', message: '"rak" is not a UPS of this config (have: rack)' }),
    ]);
  });

  it('without ups it serves the outage UPS or the only one, and says so when there is none to pick', () => {
    expect(issuesOf('compat: { apcupsd: {} }\n')).toEqual([expect.objectContaining({ path: 'compat.apcupsd.ups', message: expect.stringMatching(/no UPS to serve/) })]);
    expect(issuesOf(`${two}compat: { apcupsd: {} }\n`)).toEqual([
      expect.objectContaining({ path: 'compat.apcupsd.ups', message: expect.stringMatching(/several UPS \(rack, spare\) and no outage.ups/) }),
    ]);
    expect(() => parseConfig(`${two}outage: { ups: spare }\ncompat: { apcupsd: {} }\n`)).not.toThrow();
  });

  it('refuses nonsense limits and unknown keys', () => {
    const paths = (text: string): string[] => issuesOf(text).map((i) => i.path);
    expect(paths(`${rack}compat: { apcupsd: { max_connections: 0 } }\n`)).toEqual(['compat.apcupsd.max_connections']);
    expect(paths(`${rack}compat: { apcupsd: { idle_timeout: 1ms } }\n`)).toEqual(['compat.apcupsd.idle_timeout']);
    expect(paths(`${rack}compat: { apcupsd: { port: 70000 } }\n`)).toEqual(['compat.apcupsd.port']);
    expect(issuesOf(`${rack}compat: { apcupsd: { max_conections: 3 } }\n`)[0]?.message).toMatch(/did you mean "max_connections"/);
  });
});

import { createServer as createHttp, type Server } from 'node:http';
import { createServer, type Server as NetServer } from 'node:net';
import { parseConfig } from '../../../src/config/loader';
import { hostServices, runServiceChecks } from '../../../src/adapters/host/services';

const listen = (s: NetServer | Server): Promise<number> =>
  new Promise((resolve) => s.listen(0, '127.0.0.1', () => resolve((s.address() as { port: number }).port)));

describe('service checks after a restore (loopback servers)', () => {
  const closers: (() => void)[] = [];
  afterEach(() => closers.splice(0).forEach((c) => c()));

  it('passes when the port answers and the page returns 2xx, and names each failure otherwise', async () => {
    const tcp = createServer((c) => {
      c.on('error', () => undefined);
      c.end();
    });
    const tcpPort = await listen(tcp);
    const http = createHttp((req, res) => {
      res.statusCode = req.url === '/ok' ? 200 : 503;
      res.end();
    });
    const httpPort = await listen(http);
    closers.push(() => tcp.close(), () => http.close());
    const ok = await runServiceChecks([{ tcp: tcpPort, insecure: false }, { name: 'web', http: `http://127.0.0.1:${httpPort}/ok`, insecure: false }], '127.0.0.1');
    expect(ok).toBeNull();
    const bad = await runServiceChecks([{ name: 'smtp', tcp: 1, insecure: false }, { name: 'web', http: `http://127.0.0.1:${httpPort}/down`, insecure: false }], '127.0.0.1');
    expect(bad).toMatch(/^service check failed: smtp: tcp 127\.0\.0\.1: 1 refused; web: .*503/);
  });

  it('runs a host’s remediation command and describes it; a host without one gets null', async () => {
    const { config } = parseConfig(`
hosts:
  mail:
    address: 127.0.0.1
    simulated: {}
    outage: { services: [{ name: smtp, tcp: 1 }] }
    remediate: { command: { command: [sh, -c, "exit 0"] } }
  web:
    simulated: {}
`);
    const s = hostServices(config.hosts);
    expect(s.names('mail')).toEqual(['smtp']);
    expect(s.names('web')).toEqual([]);
    expect(await s.check('web')).toBeNull();
    expect(await s.check('mail')).toMatch(/smtp: tcp 127\.0\.0\.1: 1 refused/);
    expect(await s.remediate('mail')).toMatch(/^remediation ran \(.*sh -c.*\) in \d+ ms$/);
    expect(await s.remediate('web')).toBeNull();
  });

  it('a remediation that fails rejects with its reason', async () => {
    const { config } = parseConfig(`
hosts:
  mail:
    address: 127.0.0.1
    simulated: {}
    outage: { services: [{ tcp: 1 }] }
    remediate: { command: { command: [sh, -c, "echo boom >&2; exit 3"] } }
`);
    await expect(hostServices(config.hosts).remediate('mail')).rejects.toMatchObject({ message: expect.stringMatching(/3/) });
  });
});

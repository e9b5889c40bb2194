import { probeSchema } from '../../../src/adapters/reach/config';
import { LIMITED_BROADCAST, wolSchema } from '../../../src/adapters/power/wol-config';

function issues(result: { success: boolean; error?: { issues: { path: PropertyKey[]; message: string }[] } }): string[] {
  return (result.error?.issues ?? []).map((i) => `${i.path.join('.')}: ${i.message}`);
}

describe('wake-on-LAN config', () => {
  it('fills defaults and normalizes the MAC', () => {
    const c = wolSchema.parse({ mac: '001B.213A.4C5D', relay: 'pi-garage' });
    expect(c).toMatchObject({ mac: '00:1b:21:3a:4c:5d', address: LIMITED_BROADCAST, port: 9, repeat: 3, spacing: 100, relay: 'pi-garage' });
    expect(c.password).toBeUndefined();
  });

  it('names the bad MAC, address, relay and interface clash', () => {
    const r = wolSchema.safeParse({ mac: 'zz:1b:21:3a:4c:5d', address: 'nas.lan', relay: 'Pi Garage', interface: 'eth0', source_address: '10.0.0.2' });
    expect(issues(r)).toEqual(
      expect.arrayContaining([
        expect.stringMatching(/^mac: "zz:1b:21:3a:4c:5d" is not a MAC address/),
        "address: an IP address (usually the subnet's directed broadcast)",
        expect.stringMatching(/^relay: an agent id/),
      ]),
    );
    const clash = wolSchema.safeParse({ mac: '00:1b:21:3a:4c:5d', interface: 'eth0', source_address: '10.0.0.2' });
    expect(issues(clash)).toEqual(['interface: give source_address or interface, not both']);
  });

  it('checks an inline password without echoing it, and keeps it a secret reference', () => {
    const bad = wolSchema.safeParse({ mac: '00:1b:21:3a:4c:5d', password: 'hunter2' });
    expect(issues(bad)).toHaveLength(1);
    expect(issues(bad)[0]).toMatch(/^password: password \(7 characters\) is not 4 or 6 bytes/);
    expect(issues(bad)[0]).not.toContain('hunter2');
    const good = wolSchema.parse({ mac: '00:1b:21:3a:4c:5d', password_file: '/run/secrets/wol' });
    expect(JSON.stringify(good)).not.toContain('/run/secrets/wol');
    expect(good.password?.field).toBe('password_file');
  });
});

describe('probe config', () => {
  it('fills defaults', () => {
    expect(probeSchema.parse({ tcp: [22, 443] })).toMatchObject({ tcp: [22, 443], icmp: false, interval: 5000, timeout: 1000, failAfter: 3, succeedAfter: 1 });
  });

  it('takes http as a URL or an object with expected statuses', () => {
    expect(probeSchema.parse({ http: 'https://nas.lan/' }).http).toEqual({
      url: 'https://nas.lan/',
      method: 'GET',
      expectStatus: [
        [200, 299],
        [300, 399],
      ],
      insecure: false,
    });
    expect(probeSchema.parse({ http: { url: 'https://bmc/', expect_status: [401, '2xx'], insecure: true } }).http).toMatchObject({
      expectStatus: [
        [401, 401],
        [200, 299],
      ],
      insecure: true,
    });
  });

  it('asks for at least one method and a timeout shorter than the interval', () => {
    expect(issues(probeSchema.safeParse({}))).toEqual([': a probe needs at least one method: tcp: [ports], icmp: true or http: <url>']);
    expect(issues(probeSchema.safeParse({ icmp: true, interval: '1s', timeout: '2s' }))).toEqual(['timeout: must be shorter than interval (1000 ms)']);
  });

  it('rejects bad ports, URLs, statuses and unknown keys', () => {
    const r = probeSchema.safeParse({ tcp: [0], http: { url: 'ftp://x/', expect_status: '6xx' }, fail_afterr: 2 });
    const all = issues(r).join('\n');
    expect(all).toMatch(/tcp\.0/);
    expect(all).toMatch(/unknown key "fail_afterr" \(did you mean "fail_after"\?\)/);
  });
});

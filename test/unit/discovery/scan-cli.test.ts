import { PassThrough } from 'node:stream';
import { scanCommand } from '../../../src/cli/scan';

// Only input that is refused before any packet is sent: the scan itself runs in the namespace test.
async function run(cidr: string, o: Parameters<typeof scanCommand>[1] = {}): Promise<{ code: number; err: string }> {
  const out = new PassThrough();
  const err = new PassThrough();
  let text = '';
  err.on('data', (d: Buffer) => (text += d.toString()));
  const code = await scanCommand(cidr, o, out, err);
  return { code, err: text };
}

describe('blackstart scan: refused input', () => {
  test('bad CIDR is exit 2', async () => {
    expect(await run('10.0.0/24')).toEqual({ code: 2, err: expect.stringContaining('"10.0.0/24" is not an IPv4 range') });
  });

  test('more than a /16 is exit 7 and names the size', async () => {
    expect(await run('10.0.0.0/8')).toEqual({ code: 7, err: expect.stringContaining('16,777,216 addresses') });
  });

  test('bad --ports, --timeout, --concurrency are exit 2', async () => {
    expect((await run('10.0.0.0/24', { ports: '22,http' })).code).toBe(2);
    expect((await run('10.0.0.0/24', { ports: '0' })).code).toBe(2);
    expect((await run('10.0.0.0/24', { timeout: 'soon' })).code).toBe(2);
    expect((await run('10.0.0.0/24', { concurrency: '0' })).code).toBe(2);
  });
});

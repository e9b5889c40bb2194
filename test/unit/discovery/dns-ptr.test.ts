import { createSocket, type Socket } from 'node:dgram';
import { Resolver } from 'node:dns/promises';
import type { AddressInfo } from 'node:net';
import { encodeName, parseQuery, reverseName, servePtr, TYPE_PTR, type QueryLog } from '../../helpers/dns-ptr';

// The scan test's DNS server, checked against node's own resolver (c-ares) on loopback, so a
// name the scan test expects to be null is null because of the zone, not because of the codec.
describe('PTR test server', () => {
  let socket: Socket;
  let port: number;
  const queries: QueryLog[] = [];
  const bad: string[] = [];

  beforeAll(async () => {
    socket = createSocket('udp4');
    servePtr(socket, { names: { '127.0.9.10': 'gateway.lab.test', '127.0.9.20': 'bmc-rack1.lab.test.' }, silent: ['127.0.9.40'] }, (q) => queries.push(q), (why) => bad.push(why));
    await new Promise<void>((resolve) => socket.bind(0, '127.0.0.1', resolve));
    port = (socket.address() as AddressInfo).port;
  });

  afterAll(() => socket.close());

  function resolver(timeout = 2000): Resolver {
    const r = new Resolver({ timeout, tries: 1 });
    r.setServers([`127.0.0.1:${port}`]);
    return r;
  }

  test('answers PTR for the addresses in its table', async () => {
    expect(await resolver().reverse('127.0.9.10')).toEqual(['gateway.lab.test']);
    expect(await resolver().reverse('127.0.9.20')).toEqual(['bmc-rack1.lab.test']);
    expect(queries).toContainEqual({ name: '10.9.0.127.in-addr.arpa', type: TYPE_PTR, reply: 'ptr' });
  });

  test('NXDOMAIN for an address it does not know, no data for another type of a known name', async () => {
    await expect(resolver().reverse('127.0.9.30')).rejects.toMatchObject({ code: 'ENOTFOUND' });
    await expect(resolver().resolve4(reverseName('127.0.9.10'))).rejects.toMatchObject({ code: 'ENODATA' });
  });

  test('says nothing for a silent address, so the asker times out', async () => {
    // c-ares falls back to the hosts file after the timeout and reports that miss, ENOTFOUND.
    await expect(resolver(200).reverse('127.0.9.40')).rejects.toMatchObject({ code: expect.stringMatching(/^(ETIMEOUT|ENOTFOUND)$/) });
    expect(queries).toContainEqual({ name: '40.9.0.127.in-addr.arpa', type: TYPE_PTR, reply: 'dropped' });
    expect(bad).toEqual([]);
  });
});

describe('DNS codec', () => {
  function query(name: Buffer, qdcount = 1, flags = 0x0100): Buffer {
    const h = Buffer.alloc(12);
    h.writeUInt16BE(0x1234, 0);
    h.writeUInt16BE(flags, 2);
    h.writeUInt16BE(qdcount, 4);
    return Buffer.concat([h, name, Buffer.from([0, TYPE_PTR, 0, 1])]);
  }

  test('reverse names and a question read back lower case', () => {
    expect(reverseName('10.213.0.30')).toBe('30.0.213.10.in-addr.arpa');
    expect(parseQuery(query(encodeName('30.0.213.10.IN-ADDR.ARPA.')))).toEqual({ id: 0x1234, flags: 0x0100, name: '30.0.213.10.in-addr.arpa', type: TYPE_PTR, class: 1 });
  });

  test('refuses what is not a one-question query, naming where', () => {
    expect(() => parseQuery(Buffer.alloc(5))).toThrow('5 bytes, shorter than the 12-byte header');
    expect(() => parseQuery(query(encodeName('a.b'), 2))).toThrow('2 questions, expected 1');
    expect(() => parseQuery(query(encodeName('a.b'), 1, 0x8000))).toThrow('says this is a response');
    expect(() => parseQuery(query(Buffer.from([5, 0x61])).subarray(0, 14))).toThrow('label at byte 12 runs past the end');
    expect(() => parseQuery(query(Buffer.from([0xc0, 12])))).toThrow('pointer at byte 12 points forward to 12');
    expect(() => parseQuery(query(encodeName('a.b')).subarray(0, 17))).toThrow('question for "a.b" is cut off');
    expect(() => reverseName('10.0.0.256')).toThrow('"10.0.0.256" is not an IPv4 address');
    expect(() => encodeName('a..b')).toThrow('"a..b" has an empty label');
  });
});

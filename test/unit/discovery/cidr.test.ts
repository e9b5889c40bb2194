import { expandCidr, parseCidr } from '../../../src/discovery/cidr';
import { thrown } from '../../helpers/thrown';

// Pure arithmetic, nothing is sent; the ranges are loopback all the same.

describe('CIDR parsing and expansion', () => {
  test('a /24 skips the network and broadcast addresses', () => {
    const c = parseCidr('127.1.1.0/24');
    expect(c).toEqual({ network: '127.1.1.0', prefix: 24, hostCount: 254 });
    const all = expandCidr(c);
    expect(all).toHaveLength(254);
    expect(all[0]).toBe('127.1.1.1');
    expect(all.at(-1)).toBe('127.1.1.254');
  });

  test('host bits are cleared: 127.0.0.77/28 is 127.0.0.64/28', () => {
    const c = parseCidr('127.0.0.77/28');
    expect(c.network).toBe('127.0.0.64');
    expect(expandCidr(c)).toEqual(Array.from({ length: 14 }, (_, i) => `127.0.0.${65 + i}`));
  });

  test('/32 and a bare address are that one address; /31 keeps both (RFC 3021)', () => {
    expect(expandCidr(parseCidr('127.1.2.3/32'))).toEqual(['127.1.2.3']);
    expect(expandCidr(parseCidr('127.1.2.3'))).toEqual(['127.1.2.3']);
    expect(expandCidr(parseCidr('127.1.2.3/31'))).toEqual(['127.1.2.2', '127.1.2.3']);
    expect(expandCidr(parseCidr('127.1.2.0/30'))).toEqual(['127.1.2.1', '127.1.2.2']);
  });

  test('the top of the address space does not overflow', () => {
    expect(expandCidr(parseCidr('255.255.255.252/30'))).toEqual(['255.255.255.253', '255.255.255.254']);
  });

  test('a /16 is the largest range without --force', () => {
    const c = parseCidr('127.16.0.0/16');
    expect(c.hostCount).toBe(65534);
    expect(expandCidr(c)).toHaveLength(65534);
    expect(thrown(() => parseCidr('127.16.0.0/15')).code).toBe('REFUSED');
    expect(() => parseCidr('127.0.0.0/8')).toThrow('127.0.0.0/8 is a /8: 16,777,216 addresses, more than a /16 (65,536): check the prefix, or add --force');
    expect(parseCidr('127.16.0.0/15', { force: true }).hostCount).toBe(131070);
    expect(() => parseCidr('127.0.0.0/8', { force: true })).toThrow('more than a /12 (1,048,576) is never scanned');
  });

  test.each(['', '127.0.0.0/33', '127.0.0/24', '256.0.0.0/24', '127.0.0.0/', '127.0.0.0/2a', '01.2.3.4/32', 'fd00::/64', ' /24', '127.0.0.0/24/1'])(
    '%j is BAD_REQUEST',
    (text) => {
      expect(thrown(() => parseCidr(text)).code).toBe('BAD_REQUEST');
    },
  );
});

import { parseUpsUrl } from '../../../src/adapters/ups/url';
import { BlackstartError } from '../../../src/core/errors';

describe('UPS URLs', () => {
  it.each([
    ['nut://127.0.0.1/ups', { nut: { host: '127.0.0.1', ups: 'ups' } }],
    ['nut://monuser@127.0.0.1:13493/labups', { nut: { host: '127.0.0.1', port: 13493, ups: 'labups', username: 'monuser' } }],
    ['nut://[::1]:3493/rack-1', { nut: { host: '::1', port: 3493, ups: 'rack-1' } }],
    ['apcupsd://127.0.0.1', { apcupsd: { host: '127.0.0.1' } }],
    ['apcupsd://localhost:13551/', { apcupsd: { host: 'localhost', port: 13551 } }],
    ['apcsmart:///dev/ttyS0', { apc_smart: { device: '/dev/ttyS0' } }],
    ['apcsmart:///tmp/pty%20a', { apc_smart: { device: '/tmp/pty a' } }],
  ])('%s', (url, expected) => {
    expect(parseUpsUrl(url)).toEqual(expected);
  });

  it.each([
    ['127.0.0.1', /not a UPS URL/],
    ['http://127.0.0.1/ups', /unknown UPS URL scheme "http"/],
    ['nut://127.0.0.1', /name one UPS after the host/],
    ['nut://127.0.0.1/a/b', /name one UPS/],
    ['nut://mon:hunter2@127.0.0.1/ups', /password does not belong in the URL/],
    ['apcupsd://127.0.0.1/status', /no path/],
    ['apcsmart://host/dev/ttyS0', /three slashes/],
    ['nut://127.0.0.1/ups?x=1', /no query/],
  ])('refuses %s', (url, message) => {
    let caught: unknown;
    try {
      parseUpsUrl(url);
    } catch (err) {
      caught = err;
    }
    expect(caught).toBeInstanceOf(BlackstartError);
    expect((caught as BlackstartError).code).toBe('BAD_REQUEST');
    expect((caught as Error).message).toMatch(message);
    expect((caught as Error).message).not.toContain('hunter2');
  });
});

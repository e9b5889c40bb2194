/**
 * xl codec: command texts and `xl list` parsing. There is no Xen here, so the listing vectors are
 * written after xl(1)'s documented format (the "list" section: a Name ID Mem VCPUs State Time(s)
 * header, tab before State and Time(s) as xl prints it, six flag columns r b p s c d).
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { shQuote } from '../../../src/adapters/sh-quote';
import { thrown } from '../../helpers/thrown';
import {
  checkXenName,
  NOTHING_TO_START,
  parseXlList,
  SAVED_MARKER,
  xlDestroyCommand,
  xlError,
  xlListCommand,
  xlSaveCommand,
  xlShutdownCommand,
  xlStartCommand,
  xlState,
} from '../../../src/adapters/vm/xl-codec';

const cfg = { xl: 'xl', saveDir: '/var/lib/xen/save' };
const HEADER = 'Name                                        ID   Mem VCPUs\tState\tTime(s)';

describe('xl list parsing', () => {
  it('reads guests and their flags, leaving out Domain-0', () => {
    const out = [
      HEADER,
      'Domain-0                                     0  1024     4     r-----    1234.5',
      'web                                          1  1019     1     -b----      10.3',
      'db server                                    2  2048     2     r-----       5.0',
      'frozen                                       3   512     1     --p---       0.1',
      'going                                        4   512     1     ---s--       0.2',
      'broken                                       5   512     1     ----c-       0.3',
      'dying                                        6   512     1     -----d       0.4',
      'waiting                                      7   512     1     ------       0.5',
      'gone bad                                     8   512     1     r---cd       0.6',
      '',
    ].join('\n');
    expect(parseXlList(out)).toEqual([
      { name: 'web', state: 'running' },
      { name: 'db server', state: 'running' },
      { name: 'frozen', state: 'paused' },
      { name: 'going', state: 'stopping' },
      { name: 'broken', state: 'off', crashed: true },
      { name: 'dying', state: 'stopping' },
      { name: 'waiting', state: 'running' },
      { name: 'gone bad', state: 'stopping', crashed: true },
    ]);
  });

  it('reports a guest with an image in the save directory as saved, unless xl lists it', () => {
    const out = [HEADER, 'Domain-0  0  1024  4  r-----  1.0', 'web  1  1019  1  -b----  1.0', SAVED_MARKER, 'db.save', 'web.save', 'notes.txt', '.save', ''].join('\n');
    expect(parseXlList(out)).toEqual([
      { name: 'web', state: 'running' },
      { name: 'db', state: 'saved' },
    ]);
  });

  it('maps combined flags, most telling first', () => {
    expect(xlState('r--s--')).toBe('stopping');
    expect(xlState('--p-c-')).toBe('off');
    expect(xlState('-bp---')).toBe('paused');
  });

  it('rejects output without the header, and a malformed row', () => {
    expect(thrown(() => parseXlList('')).message).toContain('empty output');
    const e = thrown(() => parseXlList('libxl: error: cannot init xl context\n'));
    expect(e.code).toBe('PROTOCOL');
    expect(e.message).toContain('libxl: error');
    const row = thrown(() => parseXlList(`${HEADER}\nweb 1 1019 one -b---- 1.0\n`));
    expect(row.code).toBe('PROTOCOL');
    expect(row.message).toContain('row 1');
    expect(thrown(() => parseXlList(`${HEADER}\nweb 1 1019 1 -x---- 1.0\n`)).code).toBe('PROTOCOL');
  });
});

describe('xl commands', () => {
  it('quotes every argument for sh', () => {
    expect(xlListCommand(cfg)).toBe(`xl list && echo '${SAVED_MARKER}' && { ls -1A -- '/var/lib/xen/save' 2>/dev/null || true; }`);
    expect(xlShutdownCommand(cfg, { name: 'web' })).toBe("xl shutdown 'web'");
    expect(xlDestroyCommand(cfg, { name: "it's" })).toBe(`xl destroy 'it'\\''s'`);
    expect(xlSaveCommand(cfg, { name: 'db server' })).toBe("mkdir -p '/var/lib/xen/save' && xl save 'db server' '/var/lib/xen/save/db server.save'");
    expect(xlSaveCommand({ xl: '/opt/xen bin/xl', saveDir: '/srv/save/' }, { name: 'db' })).toBe("mkdir -p '/srv/save/' && '/opt/xen bin/xl' save 'db' '/srv/save/db.save'");
  });

  it('starts from the image when there is one, else from the config, else says why', () => {
    expect(xlStartCommand(cfg, { name: 'web', config: '/etc/xen/web.cfg' })).toBe(
      "if [ -e '/var/lib/xen/save/web.save' ]; then xl restore '/var/lib/xen/save/web.save' && rm -f '/var/lib/xen/save/web.save'; else xl create '/etc/xen/web.cfg'; fi",
    );
    expect(xlStartCommand(cfg, { name: 'db' })).toBe(
      `if [ -e '/var/lib/xen/save/db.save' ]; then xl restore '/var/lib/xen/save/db.save' && rm -f '/var/lib/xen/save/db.save'; else echo 'no saved image /var/lib/xen/save/db.save and no config file to create the guest from' >&2; exit ${NOTHING_TO_START}; fi`,
    );
    // Kept after a crash (the listing said so): the remains go first, or the name stays taken.
    expect(xlStartCommand(cfg, { name: 'web', config: '/etc/xen/web.cfg', crashed: true })).toBe(
      "if [ -e '/var/lib/xen/save/web.save' ]; then xl destroy 'web' || exit $?; xl restore '/var/lib/xen/save/web.save' && rm -f '/var/lib/xen/save/web.save'; else xl destroy 'web' || exit $?; xl create '/etc/xen/web.cfg'; fi",
    );
  });

  /** Runs a command with xl stubbed by a shell function that echoes each call; `xl destroy` fails when asked to. */
  const sh = (cmd: string, o: { destroyFails?: boolean } = {}): { out: string; code: number } => {
    const stub = `xl() {
      echo "xl $*"
      [ "$1" != destroy ] || [ -z "$DESTROY_FAILS" ] || return 4
    }`;
    const r = spawnSync('/bin/sh', ['-c', `${stub}\n${cmd}`], { encoding: 'utf8', env: { PATH: process.env.PATH ?? '', DESTROY_FAILS: o.destroyFails ? '1' : '' } });
    return { out: r.stdout, code: r.status ?? -1 };
  };

  it('runs as sh reads it: the start one-liner picks restore or create (xl stubbed by a shell function)', () => {
    const dir = execFileSync('mktemp', ['-d'], { encoding: 'utf8' }).trim();
    const c = { xl: 'xl', saveDir: dir };
    const start = xlStartCommand(c, { name: "O'Brien x", config: '/etc/xen/o.cfg' });
    expect(sh(start)).toEqual({ out: 'xl create /etc/xen/o.cfg\n', code: 0 });
    execFileSync('/bin/sh', ['-c', `touch ${shQuote(`${dir}/O'Brien x.save`)}`]);
    expect(sh(start)).toEqual({ out: `xl restore ${dir}/O'Brien x.save\n`, code: 0 });
    // Restored: the image is gone, so the next start creates.
    expect(sh(start).out).toBe('xl create /etc/xen/o.cfg\n');
    expect(sh(xlListCommand(c).replace(/^xl list/, 'echo listed')).out).toBe(`listed\n${SAVED_MARKER}\n`);
    execFileSync('rm', ['-rf', dir]);
  });

  it('destroys a domain kept after a crash before starting it again, and only then', () => {
    const dir = execFileSync('mktemp', ['-d'], { encoding: 'utf8' }).trim();
    const c = { xl: 'xl', saveDir: dir };
    const start = xlStartCommand(c, { name: 'web server', config: '/etc/xen/web.cfg', crashed: true });
    expect(sh(start)).toEqual({ out: 'xl destroy web server\nxl create /etc/xen/web.cfg\n', code: 0 });
    expect(sh(xlStartCommand(c, { name: 'web server', config: '/etc/xen/web.cfg' }))).toEqual({ out: 'xl create /etc/xen/web.cfg\n', code: 0 });
    // A destroy that fails stops there: create would only fail on the name.
    expect(sh(start, { destroyFails: true })).toEqual({ out: 'xl destroy web server\n', code: 4 });
    // The same for a saved image.
    execFileSync('touch', [`${dir}/web server.save`]);
    expect(sh(start)).toEqual({ out: `xl destroy web server\nxl restore ${dir}/web server.save\n`, code: 0 });
    // Nothing to start from: nothing is destroyed either.
    expect(sh(xlStartCommand(c, { name: 'db', crashed: true }))).toEqual({ out: '', code: NOTHING_TO_START });
    execFileSync('rm', ['-rf', dir]);
  });

  it('refuses names xl or a file name cannot take', () => {
    for (const [bad, why] of [
      ['', 'is empty'],
      ['a/b', '"/"'],
      ['-x', 'starts with "-"'],
      ['a\nb', 'control character'],
    ] as const) {
      const e = thrown(() => checkXenName(bad));
      expect(e.code).toBe('BAD_REQUEST');
      expect(e.message).toContain(why);
    }
    expect(thrown(() => xlSaveCommand(cfg, { name: '../etc' })).code).toBe('BAD_REQUEST');
  });
});

describe('xl errors', () => {
  it('names the hypervisor, the guest and what xl said, trimmed', () => {
    const e = xlError('xen over ssh root@127.0.0.1:22', 'shutdown', 'web', { code: 1, stdout: '', stderr: "\ninvalid domain identifier 'web'\n\n" });
    expect(e.code).toBe('NOT_FOUND');
    expect(e.message).toBe(`xen over ssh root@127.0.0.1:22: xl shutdown guest "web" exited with status 1: invalid domain identifier 'web'`);
    expect(xlError('x', 'save', 'db', { code: 2, stdout: '', stderr: 'libxl: error: out of disk\nsecond line' }).message).toBe('x: xl save guest "db" exited with status 2: libxl: error: out of disk | second line');
    expect(xlError('x', 'start', 'db', { code: NOTHING_TO_START, stdout: '', stderr: 'no saved image' }).code).toBe('CONFIG');
    expect(xlError('x', 'list', undefined, { code: null, signal: 'SIGKILL', stdout: '', stderr: '' }).message).toBe('x: xl list was killed by SIGKILL');
    expect(xlError('x', 'list', undefined, { code: 1, stdout: '', stderr: 'y'.repeat(2000) }).message.length).toBeLessThan(600);
  });
});

/** The `shutdown: { ssh: {...} }` config section: defaults, cross-field rules, secrets. */
import { Secret } from '../../../src/core/secret';
import { createSshShutdown, sshCommandOf, sshShutdownSchema } from '../../../src/adapters/power/ssh-config';
import { defaultShutdownCommand } from '../../../src/adapters/power/ssh';

const FP = 'SHA256:VJSlDXSuMZCEI71Nvx+pD0r78V1AwpXJ3UIr4olR1u8';
const base = { host: 'nas.lan', username: 'blackstart', key_file: '/etc/blackstart/id_ed25519', host_key: FP };

function issues(input: Record<string, unknown>): { path: string; message: string }[] {
  const r = sshShutdownSchema.safeParse(input);
  if (r.success) throw new Error('expected the section to be rejected');
  return r.error.issues.map((i) => ({ path: i.path.join('.'), message: i.message }));
}

describe('config: ssh shutdown', () => {
  it('fills defaults and builds a method that names no secret', () => {
    const cfg = sshShutdownSchema.parse({ ...base, password_env: 'NAS_PW', host_key: `${FP}=` });
    expect(cfg).toMatchObject({ host: 'nas.lan', port: 22, username: 'blackstart', hostKey: FP, timeout: 15_000 });
    expect(cfg.keyFile?.path).toBe('/etc/blackstart/id_ed25519');
    expect(sshCommandOf(cfg)).toBe('sudo -n /sbin/shutdown -h now');
    cfg.password?.resolve(new Secret('pw-in-env-77', 'env NAS_PW'));
    const method = createSshShutdown(cfg);
    expect(method.kind).toBe('ssh');
    expect(method.describe()).toBe(`ssh blackstart@nas.lan:22 runs "sudo -n /sbin/shutdown -h now" (key /etc/blackstart/id_ed25519 + password; host key ${FP})`);
    expect(JSON.stringify(cfg)).not.toContain('pw-in-env-77');
  });

  it('picks the command by os, or takes the given one', () => {
    const of = (extra: Record<string, unknown>): string => sshCommandOf(sshShutdownSchema.parse({ ...base, ...extra }));
    expect(of({ os: 'macos' })).toBe('sudo -n /sbin/shutdown -h now');
    expect(of({ os: 'windows' })).toBe('shutdown /s /t 0');
    expect(of({ username: 'root' })).toBe('/sbin/shutdown -h now');
    expect(of({ command: '  systemctl poweroff ' })).toBe('systemctl poweroff');
    expect(defaultShutdownCommand('windows', 'root')).toBe('shutdown /s /t 0');
  });

  it('takes a known_hosts file instead of a fingerprint, and a port and timeout', () => {
    const cfg = sshShutdownSchema.parse({ ...base, host_key: undefined, known_hosts: '~/.ssh/known_hosts', port: 2222, timeout: '30s' });
    expect(cfg.knownHosts?.written).toBe('~/.ssh/known_hosts');
    expect(createSshShutdown(cfg).describe()).toContain('host key from ~/.ssh/known_hosts');
    expect(cfg).toMatchObject({ port: 2222, timeout: 30_000 });
  });

  it.each([
    ['no host key check', { host_key: undefined }, 'host_key', /the host key is always checked: give host_key .* or known_hosts/],
    ['both host key checks', { known_hosts: '/k' }, 'known_hosts', /give only one of host_key, known_hosts/],
    ['an MD5 fingerprint', { host_key: '16:27:ac:a5:76:28:2d:36:63:1b:56:4d:eb:df:a6:48' }, 'host_key', /MD5 fingerprint is not accepted/],
    ['no credentials', { key_file: undefined }, 'key_file', /give key_file, password_env or password_file/],
    ['a passphrase without a key', { key_file: undefined, password_env: 'P', passphrase_env: 'K' }, 'passphrase', /passphrase is for key_file/],
    ['os and command', { os: 'linux', command: 'poweroff' }, 'command', /give os .* or command, not both/],
    ['an unknown os', { os: 'bsd' }, 'os', /os is linux, macos or windows/],
    ['user@ in the host', { host: 'root@nas.lan' }, 'host', /without user@/],
    ['a port out of range', { port: 70000 }, 'port', /.+/],
    ['a too short timeout', { timeout: '100ms' }, 'timeout', /at least 1000 ms/],
    ['two ways to give the password', { password: 'x', password_env: 'P' }, 'password_env', /give only one of password, password_env/],
    ['a typo', { hostkey: FP }, '', /unknown key "hostkey" \(did you mean "host_key"\?\)/],
    ['an empty command', { command: '   ' }, 'command', /.+/],
  ])('%s', (_name, change, path, message) => {
    const found = issues({ ...base, ...change });
    expect(found.map((i) => i.path)).toContain(path);
    expect(found.find((i) => i.path === path)?.message).toMatch(message);
  });
});

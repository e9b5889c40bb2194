import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { cliPath, repoRoot } from '../helpers/repo';

const cli = (...args: string[]) => spawnSync(process.execPath, [cliPath(), ...args], { encoding: 'utf8', cwd: repoRoot() });

describe('blackstart CLI', () => {
  it('check accepts the demo and summarises it', () => {
    const r = cli('check', '-c', 'examples/demo.yaml');
    expect(r.status).toBe(0);
    expect(r.stdout).toMatch(/examples\/demo\.yaml: OK/);
    expect(r.stdout).toMatch(/embedded broker on 127\.0\.0\.1:1883/);
    expect(r.stdout).toMatch(/hosts \(3\): gateway/);
  });

  it('check exits 1 naming a typo\'d key, its path and line', () => {
    const dir = mkdtempSync(join(tmpdir(), 'bs-cli-'));
    const file = join(dir, 'typo.yaml');
    writeFileSync(file, readFileSync(join(repoRoot(), 'examples/demo.yaml'), 'utf8').replace('wake_takes: 40s', 'wake_tkaes: 40s'));
    const r = cli('check', '-c', file);
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(/hosts\.nas\.simulated\.wake_tkaes \(line \d+\): unknown key "wake_tkaes" \(did you mean "wake_takes"\?\)/);
  });

  it('run refuses a bad config with exit 1 and the errors, before starting anything', () => {
    const dir = mkdtempSync(join(tmpdir(), 'bs-cli-'));
    const file = join(dir, 'bad.yaml');
    writeFileSync(file, 'mqtt:\n  url: http://nope\n');
    const r = cli('run', '-c', file);
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(/mqtt\.url \(line 2\): expected mqtt:\/\/host\[:port\]/);
  });

  it('--version prints the package version; --help lists the commands', () => {
    const pkg = JSON.parse(readFileSync(join(repoRoot(), 'package.json'), 'utf8')) as { version: string };
    expect(cli('--version').stdout.trim()).toBe(pkg.version);
    const help = cli('--help');
    expect(help.status).toBe(0);
    expect(help.stdout).toMatch(/run \[options\]/);
    expect(help.stdout).toMatch(/check \[options\]/);
    expect(help.stdout).toMatch(/--log-level/);
  });

  it('an unknown log level is refused', () => {
    const r = cli('--log-level', 'loud', 'check', '-c', 'examples/demo.yaml');
    expect(r.status).not.toBe(0);
    expect(r.stderr).toMatch(/loud.*Allowed choices/s);
  });
});

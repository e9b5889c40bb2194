import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parsePluginConfig } from '../../../homebridge/src/config';
import { repoRoot } from '../../helpers/repo';

const example = (name: string) =>
  (JSON.parse(readFileSync(join(repoRoot(), 'examples', 'homebridge', name), 'utf8')) as { platforms: Record<string, unknown>[] }).platforms[0] as never;

describe('plugin config', () => {
  it('reads both example configs', () => {
    const local = parsePluginConfig(example('in-process.json'));
    expect(local.mode).toEqual({ kind: 'in_process', configFile: '/etc/blackstart/blackstart.yaml' });
    expect(local.hosts.get('nas')).toEqual({ allowShutdown: true, temperatures: true, name: 'NAS' });
    expect(local.hosts.get('gateway')).toEqual({ allowShutdown: false, temperatures: false });
    expect([local.holdMs, local.revertMs, local.staleAfterMs]).toEqual([300_000, 1000, 30_000]);
    const remote = parsePluginConfig(example('remote.json'));
    expect(remote.mode).toEqual({ kind: 'remote', url: 'mqtt://blackstart-hub.lan:1883', baseTopic: 'blackstart', username: 'homebridge', password: 'change-me' });
    expect(remote.staleAfterMs).toBe(60_000);
  });

  it('reads guest options: stop is shutdown and off does nothing unless asked', () => {
    const c = parsePluginConfig({ platform: 'Blackstart', config_file: 'x.yaml', guests: [{ id: 'hv1/db', stop: 'save', allow_shutdown: true, name: ' DB ' }, { id: 'hv1/web' }] });
    expect(c.guests.get('hv1/db')).toEqual({ allowShutdown: true, stop: 'save', name: 'DB' });
    expect(c.guests.get('hv1/web')).toEqual({ allowShutdown: false, stop: 'shutdown' });
  });

  it('names what is wrong', () => {
    const bad = (c: Record<string, unknown>) => () => parsePluginConfig({ platform: 'Blackstart', ...c });
    expect(bad({ mode: 'in_process' })).toThrow(/needs config_file/);
    expect(bad({ mode: 'remote' })).toThrow(/needs mqtt.url/);
    expect(bad({ mode: 'cloud' })).toThrow(/mode must be in_process or remote/);
    expect(bad({ config_file: 'x.yaml', hosts: [{ id: 'Big NAS' }] })).toThrow(/hosts\[0\].id/);
    expect(bad({ config_file: 'x.yaml', hold_s: 0 })).toThrow(/hold_s must be a number >= 1/);
    expect(bad({ config_file: 'x.yaml', guests: [{ id: 'db' }] })).toThrow(/guests\[0\].id must be <host>\/<guest>/);
    expect(bad({ config_file: 'x.yaml', guests: [{ id: 'hv1/db', stop: 'start' }] })).toThrow(/guests\[0\].stop must be one of save, shutdown, off, not "start"/);
    expect(bad({ config_file: 'x.yaml', guests: [{ id: 'hv1/db' }, { id: 'hv1/db' }] })).toThrow(/guests\[1\]: "hv1\/db" is listed twice/);
  });
});

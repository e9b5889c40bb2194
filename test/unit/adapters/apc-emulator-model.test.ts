import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { ApcEmulatorModel } from '../../helpers/apc-emulator-model';
import { repoRoot } from '../../helpers/repo';

/** Feeds a string byte by byte at time `at`, collecting what the UPS would send. */
function feed(m: ApcEmulatorModel, text: string, at = 0): string {
  let out = '';
  for (const c of text) {
    const r = m.receive(c, at);
    if (r.reply !== null) out += `${r.reply}\r\n`;
    out += r.alerts.join('');
  }
  return out;
}

describe('APC Smart-UPS emulator model (pure)', () => {
  it('ignores everything before Y, then answers the apcupsd poll set', () => {
    const m = new ApcEmulatorModel();
    expect(feed(m, 'Qf')).toBe('');
    expect(feed(m, 'Y')).toBe('SM\r\n');
    expect(feed(m, 'QfjLPB')).toBe('08\r\n100.0\r\n0045:\r\n230.4\r\n023.4\r\n27.30\r\n');
    // apcupsd 3.14.14 poll loop (real-peers.md §4): every query gets a line, unknown ones NA
    const poll = 'YQ9GXLMNOfBPFjC7~\'8YY';
    expect(feed(m, poll).split('\r\n').length - 1).toBe(poll.length);
    expect(feed(m, 'h')).toBe('NA\r\n');
    expect(feed(m, '\x01')).toBe('Smart-UPS 1500\r\n');
  });

  it('answers every byte the real apcupsd 3.14.14 sent it (captured), NA only for what apcupsd probes and we lack', () => {
    const text = readFileSync(join(repoRoot(), 'test/fixtures/apc-smart/apcupsd-commands.txt'), 'utf8');
    const sent = text
      .split('\n')
      .filter((l) => l && !l.startsWith('#'))
      .join('')
      .replace(/\^(.)/g, (_m, c: string) => String.fromCharCode(c.charCodeAt(0) ^ 0x40));
    expect(sent.length).toBeGreaterThan(100);
    const m = new ApcEmulatorModel();
    const unanswered: string[] = [];
    const na = new Set<string>();
    for (const c of sent) {
      const r = m.receive(c, 0);
      if (r.reply === null) unanswered.push(c);
      else if (r.reply === 'NA') na.add(c);
    }
    expect(unanswered).toEqual([]);
    expect([...na].sort()).toEqual(['\x1a', 'a', 'd', 'h', 't']);
  });

  it('encodes the Q bits from the state', () => {
    const m = new ApcEmulatorModel({}, { requireSmartMode: false });
    expect(feed(m, 'Q')).toBe('08\r\n');
    m.set({ onBattery: true });
    expect(feed(m, 'Q')).toBe('10\r\n');
    m.set({ lowBattery: true });
    expect(feed(m, 'Q')).toBe('50\r\n');
    m.set({ onBattery: false, lowBattery: false, trim: true, replaceBattery: true });
    expect(feed(m, 'Q')).toBe('8A\r\n');
    m.set({ overload: true, trim: false, replaceBattery: false, calibrating: true });
    expect(feed(m, 'Q')).toBe('29\r\n');
  });

  it('set() returns the alerts a real UPS sends, in order, only on change; none when autoAlerts is off', () => {
    const m = new ApcEmulatorModel();
    expect(m.set({ onBattery: true, chargePct: 60 })).toEqual(['!']);
    expect(m.state.online).toBe(false);
    expect(m.set({ chargePct: 50 })).toEqual([]);
    expect(m.set({ lowBattery: true })).toEqual(['%']);
    expect(m.set({ onBattery: false, lowBattery: false })).toEqual(['+', '$']);
    expect(m.set({ replaceBattery: true, overload: true })).toEqual(['#', '?']);
    expect(m.set({ overload: false })).toEqual(['=']);
    const quiet = new ApcEmulatorModel({}, { autoAlerts: false });
    expect(quiet.set({ onBattery: true })).toEqual([]);
  });

  it('answers SM to Q while the register is not ready', () => {
    const m = new ApcEmulatorModel({}, { requireSmartMode: false });
    m.qNotReady = 2;
    expect(feed(m, 'QQQ')).toBe('SM\r\nSM\r\n08\r\n');
  });

  it('runs control commands as a real unit answers them', () => {
    const m = new ApcEmulatorModel({}, { requireSmartMode: false });
    expect(feed(m, 'W', 1)).toBe('OK\r\n');
    expect(feed(m, 'X')).toBe('OK\r\n');
    expect(feed(m, 'A', 2)).toBe('OK\r\n');
    // S only on battery
    expect(feed(m, 'S', 3)).toBe('NA\r\n');
    m.set({ onBattery: true });
    expect(feed(m, 'S', 4)).toBe('OK\r\n');
    expect(m.pendingShutdown).toBe('S');
    expect(feed(m, '\x7f', 5)).toBe('OK\r\n');
    expect(m.pendingShutdown).toBeNull();
    expect(feed(m, '@', 6) + feed(m, '01', 7)).toBe('');
    expect(feed(m, '2', 8)).toBe('OK\r\n');
    expect(m.pendingShutdown).toBe('@012');
    expect(feed(m, 'U', 9)).toBe('!$');
    expect(feed(m, 'R', 10)).toBe('BYE\r\n');
    expect(m.commandsRun.map((c) => c.command)).toEqual(['W', 'A', 'S', 'S', 'DEL', '@012', 'U', 'R']);
    expect(m.commandsRun.map((c) => c.at)).toEqual([1, 2, 3, 4, 5, 8, 9, 10]);
  });

  it('a non-digit inside @ddd abandons it and is handled as itself', () => {
    const m = new ApcEmulatorModel({}, { requireSmartMode: false });
    expect(feed(m, '@0Q')).toBe('08\r\n');
    expect(m.pendingShutdown).toBeNull();
  });

  it('pair commands need the second character inside the pause window', () => {
    const m = new ApcEmulatorModel({}, { requireSmartMode: false, minPairGapMs: 1300, maxPairGapMs: 5000 });
    expect(feed(m, 'K', 0) + feed(m, 'K', 500)).toBe('');
    expect(m.pendingShutdown).toBeNull();
    // the too-fast K re-armed the pair at 500
    expect(feed(m, 'K', 2000)).toBe('OK\r\n');
    expect(m.pendingShutdown).toBe('KK');
    expect(feed(m, 'Z', 10_000) + feed(m, 'Z', 20_000)).toBe('');
    expect(m.state.loadOn).toBe(true);
    expect(feed(m, 'Z', 21_500)).toBe('');
    expect(m.state.loadOn).toBe(false);
    expect(feed(m, 'Q')).toBe('00\r\n');
    expect(feed(m, '\x0e', 30_000) + feed(m, '\x0e', 31_500)).toBe('OK\r\n');
    expect(m.state.loadOn).toBe(true);
    // another character between the two breaks the pair
    expect(feed(m, 'K', 40_000) + feed(m, 'Q', 40_100) + feed(m, 'K', 41_600)).toBe('08\r\n');
    expect(m.commandsRun.map((c) => [c.command, c.at])).toEqual([
      ['KK', 2000],
      ['ZZ', 21_500],
      ['^N^N', 31_500],
    ]);
  });
});

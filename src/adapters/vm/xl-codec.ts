/**
 * The shell commands the Xen driver runs and the text `xl list` prints. Pure code.
 *
 * `xl list` (xl(1), "list"):
 *
 *   Name                                        ID   Mem VCPUs	State	Time(s)
 *   Domain-0                                     0   750     4     r-----   11794.3
 *   web                                          1  1019     1     -b----       0.3
 *
 * It lists only domains that exist, so a guest that is off is simply absent. A saved guest is
 * absent too: list() runs `ls` on the save directory in the same command and reports a guest
 * that xl does not list but that has `<name>.save` there as `saved`, because that is the image
 * start() will restore. A listed guest keeps its xl state even when a stale image is lying around.
 */
import { BlackstartError } from '../../core/errors';
import type { VmPower } from '../../core/state';
import type { XenConfig } from './config';
import type { GuestListing, GuestSpec } from './hypervisor';
import { hasControlChars, shProgram, shQuote } from '../sh-quote';
import { describeFailure } from './transport';

/** Separates xl's listing from the save directory's in list()'s output. */
export const SAVED_MARKER = '--- blackstart: saved images ---';
/** start()'s exit status when there is neither an image to restore nor a config to create from. */
export const NOTHING_TO_START = 3;

type XlCfg = Pick<XenConfig, 'xl' | 'saveDir'>;

const program = (path: string): string => shProgram(path, 'xl program');

/**
 * Xen names end up in a file name (`<save_dir>/<name>.save`) and as xl's argument: no `/`, no
 * control characters, and no leading `-`, which xl's option parser would take for an option.
 */
export function checkXenName(name: string): void {
  const bad =
    name === '' ? 'is empty'
    : hasControlChars(name) ? 'holds a control character'
    : name.includes('/') ? 'holds a "/", which cannot be part of its save file name'
    : name.startsWith('-') ? 'starts with "-", which xl would read as an option'
    : undefined;
  if (bad) throw new BlackstartError('BAD_REQUEST', `Xen guest name ${JSON.stringify(name)} ${bad}`);
}

export function savePath(cfg: XlCfg, name: string): string {
  checkXenName(name);
  return `${cfg.saveDir.replace(/\/+$/, '')}/${name}.save`;
}

export function xlListCommand(cfg: XlCfg): string {
  return `${program(cfg.xl)} list && echo ${shQuote(SAVED_MARKER)} && { ls -1A -- ${shQuote(cfg.saveDir, 'save_dir')} 2>/dev/null || true; }`;
}

export function xlShutdownCommand(cfg: XlCfg, guest: GuestSpec): string {
  checkXenName(guest.name);
  return `${program(cfg.xl)} shutdown ${shQuote(guest.name)}`;
}

export function xlDestroyCommand(cfg: XlCfg, guest: GuestSpec): string {
  checkXenName(guest.name);
  return `${program(cfg.xl)} destroy ${shQuote(guest.name)}`;
}

/** The save directory is made first: Debian's xen packages do not create /var/lib/xen/save. */
export function xlSaveCommand(cfg: XlCfg, guest: GuestSpec): string {
  const image = savePath(cfg, guest.name);
  return `mkdir -p ${shQuote(cfg.saveDir, 'save_dir')} && ${program(cfg.xl)} save ${shQuote(guest.name)} ${shQuote(image)}`;
}

/**
 * Restores the saved image when there is one and removes it once the guest runs from it (a stale
 * image restored later would roll the guest back); otherwise creates the guest from its config.
 * Without a config the else branch says so and exits NOTHING_TO_START.
 *
 * A domain kept after a crash (`on_crash="preserve"`) still holds the name, so restore or create
 * would fail with "domain already exists": when the listing said so, it is destroyed first.
 */
export function xlStartCommand(cfg: XlCfg, guest: GuestSpec): string {
  const image = shQuote(savePath(cfg, guest.name));
  const xl = program(cfg.xl);
  const clear = guest.crashed ? `${xl} destroy ${shQuote(guest.name)} || exit $?; ` : '';
  const otherwise =
    guest.config !== undefined
      ? `${clear}${xl} create ${shQuote(guest.config, 'config file')}`
      : `echo ${shQuote(`no saved image ${savePath(cfg, guest.name)} and no config file to create the guest from`)} >&2; exit ${NOTHING_TO_START}`;
  return `if [ -e ${image} ]; then ${clear}${xl} restore ${image} && rm -f ${image}; else ${otherwise}; fi`;
}

/**
 * xl's state flags, most telling first: dying and shutting down are on their way off; crashed
 * runs nothing any more, so an outage has nothing to stop (it reads `off`, as libvirt's crashed
 * does); `r` (on a CPU), `b` (blocked, waiting) and no flag at all (runnable, waiting for a CPU)
 * are all running.
 */
export function xlState(flags: string): VmPower {
  if (flags.includes('d') || flags.includes('s')) return 'stopping';
  if (flags.includes('c')) return 'off';
  if (flags.includes('p')) return 'paused';
  return 'running';
}

const ROW = /^(.*?)\s+(\d+)\s+(\d+)\s+(\d+)\s+([-rbpscd]{6})\s+(\d+(?:\.\d+)?)$/;

/** Parses list()'s whole output: xl's table, the marker, then the save directory's names. */
export function parseXlList(stdout: string): GuestListing[] {
  const lines = stdout.split('\n').map((l) => l.replace(/\r$/, ''));
  const marker = lines.indexOf(SAVED_MARKER);
  const table = marker >= 0 ? lines.slice(0, marker) : lines;
  const files = marker >= 0 ? lines.slice(marker + 1) : [];
  const header = table.findIndex((l) => /^Name\s+ID\s+Mem\s+VCPUs\s+State\s+Time\(s\)\s*$/.test(l));
  if (header < 0) {
    const shown = table.filter((l) => l.trim() !== '').slice(0, 2).join(' | ');
    throw new BlackstartError('PROTOCOL', `xl list: no "Name ID Mem VCPUs State Time(s)" header (${shown ? `got: ${shown.slice(0, 200)}` : 'empty output'})`);
  }
  const guests: GuestListing[] = [];
  const listed = new Set<string>();
  for (const [i, line] of table.slice(header + 1).entries()) {
    if (line.trim() === '') continue;
    const m = ROW.exec(line.trim());
    if (!m) throw new BlackstartError('PROTOCOL', `xl list row ${i + 1}: expected "name id mem vcpus flags time", got ${JSON.stringify(line.slice(0, 200))}`);
    const [, name, id] = m as unknown as [string, string, string, string, string, string];
    // dom0 is the hypervisor itself, never a guest to stop.
    if (id === '0' || name === 'Domain-0') continue;
    listed.add(name);
    const flags = m[5] as string;
    guests.push({ name, state: xlState(flags), ...(flags[4] === 'c' ? { crashed: true as const } : {}) });
  }
  for (const file of files) {
    if (!file.endsWith('.save') || file === '.save') continue;
    const name = file.slice(0, -'.save'.length);
    if (!listed.has(name)) guests.push({ name, state: 'saved' });
  }
  return guests;
}

/** xl's complaint as an error naming the hypervisor and the guest; stderr trimmed and capped. */
export function xlError(where: string, action: string, guest: string | undefined, result: { code: number | null; signal?: string; stderr: string; stdout: string }): BlackstartError {
  const { said, text } = describeFailure(where, `xl ${action}`, guest, result, result.stderr.trim());
  if (action === 'start' && result.code === NOTHING_TO_START) return new BlackstartError('CONFIG', text);
  if (/invalid domain identifier|domain .*not found|no such domain/i.test(said)) return new BlackstartError('NOT_FOUND', text);
  return new BlackstartError('REFUSED', text);
}

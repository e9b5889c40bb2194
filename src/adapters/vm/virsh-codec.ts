/**
 * The text virsh speaks in an interactive session whose stdin is not a terminal (virsh 9.0):
 *
 *   Welcome to virsh, …banner…
 *   virsh # list --all --managed-save        (prompt, then our command echoed back)
 *    Id   Name         State
 *   -----------------------------
 *    1    web server   running
 *    -    db           saved
 *
 *   virsh # echo bs-…-7                      (our sentinel)
 *   bs-…-7
 *   virsh #                                  (waiting for the next line)
 *
 * Failures are `error: …` lines in the same stream (the session merges stderr). Pure code: the
 * session that feeds it lives in virsh-session.ts.
 */
import { BlackstartError } from '../../core/errors';
import type { VmPower } from '../../core/state';
import type { GuestListing } from './hypervisor';
import { shQuote } from '../sh-quote';

/**
 * virsh's own parser splits on blanks, `;` and `#` outside quotes and, like sh, takes everything
 * inside single quotes literally, with `'\''` for a quote (checked against virsh 9.0 with names
 * such as `O'Brien #1`). Control characters are refused: a newline would end the command line.
 */
export function virshQuote(name: string, what = 'guest name'): string {
  if (name === '') throw new BlackstartError('BAD_REQUEST', `${what} is empty`);
  return shQuote(name, what);
}

/**
 * `--domain` is spelled out because virsh reads a quoted word that starts with `--` as an option
 * (`start '--all'` fails), but takes the word after `--domain` as its value whatever it looks like.
 */
export function virshDomainCommand(verb: 'shutdown' | 'managedsave' | 'destroy' | 'start', name: string): string {
  return `${verb} --domain ${virshQuote(name)}`;
}

/** `--managed-save` makes a shut-off guest with a managed save image read `saved`. */
export const VIRSH_LIST = 'list --all --managed-save';

const PROMPT = /^virsh [#>] ?/;

export interface VirshReply {
  /** The command's output lines, without prompts, echoed commands and blank lines. */
  lines: string[];
  /** The `error: ` lines, without the prefix. */
  errors: string[];
}

/**
 * Finds the sentinel `token` alone on a line in `buffer`. Undefined: not there yet. Otherwise the
 * reply before it and what follows it (the next prompt, kept for the next command).
 */
export function takeVirshReply(buffer: string, token: string): { reply: VirshReply; rest: string } | undefined {
  let at: number;
  if (buffer.startsWith(`${token}\n`)) at = 0;
  else {
    const i = buffer.indexOf(`\n${token}\n`);
    if (i < 0) return undefined;
    at = i + 1;
  }
  return { reply: readVirshReply(buffer.slice(0, at)), rest: buffer.slice(at + token.length + 1) };
}

export function readVirshReply(text: string): VirshReply {
  const lines: string[] = [];
  const errors: string[] = [];
  for (const raw of text.split('\n')) {
    const line = raw.replace(/\r$/, '');
    // The prompt carries the echoed command (ours or the sentinel's): never output.
    if (PROMPT.test(line)) continue;
    if (line.startsWith('error: ')) errors.push(line.slice('error: '.length).trim());
    else if (line.trim() !== '') lines.push(line);
  }
  return { lines, errors };
}

/** The states `virsh list` prints (virDomainState names, plus `saved` with --managed-save). */
const STATES: Readonly<Record<string, VmPower>> = {
  running: 'running',
  // Idle and blocked guests are running, only waiting for something.
  idle: 'running',
  blocked: 'running',
  paused: 'paused',
  // Suspended to RAM by the guest itself: it holds memory and is not down.
  pmsuspended: 'paused',
  'in shutdown': 'stopping',
  'shut off': 'off',
  // A crashed guest runs nothing any more: an outage has nothing left to stop (as xl's `c`).
  crashed: 'off',
  saved: 'saved',
  'no state': 'unknown',
};

export function virshState(text: string): VmPower {
  return STATES[text.trim().toLowerCase()] ?? 'unknown';
}

const KNOWN_STATE = new RegExp(`\\s(${Object.keys(STATES).join('|')})$`);

/**
 * Parses `list --all [--managed-save]`. The name is what lies between the Id and the State:
 * the state is matched from the end against the known names (they may hold a space) rather than
 * by column position, because virsh pads by display width, which differs from string length
 * for wide characters. An unknown state is the text after the last run of two or more blanks.
 */
export function parseVirshList(lines: readonly string[]): GuestListing[] {
  const header = lines.findIndex((l) => /^\s*Id\s+Name\s+State\s*$/.test(l));
  if (header < 0) {
    const shown = lines.filter((l) => l.trim() !== '').slice(0, 3).join(' | ');
    throw new BlackstartError('PROTOCOL', `virsh list: no "Id Name State" header in its output (${shown ? `got: ${shown.slice(0, 200)}` : 'empty'})`);
  }
  const rule = lines[header + 1];
  if (rule === undefined || !/^-+$/.test(rule.trim())) throw new BlackstartError('PROTOCOL', `virsh list: the header is not followed by a rule of dashes (got ${JSON.stringify(rule ?? '')})`);
  const guests: GuestListing[] = [];
  for (const [i, raw] of lines.slice(header + 2).entries()) {
    const line = raw.trim();
    if (line === '') continue;
    const id = /^(\d+|-)\s+/.exec(line);
    if (!id) throw new BlackstartError('PROTOCOL', `virsh list row ${i + 1}: expected an Id (a number or -) first, got ${JSON.stringify(raw.slice(0, 200))}`);
    const rest = line.slice(id[0].length);
    const known = KNOWN_STATE.exec(rest);
    let name: string;
    let state: VmPower;
    if (known) {
      name = rest.slice(0, known.index).trim();
      state = virshState(known[1] as string);
    } else {
      // Greedy: the split falls on the last run of blanks.
      const cut = /^(.*\S)\s{2,}\S.*$/.exec(rest);
      if (!cut) throw new BlackstartError('PROTOCOL', `virsh list row ${i + 1}: cannot tell the name from the state in ${JSON.stringify(raw.slice(0, 200))}`);
      name = (cut[1] as string).trim();
      state = 'unknown';
    }
    if (name === '') throw new BlackstartError('PROTOCOL', `virsh list row ${i + 1}: no name in ${JSON.stringify(raw.slice(0, 200))}`);
    guests.push({ name, state, ...(known?.[1]?.toLowerCase() === 'crashed' ? { crashed: true as const } : {}) });
  }
  return guests;
}

/** An `error:` reply as a BlackstartError naming the hypervisor and the guest. */
export function virshError(where: string, command: string, guest: string | undefined, errors: readonly string[]): BlackstartError {
  const text = errors.join('; ').slice(0, 500);
  const subject = guest !== undefined ? `guest "${guest}"` : 'the hypervisor';
  if (errors.some((e) => /failed to get domain|domain not found|no domain with matching/i.test(e))) {
    return new BlackstartError('NOT_FOUND', `${where}: no ${subject} (virsh ${command}: ${text})`);
  }
  if (errors.some((e) => /failed to connect to the hypervisor/i.test(e))) {
    return new BlackstartError('UNREACHABLE', `${where}: virsh cannot connect (${text})`);
  }
  return new BlackstartError('REFUSED', `${where}: virsh ${command} for ${subject} failed: ${text}`);
}

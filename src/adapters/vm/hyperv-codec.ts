/**
 * The PowerShell scripts the Hyper-V driver runs and the JSON `Get-VM` answers with. Pure code.
 *
 * Windows' OpenSSH server hands a command to cmd.exe, whose quoting rules are not PowerShell's,
 * so a script travels as `powershell -EncodedCommand <base64 of its UTF-16LE text>`: base64 has
 * nothing cmd.exe or PowerShell would read specially. Inside the script, guest names are
 * PowerShell single-quoted strings, where nothing expands.
 */
import { BlackstartError } from '../../core/errors';
import type { VmPower } from '../../core/state';
import type { GuestListing } from './hypervisor';
import { hasControlChars } from '../sh-quote';
import { describeFailure } from './transport';

/**
 * `Stop` makes a cmdlet's failure terminate the script; the catch prints its message as plain
 * text and exits 1. Left to itself, powershell.exe started with -EncodedCommand writes errors
 * to a redirected stderr as CLIXML, which is unreadable in a message.
 */
export function wrapScript(body: string): string {
  return `$ErrorActionPreference='Stop'; try { ${body} } catch { [Console]::Error.WriteLine($_.Exception.Message); exit 1 }`;
}

/**
 * PowerShell reads four typographic quotes (‘ ’ ‚ ‛) as single quotes too, so each of them is
 * doubled like `'`. Wildcards are refused: Hyper-V's -Name parameters expand `*?[]`, and
 * `Stop-VM -Name 'web*'` would stop every guest whose name starts with web.
 */
export function psQuote(name: string): string {
  if (name === '') throw new BlackstartError('BAD_REQUEST', 'Hyper-V guest name is empty');
  if (hasControlChars(name)) throw new BlackstartError('BAD_REQUEST', `Hyper-V guest name ${JSON.stringify(name)} holds a control character`);
  if (/[*?[\]]/.test(name)) throw new BlackstartError('BAD_REQUEST', `Hyper-V guest name ${JSON.stringify(name)} holds a wildcard character (* ? [ ]), which Hyper-V's -Name would expand to other guests`);
  return `'${name.replace(/['\u2018\u2019\u201a\u201b]/g, (q) => q + q)}'`;
}

/** UTF-8 out, so guest names with accents survive Windows' default console code page. */
export const LIST_SCRIPT = wrapScript(
  "[Console]::OutputEncoding=[Text.Encoding]::UTF8; Get-VM | Select-Object Name,@{n='State';e={[string]$_.State}} | ConvertTo-Json -Compress",
);

export type HypervAction = 'shutdown' | 'off' | 'save' | 'start';

export function actionScript(action: HypervAction, name: string): string {
  const n = psQuote(name);
  switch (action) {
    case 'shutdown':
      return wrapScript(`Stop-VM -Name ${n} -Force`);
    case 'off':
      return wrapScript(`Stop-VM -Name ${n} -TurnOff -Force`);
    case 'save':
      return wrapScript(`Save-VM -Name ${n}`);
    case 'start':
      return wrapScript(`Start-VM -Name ${n}`);
  }
}

export function encodeCommand(script: string): string {
  return `powershell -NoProfile -NonInteractive -EncodedCommand ${Buffer.from(script, 'utf16le').toString('base64')}`;
}

/** The script inside an encodeCommand() line, or undefined when the line is not one. */
export function decodeCommand(command: string): string | undefined {
  const m = /^powershell -NoProfile -NonInteractive -EncodedCommand ([A-Za-z0-9+/]+={0,2})$/.exec(command);
  return m ? Buffer.from(m[1] as string, 'base64').toString('utf16le') : undefined;
}

/**
 * Hyper-V's VMState names. Starting and Resuming guests are on their way up, so an outage must
 * stop them: they read running. Pausing has not frozen the guest yet: running too. The
 * `…Critical` variants (a storage problem) read as their base state.
 */
const STATES: Readonly<Record<string, VmPower>> = {
  running: 'running',
  starting: 'running',
  resuming: 'running',
  reset: 'running',
  pausing: 'running',
  paused: 'paused',
  stopping: 'stopping',
  saving: 'stopping',
  fastsaving: 'stopping',
  off: 'off',
  saved: 'saved',
  fastsaved: 'saved',
};

/** The numbers ConvertTo-Json writes when a State is not cast to a string. */
const NUMBERED: Readonly<Record<number, string>> = { 2: 'running', 3: 'off', 4: 'stopping', 6: 'saved', 9: 'paused', 10: 'starting', 11: 'reset', 32773: 'saving', 32776: 'pausing', 32777: 'resuming', 32779: 'fastsaved', 32780: 'fastsaving' };

export function hypervState(state: string | number): VmPower {
  const text = typeof state === 'number' ? (NUMBERED[state] ?? '') : state.trim().toLowerCase().replace(/critical$/, '');
  return STATES[text] ?? 'unknown';
}

/** Get-VM's JSON: one object for one guest, an array for several, nothing at all for none. */
export function parseHypervList(stdout: string): GuestListing[] {
  const text = stdout.replace(/^\uFEFF/, '').trim();
  if (text === '') return [];
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (err) {
    throw new BlackstartError('PROTOCOL', `Get-VM: the answer is not JSON (${(err as Error).message}): ${JSON.stringify(text.slice(0, 120))}`);
  }
  const items = Array.isArray(value) ? value : [value];
  return items.map((item, i) => {
    const o = item as { Name?: unknown; State?: unknown } | null;
    if (typeof o !== 'object' || o === null || typeof o.Name !== 'string' || o.Name === '') {
      throw new BlackstartError('PROTOCOL', `Get-VM entry ${i + 1}: expected {"Name": "...", "State": "..."}, got ${JSON.stringify(item)?.slice(0, 120)}`);
    }
    if (typeof o.State !== 'string' && typeof o.State !== 'number') {
      throw new BlackstartError('PROTOCOL', `Get-VM entry ${i + 1} ("${o.Name}"): State is ${JSON.stringify(o.State) ?? 'missing'}, not a name`);
    }
    return { name: o.Name, state: hypervState(o.State) };
  });
}

/**
 * PowerShell's error text: plain when our catch printed it, or CLIXML (`#< CLIXML` then
 * `<S S="Error">…</S>` elements with `_x000D__x000A_` for line breaks) when something failed
 * before the script ran.
 */
export function readPowershellError(stderr: string): string {
  const text = stderr.replace(/^\uFEFF/, '');
  if (!text.startsWith('#< CLIXML')) return text.trim();
  const parts = [...text.matchAll(/<S S="Error">([^<]*)<\/S>/g)].map((m) =>
    (m[1] as string)
      .replace(/_x([0-9A-Fa-f]{4})_/g, (_, hex: string) => String.fromCharCode(parseInt(hex, 16)))
      .replace(/&lt;/g, '<')
      .replace(/&gt;/g, '>')
      .replace(/&quot;/g, '"')
      .replace(/&apos;/g, "'")
      .replace(/&amp;/g, '&'),
  );
  return parts.join('').trim();
}

export function hypervError(where: string, action: string, guest: string | undefined, result: { code: number | null; signal?: string; stderr: string; stdout: string }): BlackstartError {
  const { said, text } = describeFailure(where, action, guest, result, readPowershellError(result.stderr));
  if (/unable to find a virtual machine|ObjectNotFound/i.test(said)) return new BlackstartError('NOT_FOUND', text);
  return new BlackstartError('REFUSED', text);
}

/**
 * Hyper-V codec: script building, the -EncodedCommand round trip, Get-VM JSON parsing. The JSON
 * vectors follow what Windows PowerShell 5.1's ConvertTo-Json -Compress prints: an object for one
 * item, an array for several, nothing for none.
 */
import { thrown } from '../../helpers/thrown';
import {
  actionScript,
  decodeCommand,
  encodeCommand,
  hypervError,
  hypervState,
  LIST_SCRIPT,
  parseHypervList,
  psQuote,
  readPowershellError,
} from '../../../src/adapters/vm/hyperv-codec';

const WRAP = (body: string): string => `$ErrorActionPreference='Stop'; try { ${body} } catch { [Console]::Error.WriteLine($_.Exception.Message); exit 1 }`;

describe('PowerShell scripts', () => {
  it('builds each action with the name single-quoted', () => {
    expect(actionScript('shutdown', 'web')).toBe(WRAP("Stop-VM -Name 'web' -Force"));
    expect(actionScript('off', 'web server')).toBe(WRAP("Stop-VM -Name 'web server' -TurnOff -Force"));
    expect(actionScript('save', "O'Brien")).toBe(WRAP("Save-VM -Name 'O''Brien'"));
    expect(actionScript('start', 'db $x `y')).toBe(WRAP("Start-VM -Name 'db $x `y'"));
    expect(LIST_SCRIPT).toBe(
      WRAP("[Console]::OutputEncoding=[Text.Encoding]::UTF8; Get-VM | Select-Object Name,@{n='State';e={[string]$_.State}} | ConvertTo-Json -Compress"),
    );
  });

  it('doubles the typographic quotes PowerShell also ends a string with', () => {
    expect(psQuote('a\u2019b')).toBe("'a\u2019\u2019b'");
    expect(psQuote('\u2018x\u201a\u201b')).toBe("'\u2018\u2018x\u201a\u201a\u201b\u201b'");
  });

  it('refuses names with wildcards or control characters, and empty names', () => {
    for (const bad of ['web*', 'db?', 'a[1]', 'x\ny', '']) expect(thrown(() => psQuote(bad)).code).toBe('BAD_REQUEST');
    expect(thrown(() => actionScript('off', 'web*')).message).toContain('wildcard');
  });

  it('round-trips a script through -EncodedCommand (base64 of UTF-16LE)', () => {
    const script = actionScript('save', "Zoë's «VM» 日本");
    const line = encodeCommand(script);
    expect(line).toMatch(/^powershell -NoProfile -NonInteractive -EncodedCommand [A-Za-z0-9+/]+=*$/);
    expect(decodeCommand(line)).toBe(script);
    // The documented example: "dir" encodes to ZABpAHIA.
    expect(encodeCommand('dir')).toBe('powershell -NoProfile -NonInteractive -EncodedCommand ZABpAHIA');
    expect(decodeCommand('powershell -Command dir')).toBeUndefined();
  });
});

describe('Get-VM JSON', () => {
  it('reads one object, an array, and nothing', () => {
    expect(parseHypervList('{"Name":"web","State":"Running"}\r\n')).toEqual([{ name: 'web', state: 'running' }]);
    expect(parseHypervList('\uFEFF[{"Name":"web","State":"Running"},{"Name":"db server","State":"Saved"},{"Name":"x","State":"Off"}]')).toEqual([
      { name: 'web', state: 'running' },
      { name: 'db server', state: 'saved' },
      { name: 'x', state: 'off' },
    ]);
    expect(parseHypervList('')).toEqual([]);
    expect(parseHypervList('\r\n')).toEqual([]);
  });

  it('maps the VMState names and numbers', () => {
    const names = ['Running', 'Off', 'Saved', 'Paused', 'Starting', 'Stopping', 'Saving', 'Pausing', 'Resuming', 'Reset', 'FastSaved', 'RunningCritical', 'OffCritical', 'Other', 'ComponentServicing'];
    expect(names.map(hypervState)).toEqual(['running', 'off', 'saved', 'paused', 'running', 'stopping', 'stopping', 'running', 'running', 'running', 'saved', 'running', 'off', 'unknown', 'unknown']);
    expect([2, 3, 6, 9, 32773, 1].map(hypervState)).toEqual(['running', 'off', 'saved', 'paused', 'stopping', 'unknown']);
  });

  it('rejects bad JSON and wrong shapes as PROTOCOL', () => {
    for (const [bad, says] of [
      ['{"Name":"web","State":', 'not JSON'],
      ['Get-VM : Hyper-V is not installed', 'not JSON'],
      ['[{"State":"Running"}]', 'entry 1'],
      ['[{"Name":"a","State":"Off"},null]', 'entry 2'],
      ['{"Name":"a"}', 'State is missing'],
      ['{"Name":"a","State":{"Value":2}}', 'not a name'],
      ['42', 'entry 1'],
    ] as const) {
      const e = thrown(() => parseHypervList(bad));
      expect(e.code).toBe('PROTOCOL');
      expect(e.message).toContain(says);
    }
  });
});

describe('PowerShell errors', () => {
  it('reads plain text and CLIXML', () => {
    expect(readPowershellError('Hyper-V was unable to find a virtual machine with name "web".\r\n')).toBe('Hyper-V was unable to find a virtual machine with name "web".');
    const clixml =
      '#< CLIXML\r\n<Objs Version="1.1.0.1" xmlns="http://schemas.microsoft.com/powershell/2004/04"><S S="Error">Start-VM : &apos;db&apos; failed &lt;x&gt;_x000D__x000A_</S><S S="Error">At line:1 char:1_x000D__x000A_</S></Objs>';
    expect(readPowershellError(clixml)).toBe("Start-VM : 'db' failed <x>\r\nAt line:1 char:1");
  });

  it('maps an unknown guest to NOT_FOUND and names the hypervisor and the guest', () => {
    const e = hypervError('hyperv over ssh admin@127.0.0.1:22', 'shutdown', 'web', { code: 1, stdout: '', stderr: 'Hyper-V was unable to find a virtual machine with name "web".\r\n' });
    expect(e.code).toBe('NOT_FOUND');
    expect(e.message).toBe('hyperv over ssh admin@127.0.0.1:22: shutdown guest "web" exited with status 1: Hyper-V was unable to find a virtual machine with name "web".');
    expect(hypervError('h', 'save', 'db', { code: 1, stdout: '', stderr: 'The operation cannot be performed while the object is in its current state.' }).code).toBe('REFUSED');
  });
});

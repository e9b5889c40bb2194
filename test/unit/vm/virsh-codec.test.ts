/**
 * virsh codec against transcripts captured from virsh 9.0 on libvirt's test driver
 * (test/fixtures/virsh/README.md), plus hand-made bad vectors.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseVirshList, readVirshReply, takeVirshReply, virshDomainCommand, virshError, virshQuote, virshState } from '../../../src/adapters/vm/virsh-codec';
import { repoRoot } from '../../helpers/repo';
import { thrown } from '../../helpers/thrown';
import { MIXED_NODE_GUESTS } from '../../helpers/virsh-mixed-node';

const fixture = (name: string): string => readFileSync(join(repoRoot(), 'test/fixtures/virsh', name), 'utf8');

/** Replies in a transcript, split on the sentinels the way the session does. */
function replies(transcript: string, tokens: string[]): ReturnType<typeof readVirshReply>[] {
  const out: ReturnType<typeof readVirshReply>[] = [];
  let rest = transcript;
  for (const token of tokens) {
    const got = takeVirshReply(rest, token);
    if (!got) throw new Error(`no ${token} in the transcript`);
    out.push(got.reply);
    rest = got.rest;
  }
  // The last prompt, and the newline virsh prints when stdin ends.
  expect(rest.trimEnd()).toBe('virsh #');
  return out;
}

describe('virsh session transcripts', () => {
  it('splits the test driver transcript into replies and reads the list, a missing domain and a two-line error', () => {
    const [list, missing, suspends] = replies(fixture('session-default.txt'), ['bs-fixture-1', 'bs-fixture-2', 'bs-fixture-3']);
    expect(parseVirshList(list!.lines)).toEqual([{ name: 'test', state: 'running' }]);
    expect(list!.errors).toEqual([]);
    expect(missing!.errors).toEqual(["failed to get domain 'nosuch'"]);
    expect(virshError('libvirt test:///default', 'shutdown', 'nosuch', missing!.errors).code).toBe('NOT_FOUND');
    // Two suspends before one sentinel: the first one's output and the second one's two error lines.
    expect(suspends!.lines.join('\n')).toContain("Domain 'test' suspended");
    expect(suspends!.errors).toEqual(["Failed to suspend domain 'test'", "internal error: domain 'test' not running"]);
    const refused = virshError('libvirt test:///default', 'suspend', 'test', suspends!.errors);
    expect(refused.code).toBe('REFUSED');
    expect(refused.message).toBe(
      `libvirt test:///default: virsh suspend for guest "test" failed: Failed to suspend domain 'test'; internal error: domain 'test' not running`,
    );
  });

  it('reads every state of the mixed node file, names with spaces, a quote, a # and wide characters', () => {
    const [reply] = replies(fixture('session-mixed.txt'), ['bs-fixture-1']);
    expect(parseVirshList(reply!.lines)).toEqual(MIXED_NODE_GUESTS);
  });

  it('waits for the sentinel alone on a line, not inside the echoed command', () => {
    expect(takeVirshReply('virsh # list --all\n Id   Name   State\n', 'bs-1')).toBeUndefined();
    expect(takeVirshReply('virsh # echo bs-1\n', 'bs-1')).toBeUndefined();
    expect(takeVirshReply('virsh # echo bs-1\nbs-1', 'bs-1')).toBeUndefined();
    expect(takeVirshReply('virsh # echo bs-1\nbs-1\nvirsh # ', 'bs-1')).toEqual({ reply: { lines: [], errors: [] }, rest: 'virsh # ' });
    // A token that is only a prefix of the line is not the sentinel.
    expect(takeVirshReply('bs-12\n', 'bs-1')).toBeUndefined();
    expect(takeVirshReply('bs-1\n', 'bs-1')).toEqual({ reply: { lines: [], errors: [] }, rest: '' });
  });

  it('drops the read-only prompt too', () => {
    expect(readVirshReply('virsh > list\nx\n\n').lines).toEqual(['x']);
  });
});

describe('virsh list parsing: bad vectors', () => {
  it('rejects output without the header', () => {
    const e = thrown(() => parseVirshList(['error-free but wrong', 'x']));
    expect(e.code).toBe('PROTOCOL');
    expect(e.message).toContain('no "Id Name State" header');
    expect(thrown(() => parseVirshList([])).message).toContain('empty');
  });

  it('rejects a header without its rule', () => {
    expect(thrown(() => parseVirshList([' Id   Name   State', ' 1    test   running'])).message).toContain('rule of dashes');
  });

  it('rejects a row without an Id, or without a name', () => {
    const e = thrown(() => parseVirshList([' Id   Name   State', '-----', ' x    test   running']));
    expect(e.code).toBe('PROTOCOL');
    expect(e.message).toContain('row 1');
    expect(thrown(() => parseVirshList([' Id   Name   State', '-----', ' 1    running'])).message).toContain('cannot tell the name from the state');
  });

  it('reads a state it does not know as unknown, splitting on the last run of blanks', () => {
    expect(parseVirshList([' Id   Name          State', '----', ' 3    my  guest     dreaming'])).toEqual([{ name: 'my  guest', state: 'unknown' }]);
  });

  it('maps each virsh state name', () => {
    expect(['running', 'idle', 'blocked', 'paused', 'pmsuspended', 'in shutdown', 'shut off', 'crashed', 'saved', 'no state', 'weird'].map(virshState)).toEqual([
      'running',
      'running',
      'running',
      'paused',
      'paused',
      'stopping',
      'off',
      'off',
      'saved',
      'unknown',
      'unknown',
    ]);
  });
});

describe('virsh quoting', () => {
  it('single-quotes names for virsh own parser', () => {
    expect(virshQuote('web')).toBe("'web'");
    expect(virshQuote('web server')).toBe("'web server'");
    expect(virshQuote("O'Brien #1")).toBe(`'O'\\''Brien #1'`);
    expect(virshQuote('a;b $c')).toBe("'a;b $c'");
  });

  it('names the domain with --domain so a name like --all is not an option', () => {
    expect(virshDomainCommand('start', '--all')).toBe("start --domain '--all'");
    expect(virshDomainCommand('managedsave', 'web server')).toBe("managedsave --domain 'web server'");
  });

  it('refuses names it cannot carry', () => {
    for (const bad of ['a\nb', 'tab\there', 'nul\u0000', 'del\u007f']) {
      const e = thrown(() => virshQuote(bad));
      expect(e.code).toBe('BAD_REQUEST');
      expect(e.message).toContain('control character');
    }
    expect(thrown(() => virshQuote('')).code).toBe('BAD_REQUEST');
  });

  it('says a failed connection is unreachable', () => {
    expect(virshError('libvirt x', 'list', undefined, ['failed to connect to the hypervisor']).code).toBe('UNREACHABLE');
  });
});

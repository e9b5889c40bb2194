/**
 * Quoting for POSIX sh: every argument goes inside single quotes, where the shell expands nothing;
 * a single quote itself is closed, escaped and reopened (`'it'\''s'`). The one thing sh cannot
 * carry through a command line safely is NUL, so it is refused; other control characters are
 * refused too, because a newline would end the command in a remote login shell's reader and they
 * never belong in a guest name or a path. Messages show commands with the same quoting, unchecked.
 */
import { BlackstartError } from '../core/errors';

// eslint-disable-next-line no-control-regex
const CONTROL = /[\u0000-\u001f\u007f]/;

// `=` is plain in an argument only: a first word `a=b` is an assignment.
const PLAIN_ARG = /^[A-Za-z0-9_./:=@%+-]+$/;
const PLAIN_PROGRAM = /^[A-Za-z0-9_./+-]+$/;

export function hasControlChars(text: string): boolean {
  return CONTROL.test(text);
}

/** `what` names the value in the error (`guest name "a\nb"` is shown JSON-escaped). */
export function shQuote(value: string, what = 'argument'): string {
  if (hasControlChars(value)) throw new BlackstartError('BAD_REQUEST', `${what} ${JSON.stringify(value)} holds a control character, which cannot be passed to a shell safely`);
  return singleQuoted(value);
}

/** A program path is written bare when sh would read it unchanged, so commands read as typed. */
export function shProgram(path: string, what = 'program'): string {
  return PLAIN_PROGRAM.test(path) ? path : shQuote(path, what);
}

/**
 * An argument as a message shows it, bare when sh would read it unchanged. Unchecked: a message
 * must show whatever it was given, and nothing shown this way is run.
 */
export function shownWord(arg: string): string {
  return PLAIN_ARG.test(arg) ? arg : singleQuoted(arg);
}

function singleQuoted(value: string): string {
  return `'${value.replace(/'/g, `'\\''`)}'`;
}

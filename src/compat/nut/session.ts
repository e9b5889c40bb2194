/**
 * One client connection's side of the NUT protocol: its USERNAME / PASSWORD / LOGIN state and the
 * answer to each request, in upsd's order of checks (so a client sees the ERR upsd would send).
 * The UPS data, the login counts and the FSD latch belong to the server, reached through
 * `NutBackend`; a session owns no socket, so it is tested line by line.
 */
import type { Logger } from '../../core/logger';
import { Secret } from '../../core/secret';
import { CMD_DESCRIPTIONS, NUMERIC_VARS, VAR_DESCRIPTIONS, errLine, listBlock, parseRequest, quoted, varLine, type NutErrorCode, type NutVars, type Request } from './codec';
import type { NutRole } from './config';

export interface NutUser {
  username: string;
  role: NutRole;
  /** Admin only: the commands it may run; undefined, any the UPS offers. */
  instcmds?: readonly string[];
}

export interface NutBackend {
  readonly version: string;
  /** Served UPS ids in LIST UPS order, with their descriptions. */
  list(): readonly { id: string; description: string }[];
  /** The served id a client's UPS name means (matched case-insensitively, as upsd does). */
  resolve(name: string): string | undefined;
  variables(id: string): NutVars;
  /** Instant commands the UPS offers, NUT names. */
  commands(id: string): readonly string[];
  numLogins(id: string): number;
  /** Addresses of the sessions logged into the UPS. */
  clients(id: string): readonly string[];
  /** The user whose name and password these are, or undefined. */
  authenticate(username: string, password: Secret): NutUser | undefined;
  login(session: NutSession, id: string): void;
  setFsd(id: string, by: string): void;
  /** Runs an instant command; resolves with the ERR code to answer, or undefined for OK. */
  instcmd(id: string, command: string, param: string | undefined, by: string): Promise<NutErrorCode | undefined>;
}

export interface Answer {
  /** The reply, every line `\n`-terminated. */
  text: string;
  /** Close the connection once it is written (LOGOUT). */
  close?: boolean;
}

const HELP = 'Commands: HELP VER GET LIST SET INSTCMD LOGIN LOGOUT USERNAME PASSWORD STARTTLS\n';
/** Commands that need USERNAME and PASSWORD first (upsd's FLAG_USER). */
const NEED_USER = new Set(['LOGIN', 'PRIMARY', 'MASTER', 'FSD', 'SET', 'INSTCMD']);
const RANK: Readonly<Record<NutRole, number>> = { secondary: 0, primary: 1, admin: 2 };

const err = (code: NutErrorCode): Answer => ({ text: errLine(code) });
const line = (text: string): Answer => ({ text: `${text}\n` });

export class NutSession {
  private username: string | undefined;
  private password: Secret | undefined;
  /** The UPS this session is logged into (counted in its NUMLOGINS). */
  loginUps: string | undefined;
  /** Who logged in, for logs and the FSD wait's report. */
  loginUser: string | undefined;

  constructor(
    /** The client's IP address, as LIST CLIENT shows it. */
    readonly address: string,
    private readonly backend: NutBackend,
    private readonly log: Logger,
  ) {}

  /** Who this is, for log lines: `user@address` once a username is set. */
  get who(): string {
    return this.username ? `${this.username}@${this.address}` : this.address;
  }

  /** The answer to one request line. Never rejects: a failure inside becomes an ERR. */
  async handle(text: string): Promise<Answer> {
    const parsed = parseRequest(text);
    if (!parsed.ok) {
      this.log.debug({ client: this.who, why: parsed.why, answer: parsed.error }, 'NUT: unreadable request');
      return err(parsed.error);
    }
    const req = parsed.request;
    if (NEED_USER.has(req.command)) {
      if (this.username === undefined) return err('USERNAME-REQUIRED');
      if (this.password === undefined) return err('PASSWORD-REQUIRED');
    }
    try {
      return await this.dispatch(req);
    } catch (e) {
      this.log.error({ client: this.who, command: req.command, err: (e as Error).message }, 'NUT: request failed');
      return err(req.command === 'INSTCMD' ? 'INSTCMD-FAILED' : 'INVALID-ARGUMENT');
    }
  }

  private dispatch(req: Request): Answer | Promise<Answer> {
    const a = req.args;
    switch (req.command) {
      case 'VER':
        return a.length ? err('INVALID-ARGUMENT') : line(`Network UPS Tools upsd-compatible Blackstart ${this.backend.version}`);
      case 'NETVER':
      case 'PROTVER':
        return a.length ? err('INVALID-ARGUMENT') : line('1.3');
      case 'HELP':
        return a.length ? err('INVALID-ARGUMENT') : { text: HELP };
      case 'STARTTLS':
        return err('FEATURE-NOT-CONFIGURED');
      case 'GET':
        return this.get(a);
      case 'LIST':
        return this.list(a);
      case 'USERNAME':
        if (a.length !== 1) return err('INVALID-ARGUMENT');
        if (this.username !== undefined) return err('ALREADY-SET-USERNAME');
        this.username = a[0];
        return line('OK');
      case 'PASSWORD':
        if (a.length !== 1) return err('INVALID-ARGUMENT');
        if (this.password !== undefined) return err('ALREADY-SET-PASSWORD');
        this.password = new Secret(a[0] as string, 'NUT client');
        return line('OK');
      case 'LOGIN':
        return this.login(a);
      case 'LOGOUT':
        if (a.length) return err('INVALID-ARGUMENT');
        return { text: 'OK Goodbye\n', close: true };
      case 'PRIMARY':
      case 'MASTER':
        return this.primary(req.command, a);
      case 'FSD':
        return this.fsd(a);
      case 'SET':
        return this.set(a);
      case 'INSTCMD':
        return this.instcmd(a);
      default:
        return err('UNKNOWN-COMMAND');
    }
  }

  private get(a: string[]): Answer {
    const [what, name, item] = a;
    if (what === undefined) return err('INVALID-ARGUMENT');
    const kind = what.toUpperCase();
    // No command tracking: every id is unknown to it.
    if (kind === 'TRACKING') return name === undefined ? line('OFF') : err('FEATURE-NOT-CONFIGURED');
    if (name === undefined) return err('INVALID-ARGUMENT');
    if (kind === 'UPSDESC') {
      const id = this.backend.resolve(name);
      if (!id) return err('UNKNOWN-UPS');
      const desc = this.backend.list().find((u) => u.id === id)?.description ?? 'Unavailable';
      return line(`UPSDESC ${name} ${quoted(desc)}`);
    }
    if (kind === 'NUMLOGINS') {
      const id = this.backend.resolve(name);
      if (!id) return err('UNKNOWN-UPS');
      if (this.backend.variables(id).stale) return err('DATA-STALE');
      return line(`NUMLOGINS ${name} ${this.backend.numLogins(id)}`);
    }
    if (item === undefined) return err('INVALID-ARGUMENT');
    if (kind === 'VAR' && item.toLowerCase().startsWith('server.')) return this.serverVar(name, item);
    if (kind !== 'VAR' && kind !== 'TYPE' && kind !== 'DESC' && kind !== 'CMDDESC') return err('INVALID-ARGUMENT');
    const id = this.backend.resolve(name);
    if (!id) return err('UNKNOWN-UPS');
    const v = this.backend.variables(id);
    const key = item.toLowerCase();
    const value = v.vars.get(key);
    if (kind === 'VAR') {
      if (value !== undefined) return { text: varLine(name, item, value) };
      return err(v.stale ? 'DATA-STALE' : 'VAR-NOT-SUPPORTED');
    }
    if (v.stale) return err('DATA-STALE');
    if (kind === 'DESC') return line(`DESC ${name} ${item} ${quoted(VAR_DESCRIPTIONS[key] ?? 'Description unavailable')}`);
    if (kind === 'CMDDESC') return line(`CMDDESC ${name} ${item} ${quoted(CMD_DESCRIPTIONS[key] ?? 'Description unavailable')}`);
    if (value === undefined) return err('VAR-NOT-SUPPORTED');
    return line(`TYPE ${name} ${item} ${NUMERIC_VARS.has(key) ? 'NUMBER' : `STRING:${Math.max(32, value.length)}`}`);
  }

  private serverVar(name: string, item: string): Answer {
    const key = item.toLowerCase();
    if (key === 'server.info') return { text: varLine(name, item, `Blackstart ${this.backend.version} (NUT network protocol 1.3)`) };
    if (key === 'server.version') return { text: varLine(name, item, this.backend.version) };
    return err('VAR-NOT-SUPPORTED');
  }

  private list(a: string[]): Answer {
    const [what, name, item] = a;
    if (what === undefined) return err('INVALID-ARGUMENT');
    const kind = what.toUpperCase();
    if (kind === 'UPS') {
      return { text: listBlock([what], this.backend.list().map((u) => `UPS ${u.id} ${quoted(u.description)}\n`)) };
    }
    if (name === undefined) return err('INVALID-ARGUMENT');
    const simple = kind === 'VAR' || kind === 'RW' || kind === 'CMD' || kind === 'CLIENT';
    if (!simple && (item === undefined || (kind !== 'ENUM' && kind !== 'RANGE'))) return err('INVALID-ARGUMENT');
    const id = this.backend.resolve(name);
    if (!id) return err('UNKNOWN-UPS');
    const args = simple ? [what, name] : [what, name, item as string];
    if (kind === 'CLIENT') return { text: listBlock(args, this.backend.clients(id).map((c) => `CLIENT ${name} ${c}\n`)) };
    const v = this.backend.variables(id);
    if (v.stale && (kind !== 'VAR' || v.vars.size === 0)) return err('DATA-STALE');
    switch (kind) {
      case 'VAR':
        return { text: listBlock(args, [...v.vars].map(([k, val]) => varLine(name, k, val))) };
      case 'RW':
        // Nothing is writable through Blackstart: the UPS is read from its source, not set here.
        return { text: listBlock(args, []) };
      case 'CMD':
        return { text: listBlock(args, this.backend.commands(id).map((c) => `CMD ${name} ${c}\n`)) };
      default:
        if (!v.vars.has((item as string).toLowerCase())) return err('VAR-NOT-SUPPORTED');
        return { text: listBlock(args, []) };
    }
  }

  /** The user these credentials name, if it may do `role`'s things; logs a refusal (never the password). */
  private allowed(role: NutRole, action: string, ups: string): NutUser | undefined {
    const user = this.backend.authenticate(this.username as string, this.password as Secret);
    if (user && RANK[user.role] >= RANK[role]) return user;
    this.log.warn({ client: this.who, action, ups, reason: user ? `role ${user.role}` : 'unknown user or wrong password' }, 'NUT: access denied');
    return undefined;
  }

  private login(a: string[]): Answer {
    if (a.length !== 1) return err('INVALID-ARGUMENT');
    if (this.loginUps !== undefined) return err('ALREADY-LOGGED-IN');
    const id = this.backend.resolve(a[0] as string);
    if (!id) return err('UNKNOWN-UPS');
    const user = this.allowed('secondary', 'LOGIN', id);
    if (!user) return err('ACCESS-DENIED');
    this.loginUps = id;
    this.loginUser = user.username;
    this.backend.login(this, id);
    return line('OK');
  }

  private primary(command: string, a: string[]): Answer {
    if (a.length !== 1) return err('INVALID-ARGUMENT');
    const id = this.backend.resolve(a[0] as string);
    if (!id) return err('UNKNOWN-UPS');
    if (!this.allowed('primary', command, id)) return err('ACCESS-DENIED');
    return line(`OK ${command}-GRANTED`);
  }

  private fsd(a: string[]): Answer {
    if (a.length !== 1) return err('INVALID-ARGUMENT');
    const id = this.backend.resolve(a[0] as string);
    if (!id) return err('UNKNOWN-UPS');
    if (!this.allowed('primary', 'FSD', id)) return err('ACCESS-DENIED');
    this.backend.setFsd(id, this.who);
    return line('OK FSD-SET');
  }

  private set(a: string[]): Answer {
    const [what, name, item, value] = a;
    if (what === undefined || name === undefined) return err('INVALID-ARGUMENT');
    const kind = what.toUpperCase();
    if (kind === 'TRACKING') {
      const v = name.toUpperCase();
      if (v === 'OFF') return line('OK');
      return err(v === 'ON' ? 'FEATURE-NOT-SUPPORTED' : 'INVALID-ARGUMENT');
    }
    if (kind !== 'VAR' || item === undefined || value === undefined) return err('INVALID-ARGUMENT');
    const id = this.backend.resolve(name);
    if (!id) return err('UNKNOWN-UPS');
    const v = this.backend.variables(id);
    if (v.stale) return err('DATA-STALE');
    return err(v.vars.has(item.toLowerCase()) ? 'READONLY' : 'VAR-NOT-SUPPORTED');
  }

  private async instcmd(a: string[]): Promise<Answer> {
    const [name, command, param] = a;
    if (name === undefined || command === undefined) return err('INVALID-ARGUMENT');
    const id = this.backend.resolve(name);
    if (!id) return err('UNKNOWN-UPS');
    if (this.backend.variables(id).stale) return err('DATA-STALE');
    const cmd = this.backend.commands(id).find((c) => c === command.toLowerCase());
    if (!cmd) return err('CMD-NOT-SUPPORTED');
    const user = this.allowed('admin', 'INSTCMD', id);
    if (!user) return err('ACCESS-DENIED');
    if (user.instcmds && !user.instcmds.includes(cmd)) {
      this.log.warn({ client: this.who, action: 'INSTCMD', ups: id, command: cmd, reason: 'not in the user\'s instcmds' }, 'NUT: access denied');
      return err('ACCESS-DENIED');
    }
    const code = await this.backend.instcmd(id, cmd, param, this.who);
    return code ? err(code) : line('OK');
  }
}

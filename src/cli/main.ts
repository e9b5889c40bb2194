#!/usr/bin/env node
import { Command, Option } from 'commander';
import { LOG_LEVELS } from '../core/logger';
import { agentCommand } from './agent';
import { checkCommand } from './check';
import { probeCommand, shutdownCommand, wakeCommand, type WakeOptions } from './host';
import { IPMI_VERBS, ipmiCommand, type IpmiOptions } from './ipmi';
import { runCommand } from './run';
import { DEFAULT_SCAN_PORTS, scanCommand, type ScanCliOptions } from './scan';
import { SIMULATE_HELP, simulateCommand, type SimulateCliOptions } from './simulate';
import { upsListCommand, upsStatusCommand, type UpsStatusOptions } from './ups';
import { version } from './version';
import { vmCommand } from './vm';
import { LIMITED_BROADCAST } from '../adapters/power/wol-config';

export function buildProgram(): Command {
  const program = new Command('blackstart')
    .description('Keeps a home lab alive through power cuts: UPS, IPMI, Wake-on-LAN and ordered shutdowns over MQTT.')
    .version(version(), '-V, --version')
    .addOption(new Option('--log-level <level>', 'log level (overrides the config)').choices(LOG_LEVELS))
    .showHelpAfterError();

  program
    .command('run')
    .description('run the daemon: watch the devices, publish state on MQTT, obey commands')
    .requiredOption('-c, --config <file>', 'YAML config file')
    .action(async (o: { config: string }) => {
      process.exitCode = await runCommand(o.config, program.opts<{ logLevel?: string }>());
    });

  program
    .command('check')
    .description('validate a config file: exit 0 with a summary, or 1 with every error and its path')
    .requiredOption('-c, --config <file>', 'YAML config file')
    .action((o: { config: string }) => {
      process.exitCode = checkCommand(o.config);
    });

  program
    .command('simulate')
    .description('run the outage plan against a simulated copy of the lab on a virtual clock: timeline, warnings, budget; exit 0 when it holds, 5 when not')
    .requiredOption('-c, --config <file>', 'YAML config file')
    .option('--outage-at <duration>', 'when mains fails, from the start (default 0s)')
    .option('--restore-at <duration>', 'when mains comes back, from the start (default 30m)')
    .option('--runtime <duration>', "battery runtime when mains fails (default: the simulated UPS's own, else outage.expected_runtime)")
    .option('--max <duration>', 'give up after this much virtual time (default: restore-at + 2h)')
    .option('--svg <file>', 'draw the timeline: host steps, battery charge and runtime, the budget line')
    .option('--json', 'print the whole result as JSON (snake_case keys, times in ms from the power cut)')
    .addHelpText('after', SIMULATE_HELP)
    .action(async (o: SimulateCliOptions) => {
      process.exitCode = await simulateCommand(o);
    });

  program
    .command('agent')
    .description('run on another server: report online over MQTT, shut this machine down when the hub says so, follow a UPS, relay Wake-on-LAN')
    .requiredOption('-c, --config <file>', 'YAML agent config file')
    .action(async (o: { config: string }) => {
      process.exitCode = await agentCommand(o.config, program.opts<{ logLevel?: string }>());
    });

  const ups = program.command('ups').description('read a UPS directly, without a config file');
  ups
    .command('status')
    .description('print the normalized state of one UPS (as published on MQTT); --watch follows changes')
    .argument('<url>', 'nut://[user@]host[:port]/<ups>, apcupsd://host[:port] or apcsmart:///dev/ttyX')
    .option('--json', 'print the state as JSON (one object per line with --watch)')
    .option('--watch', 'keep polling and print every change until interrupted')
    .option('--password-env <var>', 'NUT password from this environment variable')
    .option('--password-file <file>', 'NUT password from this file')
    .option('--login', 'NUT: log in as a secondary (checks the password; upsd counts the login)')
    .option('--interval <duration>', 'poll interval for --watch (default 1s, at least 250ms)')
    .option('--timeout <duration>', 'longest wait for one answer (default 3s)')
    .action(async (url: string, o: UpsStatusOptions) => {
      process.exitCode = await upsStatusCommand(url, { ...o, ...program.opts<{ logLevel?: string }>() });
    });

  ups
    .command('list')
    .description('list the UPS names a NUT server serves (like upsc -l)')
    .argument('<url>', 'nut://host[:port]')
    .option('--json', 'print a JSON array of {name, description}')
    .option('--timeout <duration>', 'longest wait for one answer (default 3s)')
    .action(async (url: string, o: { json?: boolean; timeout?: string }) => {
      process.exitCode = await upsListCommand(url, o);
    });

  program
    .command('ipmi')
    .description("drive a server's management board (BMC) over IPMI 2.0 / RMCP+, without ipmitool")
    .argument('<command>', IPMI_VERBS.join(' | '))
    .requiredOption('--host <host>', 'BMC address')
    .option('--port <port>', 'BMC UDP port (default 623)')
    .requiredOption('--user <name>', 'BMC user name ("" for the anonymous user)')
    .option('--password-env <var>', 'BMC password from this environment variable')
    .option('--password-file <file>', 'BMC password from this file')
    .option('--cipher <suite>', 'cipher suite: auto (default), 17, 3, 2, 1, 0, or ipmi15 for an IPMI 1.5 session')
    .option('--privilege <level>', 'user, operator (default) or administrator')
    .option('--timeout <duration>', 'wait per attempt (default 1s)')
    .option('--retries <n>', 'attempts after the first (default 4)')
    .option('--json', 'print JSON: status {"power": "on"|"off", ...}; sensors {"<name>": {value, unit, status}}')
    .action(async (verb: string, o: IpmiOptions) => {
      process.exitCode = await ipmiCommand(verb, { ...o, ...program.opts<{ logLevel?: string }>() });
    });

  program
    .command('wake')
    .description('send Wake-on-LAN magic packets to a host of the config, or to a MAC address')
    .argument('<host|MAC>', 'a host id from the config (with -c), or a MAC such as aa:bb:cc:dd:ee:ff')
    .option('-c, --config <file>', 'YAML config file (the host\'s wol block)')
    .option('--address <addr>', `destination, usually the LAN's directed broadcast (default ${LIMITED_BROADCAST})`)
    .option('--port <port>', 'UDP port (default 9)')
    .option('--password <secureon>', 'SecureOn password, 4 or 6 bytes (aa:bb:cc:dd or 1.2.3.4)')
    .option('--password-env <var>', 'SecureOn password from this environment variable')
    .option('--repeat <n>', 'packets to send (default 3)')
    .option('--json', 'print the result as JSON')
    .action(async (target: string, o: WakeOptions) => {
      process.exitCode = await wakeCommand(target, { ...o, ...program.opts<{ logLevel?: string }>() });
    });

  program
    .command('shutdown')
    .description("shut a host down by its declared method, then wait until it stops answering (or its BMC reads off)")
    .argument('<host>', 'host id from the config')
    .requiredOption('-c, --config <file>', 'YAML config file')
    .option('--dry-run', 'check the way in (login, host key, BMC) and say what would be sent, without shutting anything down')
    .option('--json', 'print the result as JSON (as on blackstart/host/<host>/result)')
    .action(async (host: string, o: { config: string; dryRun?: boolean; json?: boolean }) => {
      process.exitCode = await shutdownCommand(host, { ...o, ...program.opts<{ logLevel?: string }>() });
    });

  program
    .command('probe')
    .description("probe a host once as its probe block says; exit 0 when it answers, 4 when it does not")
    .argument('<host>', 'host id from the config')
    .requiredOption('-c, --config <file>', 'YAML config file')
    .option('--json', 'print the host state as JSON (as on blackstart/host/<host>)')
    .action(async (host: string, o: { config: string; json?: boolean }) => {
      process.exitCode = await probeCommand(host, { ...o, ...program.opts<{ logLevel?: string }>() });
    });

  program
    .command('vm')
    .description("a host's guests as its hypervisor reports them, or one guest action (start, shutdown, save, off), waiting for the outcome")
    .argument('<host>', 'host id from the config (with a vms block)')
    .argument('[guest]', 'guest id from the host\'s vms.guests')
    .argument('[action]', 'start | shutdown | save | off')
    .requiredOption('-c, --config <file>', 'YAML config file')
    .option('--json', 'print JSON (as on blackstart/host/<host>/vm/<guest> and its /result)')
    .action(async (host: string, guest: string | undefined, action: string | undefined, o: { config: string; json?: boolean }) => {
      process.exitCode = await vmCommand(host, guest, action, { ...o, ...program.opts<{ logLevel?: string }>() });
    });

  program
    .command('scan')
    .description('find the machines on a subnet (TCP, ICMP, RMCP presence on 623/UDP, neighbour table, reverse DNS); print them or add them to a config')
    .argument('<cidr>', 'IPv4 range such as 192.168.1.0/24 (at most a /16 without --force)')
    .option('--ports <list>', `TCP ports to try (default ${DEFAULT_SCAN_PORTS})`)
    .option('--json', 'print the result as JSON')
    .option('--write <file>', 'add the hosts not already there to this config file (checked before it is replaced)')
    .option('--timeout <duration>', 'wait per probe (default 500ms)')
    .option('--concurrency <n>', 'TCP connects in flight at once (default 256)')
    .option('--force', 'scan a range larger than a /16 (up to a /12)')
    .option('--no-icmp', 'skip the ICMP echo sweep')
    .option('--no-dns', 'skip reverse DNS lookups')
    .action(async (cidr: string, o: ScanCliOptions) => {
      process.exitCode = await scanCommand(cidr, o);
    });

  return program;
}

if (require.main === module) {
  buildProgram()
    .parseAsync(process.argv)
    .catch((err: unknown) => {
      process.stderr.write(`blackstart: ${(err as Error).message}\n`);
      process.exitCode = 1;
    });
}

/**
 * A small LAN made of network namespaces for `blackstart scan`: a "scanner" namespace holding a
 * bridge, and hosts joined to it by veth pairs, each with a fixed MAC, TCP listeners and
 * optionally an RMCP presence responder. The real interfaces get nothing, so nothing leaves.
 */
import { existsSync, mkdirSync, readdirSync, rmdirSync, rmSync, writeFileSync } from 'node:fs';
import type { ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import type { PtrZone, QueryLog } from './dns-ptr';
import { deleteNamespace, ip, spawnNodeIn } from './netns';
import { repoRoot } from './repo';

export interface LabHost {
  address: string;
  mac: string;
  tcp: number[];
  bmc?: boolean;
}

export interface ScanLab {
  scanner: string;
  namespaces: string[];
  stop(): Promise<void>;
}

function responderScript(): string {
  const codec = join(repoRoot(), 'dist/src/adapters/ipmi/codec-rmcp.js');
  return `
const net = require('node:net'); const dgram = require('node:dgram');
const { decodeRmcpHeader, encodeAsfPong } = require(${JSON.stringify(codec)});
const [tcp, bmc] = process.argv.slice(1);
// The scanner hangs up with a reset; that is its way of saying goodbye, not a failure here.
let pending = 0; const ready = () => { if (--pending === 0) process.stdout.write('ready\\n'); };
for (const p of tcp.split(',').filter(Boolean)) { pending++; net.createServer((s) => { s.on('error', () => {}); s.end(); }).listen(Number(p), '0.0.0.0', ready); }
if (bmc === 'bmc') {
  pending++;
  const u = dgram.createSocket('udp4');
  u.on('message', (m, r) => {
    try { decodeRmcpHeader(m); } catch { return; }
    if (m.length >= 12 && m[8] === 0x80) u.send(encodeAsfPong({ tag: m[9], oem: 0, ipmiSupported: true, asfVersion: 1, interactions: 0 }), r.port, r.address);
  });
  u.bind(623, '0.0.0.0', ready);
}
if (pending === 0) { pending = 1; ready(); }
`;
}

function sysctlQuiet(ns: string): void {
  // IPv6 link-local chatter (ND, MLD) would only add noise to the scanner's neighbour table.
  ip('netns', 'exec', ns, 'sysctl', '-qw', 'net.ipv6.conf.all.disable_ipv6=1');
}

export async function startScanLab(tag: string, subnet: string, scannerAddress: string, hosts: readonly LabHost[]): Promise<ScanLab> {
  const scanner = `bs-${tag}-scan`;
  const namespaces = [scanner, ...hosts.map((_, i) => `bs-${tag}-h${i}`)];
  const children: ChildProcess[] = [];
  // ip netns exec bind-mounts this over /etc/resolv.conf: reverse DNS then asks loopback only.
  const etc = `/etc/netns/${scanner}`;
  const madeEtcNetns = !existsSync('/etc/netns');
  const lab: ScanLab = {
    scanner,
    namespaces,
    async stop() {
      for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
      await Promise.all(children.map((c) => (c.exitCode === null && c.signalCode === null ? new Promise((r) => c.once('exit', r)) : undefined)));
      for (const ns of namespaces) deleteNamespace(ns);
      rmSync(etc, { recursive: true, force: true });
      if (madeEtcNetns && existsSync('/etc/netns') && readdirSync('/etc/netns').length === 0) rmdirSync('/etc/netns');
    },
  };
  try {
    mkdirSync(etc, { recursive: true });
    writeFileSync(join(etc, 'resolv.conf'), 'nameserver 127.0.0.1\noptions timeout:1 attempts:1\n');
    for (const ns of namespaces) {
      ip('netns', 'add', ns);
      ip('-n', ns, 'link', 'set', 'lo', 'up');
      sysctlQuiet(ns);
    }
    ip('-n', scanner, 'link', 'add', 'br0', 'type', 'bridge');
    ip('-n', scanner, 'addr', 'add', `${scannerAddress}/${subnet.split('/')[1]}`, 'dev', 'br0');
    ip('-n', scanner, 'link', 'set', 'br0', 'up');
    for (const [i, h] of hosts.entries()) {
      const ns = namespaces[i + 1] as string;
      ip('link', 'add', `vh${i}`, 'netns', scanner, 'type', 'veth', 'peer', 'name', 'eth0', 'netns', ns);
      ip('-n', scanner, 'link', 'set', `vh${i}`, 'master', 'br0');
      ip('-n', scanner, 'link', 'set', `vh${i}`, 'up');
      ip('-n', ns, 'link', 'set', 'eth0', 'address', h.mac);
      ip('-n', ns, 'addr', 'add', `${h.address}/${subnet.split('/')[1]}`, 'dev', 'eth0');
      ip('-n', ns, 'link', 'set', 'eth0', 'up');
      const child = spawnNodeIn(ns, ['-e', responderScript(), '--', h.tcp.join(','), h.bmc ? 'bmc' : '']);
      children.push(child);
      await new Promise<void>((resolve, reject) => {
        let out = '';
        let err = '';
        child.stdout?.on('data', (d: Buffer) => {
          out += d.toString();
          if (out.includes('ready')) resolve();
        });
        child.stderr?.on('data', (d: Buffer) => (err += d.toString()));
        child.once('exit', (code) => reject(new Error(`responder in ${ns} exited ${code}: ${err}`)));
      });
    }
    return lab;
  } catch (err) {
    await lab.stop();
    throw err;
  }
}

export interface PtrServer {
  /** Every query the server saw, in order, with what it did about it. */
  queries: QueryLog[];
  stop(): Promise<void>;
}

function ptrServerScript(): string {
  const codec = join(repoRoot(), 'dist/test/helpers/dns-ptr.js');
  return `
const dgram = require('node:dgram');
const { servePtr } = require(${JSON.stringify(codec)});
const zone = JSON.parse(process.argv[1]);
const u = dgram.createSocket('udp4');
u.on('error', (e) => { process.stderr.write(String(e.stack) + '\\n'); process.exit(1); });
servePtr(u, zone, (q) => process.stdout.write('query ' + JSON.stringify(q) + '\\n'), (why) => process.stdout.write('bad ' + JSON.stringify(why) + '\\n'));
u.bind(53, '127.0.0.1', () => process.stdout.write('ready\\n'));
`;
}

/**
 * A DNS server for reverse lookups on 127.0.0.1:53 inside `ns`, where the lab's resolv.conf
 * points. A packet it cannot parse fails the test at stop(), so a codec bug is not mistaken
 * for a name that does not resolve.
 */
export async function startPtrServer(ns: string, zone: PtrZone): Promise<PtrServer> {
  const child = spawnNodeIn(ns, ['-e', ptrServerScript(), '--', JSON.stringify(zone)]);
  const queries: QueryLog[] = [];
  const bad: string[] = [];
  let err = '';
  let pending = '';
  child.stderr?.on('data', (d: Buffer) => (err += d.toString()));
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  await new Promise<void>((resolve, reject) => {
    child.stdout?.on('data', (d: Buffer) => {
      pending += d.toString();
      const lines = pending.split('\n');
      pending = lines.pop() ?? '';
      for (const line of lines) {
        if (line === 'ready') resolve();
        else if (line.startsWith('query ')) queries.push(JSON.parse(line.slice(6)) as QueryLog);
        else if (line.startsWith('bad ')) bad.push(JSON.parse(line.slice(4)) as string);
      }
    });
    child.once('exit', (code) => reject(new Error(`PTR server in ${ns} exited ${code} before listening on 127.0.0.1:53: ${err.trim()}`)));
  });
  return {
    queries,
    async stop() {
      if (child.exitCode === null && child.signalCode === null) {
        child.kill('SIGKILL');
        await exited;
      }
      if (bad.length) throw new Error(`PTR server in ${ns} could not parse ${bad.length} packet(s): ${bad.join('; ')}`);
    },
  };
}

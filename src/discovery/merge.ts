/**
 * Adds discovered hosts to a config file's text. The new entries are rendered with the yaml
 * Document API and spliced in as text at the end of the `hosts:` block, so every byte written
 * by hand (comments, quoting, flow maps, blank lines) stays exactly as it was.
 */
import { isMap, isScalar, isSeq, parseDocument, stringify, type Document, type YAMLMap } from 'yaml';
import { normalMac } from '../adapters/power/wol-codec';
import { BlackstartError } from '../core/errors';
import { deriveHostId } from './host-id';
import type { FoundHost } from './scan';

export interface MergeResult {
  text: string;
  added: { id: string; address: string }[];
  /** Already in the file: the existing id and what matched. */
  skipped: { address: string; id: string; by: 'address' | 'mac' | 'name' }[];
}

interface Existing {
  ids: Set<string>;
  byAddress: Map<string, string>;
  byMac: Map<string, string>;
}

function existingHosts(hosts: unknown): Existing {
  const e: Existing = { ids: new Set(), byAddress: new Map(), byMac: new Map() };
  if (!hosts || typeof hosts !== 'object') return e;
  for (const [id, h] of Object.entries(hosts as Record<string, Record<string, unknown> | null>)) {
    e.ids.add(id);
    const probe = h?.probe as Record<string, unknown> | undefined;
    for (const a of [h?.address, probe?.address]) if (typeof a === 'string') e.byAddress.set(a.toLowerCase().replace(/\.$/, ''), id);
    const mac = normalMac((h?.wol as Record<string, unknown> | undefined)?.mac);
    if (mac) e.byMac.set(mac, id);
  }
  return e;
}

/** One entry's YAML, comments included, at the left margin. */
function renderEntry(id: string, h: FoundHost, date: string): string {
  const entry: Record<string, unknown> = { address: h.address, probe: h.openPorts.length ? { tcp: h.openPorts } : { icmp: true } };
  if (h.mac) entry.wol = { mac: h.mac };
  const doc = parseDocument(stringify({ [id]: entry }));
  const pair = (doc.contents as YAMLMap).items[0];
  if (pair && isScalar(pair.key)) {
    const found = [`found by blackstart scan ${date}${h.name ? ` (${h.name})` : ''}`];
    if (h.bmc) found.push(`likely BMC at ${h.address} (answered an RMCP presence ping on 623/UDP)`);
    pair.key.commentBefore = ` ${found.join(': ')}`;
  }
  const tcp = doc.getIn([id, 'probe', 'tcp'], true);
  if (isSeq(tcp)) tcp.flow = true;
  const mac = doc.getIn([id, 'wol', 'mac'], true);
  if (isScalar(mac)) mac.comment = " set wol.address to this LAN's directed broadcast (a.b.c.255 on a /24)";
  return doc.toString();
}

function indent(text: string, by: number): string {
  const pad = ' '.repeat(by);
  return text
    .split('\n')
    .map((l) => (l ? pad + l : l))
    .join('\n');
}

function lineStart(text: string, offset: number): number {
  return text.lastIndexOf('\n', offset - 1) + 1;
}

export function mergeFoundHosts(text: string, found: readonly FoundHost[], date: string): MergeResult {
  const doc: Document = parseDocument(text);
  if (doc.errors.length) throw new BlackstartError('CONFIG', `the file is not valid YAML: ${doc.errors[0]?.message.split('\n')[0]}`);
  const existing = existingHosts((doc.toJS() as Record<string, unknown> | null)?.hosts);
  const added: MergeResult['added'] = [];
  const skipped: MergeResult['skipped'] = [];
  const blocks: string[] = [];
  for (const h of found) {
    // A hand-written entry often names the host (address: nas.lan) where the scan saw its IP.
    const name = h.name?.replace(/\.$/, '').toLowerCase();
    const match: [string | undefined, 'address' | 'mac' | 'name'][] = [
      [existing.byAddress.get(h.address), 'address'],
      [h.mac ? existing.byMac.get(h.mac) : undefined, 'mac'],
      [name ? existing.byAddress.get(name) : undefined, 'name'],
    ];
    const hit = match.find(([id]) => id !== undefined);
    if (hit) {
      skipped.push({ address: h.address, id: hit[0] as string, by: hit[1] });
      continue;
    }
    const id = deriveHostId(h.address, h.name ?? undefined, existing.ids);
    existing.ids.add(id);
    added.push({ id, address: h.address });
    blocks.push(renderEntry(id, h, date));
  }
  if (blocks.length === 0) return { text, added, skipped };
  return { text: splice(text, doc, blocks.join('')), added, skipped };
}

function splice(text: string, doc: Document, entries: string): string {
  const hosts = doc.get('hosts', true);
  if (hosts === undefined) {
    const sep = text === '' || text.endsWith('\n') ? '' : '\n';
    return `${text}${sep}hosts:\n${indent(entries, 2)}`;
  }
  if (isMap(hosts) && !hosts.flow && hosts.items.length > 0 && hosts.range) {
    const first = hosts.items[0]?.key as { range?: [number, number, number] } | undefined;
    const at0 = first?.range?.[0] ?? hosts.range[0];
    const by = at0 - lineStart(text, at0);
    const end = hosts.range[1];
    const head = text.slice(0, end);
    return `${head}${head.endsWith('\n') ? '' : '\n'}${indent(entries, by)}${text.slice(end)}`;
  }
  if ((isScalar(hosts) && hosts.value === null) || (isMap(hosts) && hosts.items.length === 0)) {
    // `hosts:` or `hosts: {}`: nothing hand-written inside, so the value can be rewritten.
    const block = parseDocument(entries).contents;
    doc.set('hosts', block);
    return doc.toString();
  }
  throw new BlackstartError('UNSUPPORTED', 'hosts is written as a flow map ({...}) with entries: rewrite it as a block map to let scan add to it');
}

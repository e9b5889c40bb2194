/**
 * Plain HAP over HTTP, as an unpaired controller can use it on a Homebridge started with `-I`
 * (insecure): reads need nothing, writes carry `Authorization: <pin>`. The request runs inside the
 * namespace Homebridge runs in, with node's http, so no mDNS-capable client is involved.
 */
import { runNodeIn } from './netns';

const SCRIPT = `
const [port, method, path, pin, body] = process.argv.slice(1);
const req = require('http').request({ host: '127.0.0.1', port: Number(port), method, path,
  headers: { Authorization: pin, 'Content-Type': 'application/hap+json' } }, (res) => {
  let data = '';
  res.on('data', (d) => (data += d));
  res.on('end', () => console.log(JSON.stringify({ status: res.statusCode, body: data })));
});
req.on('error', (e) => { console.log(JSON.stringify({ status: 0, body: e.message })); });
if (body) req.write(body);
req.end();
`;

export interface HapResponse {
  status: number;
  body: string;
}

export async function hapRequest(ns: string, port: number, pin: string, method: 'GET' | 'PUT', path: string, body?: unknown): Promise<HapResponse> {
  const out = await runNodeIn(ns, SCRIPT, [String(port), method, path, pin, body === undefined ? '' : JSON.stringify(body)]);
  return JSON.parse(out) as HapResponse;
}

export interface HapCharacteristic {
  iid: number;
  type: string;
  value?: unknown;
}
export interface HapService {
  iid: number;
  type: string;
  characteristics: HapCharacteristic[];
}
export interface HapAccessory {
  aid: number;
  services: HapService[];
}

/** Apple's short form: `00000049-0000-1000-8000-0026BB765291` → `49`. */
export function shortType(type: string): string {
  return type.toUpperCase().replace(/-0000-1000-8000-0026BB765291$/, '').replace(/^0+/, '');
}

export const HAP_TYPES = {
  accessoryInformation: '3E',
  name: '23',
  switch: '49',
  on: '25',
  battery: '96',
  batteryLevel: '68',
  chargingState: '8F',
  statusLowBattery: '79',
  contactSensor: '80',
  contactSensorState: '6A',
} as const;

export function accessoryName(a: HapAccessory): string | undefined {
  const info = a.services.find((s) => shortType(s.type) === HAP_TYPES.accessoryInformation);
  return info?.characteristics.find((c) => shortType(c.type) === HAP_TYPES.name)?.value as string | undefined;
}

/** `aid.iid` of a characteristic of a service, both by short type. */
export function charId(a: HapAccessory, service: string, characteristic: string): string {
  const s = a.services.find((x) => shortType(x.type) === service);
  const c = s?.characteristics.find((x) => shortType(x.type) === characteristic);
  if (!c) throw new Error(`accessory ${a.aid} (${accessoryName(a)}) has no ${service}/${characteristic}`);
  return `${a.aid}.${c.iid}`;
}

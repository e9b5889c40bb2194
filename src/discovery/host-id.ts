/** Host ids for discovered machines; they become MQTT topic segments, hence the strict form. */
import { DEVICE_ID } from '../core/state';

/** `NAS-01.lan.` → `nas-01`: the first label only, since the domain is the same for the whole LAN. */
export function idFromName(name: string): string | undefined {
  const label = name.trim().replace(/\.$/, '').split('.')[0] ?? '';
  const id = label
    .toLowerCase()
    .replace(/[^a-z0-9_-]+/g, '-')
    .replace(/^[-_]+/, '')
    .replace(/-+$/, '');
  return DEVICE_ID.test(id) ? id : undefined;
}

export function idFromAddress(address: string): string {
  return `host-${address.split('.').join('-')}`;
}

/** A name-derived id when there is one, made unique against `taken` with a numeric suffix. */
export function deriveHostId(address: string, name: string | undefined, taken: ReadonlySet<string>): string {
  const base = (name && idFromName(name)) || idFromAddress(address);
  let id = base;
  for (let i = 2; taken.has(id); i++) id = `${base}-${i}`;
  return id;
}

/** The names Homebridge knows the plugin and its platform by (config.json's `platform`). */
export const PLUGIN_NAME = 'homebridge-blackstart';
export const PLATFORM_NAME = 'Blackstart';

/** Accessory UUIDs derive from these, so an accessory survives restarts and keeps its room and automations. */
export const accessoryKey = (kind: 'host' | 'ups', id: string): string => `blackstart:${kind}:${id}`;

/** A guest's key holds its host: guest ids are only unique per hypervisor. */
export const guestKey = (host: string, guest: string): string => `blackstart:vm:${host}/${guest}`;

/** Homebridge 2 ships as an ES module; this CommonJS plugin only needs its types, imported here once. */
export type { API, CharacteristicValue, DynamicPlatformPlugin, HAP, Logging, PlatformAccessory, PlatformConfig, Service } from 'homebridge' with { 'resolution-mode': 'import' };

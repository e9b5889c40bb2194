/** The IPMI LAN codec, pure (no sockets): one import for the session, client and tests. */
export * from './codec-bytes';
export * from './codec-rmcp';
export * from './codec-message';
export * from './codec-rakp';

/**
 * Xen through xl, one command per action, on this machine (the Blackstart host is dom0) or over
 * ssh. The command texts and the listing's parser are in xl-codec.ts.
 */
import type { XenConfig } from './config';
import { OneShotDriver, type GuestAction, type OneShotCodec, type OneShotDeps } from './one-shot-driver';
import { parseXlList, xlDestroyCommand, xlError, xlListCommand, xlSaveCommand, xlShutdownCommand, xlStartCommand } from './xl-codec';

export type XenDeps = OneShotDeps;

type XenCfg = Pick<XenConfig, 'xl' | 'saveDir' | 'timeout'>;

const COMMANDS = { shutdown: xlShutdownCommand, save: xlSaveCommand, off: xlDestroyCommand, start: xlStartCommand };

function xlCodec(cfg: XenCfg): OneShotCodec {
  return {
    tool: 'xl',
    // xl lists running domains only: one it does not list is off.
    listsAll: false,
    listName: 'list',
    listCommand: () => xlListCommand(cfg),
    parseList: parseXlList,
    actionName: (action: GuestAction) => (action === 'off' ? 'destroy' : action),
    actionCommand: (action, guest) => COMMANDS[action](cfg, guest),
    error: xlError,
  };
}

export class XenHypervisor extends OneShotDriver {
  constructor(cfg: XenCfg, deps: XenDeps) {
    const via = deps.transport.describe();
    super(via === 'local' ? 'xen (xl on this machine)' : `xen over ${via}`, cfg.timeout, xlCodec(cfg), deps);
  }
}

/**
 * Hyper-V through PowerShell over Windows' OpenSSH server, one command per action. The scripts,
 * their encoding and the listing's parser are in hyperv-codec.ts.
 */
import type { HypervConfig } from './config';
import { actionScript, encodeCommand, hypervError, LIST_SCRIPT, parseHypervList } from './hyperv-codec';
import { OneShotDriver, type OneShotCodec, type OneShotDeps } from './one-shot-driver';

/** An ssh transport in practice: Hyper-V is never this machine. */
export type HypervDeps = OneShotDeps;

const HYPERV_CODEC: OneShotCodec = {
  tool: 'Hyper-V',
  listsAll: true,
  listName: 'Get-VM',
  listCommand: () => encodeCommand(LIST_SCRIPT),
  parseList: parseHypervList,
  actionName: (action) => action,
  actionCommand: (action, guest) => encodeCommand(actionScript(action, guest.name)),
  error: hypervError,
};

export class HypervHypervisor extends OneShotDriver {
  constructor(cfg: Pick<HypervConfig, 'timeout'>, deps: HypervDeps) {
    super(`hyperv over ${deps.transport.describe()}`, cfg.timeout, HYPERV_CODEC, deps);
  }
}

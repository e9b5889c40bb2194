import { BlackstartError } from '../../../core/errors';
import type { SourceDeps, UpsSource } from '../source';
import type { ApcSmartConfig } from './config';

export { apcSmartSchema, type ApcSmartConfig, APC_SMART_COMMANDS } from './config';

export function createApcSmartSource(cfg: ApcSmartConfig, deps: SourceDeps): UpsSource {
  void cfg;
  void deps;
  throw new BlackstartError('UNSUPPORTED', 'APC smart source: being written (issue 3)');
}

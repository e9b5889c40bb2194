import { BlackstartError } from '../../../core/errors';
import type { SourceDeps, UpsSource } from '../source';
import type { ApcupsdConfig } from './config';

export { apcupsdSchema, type ApcupsdConfig } from './config';

export function createApcupsdSource(cfg: ApcupsdConfig, deps: SourceDeps): UpsSource {
  void cfg;
  void deps;
  throw new BlackstartError('UNSUPPORTED', 'apcupsd source: being written (issue 3)');
}

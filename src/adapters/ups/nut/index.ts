import { BlackstartError } from '../../../core/errors';
import type { SourceDeps, UpsSource } from '../source';
import type { NutConfig } from './config';

export { nutSchema, type NutConfig } from './config';

export function createNutSource(cfg: NutConfig, deps: SourceDeps): UpsSource {
  void cfg;
  void deps;
  throw new BlackstartError('UNSUPPORTED', 'NUT source: being written (issue 3)');
}

import { ConfigError, parseConfig, type ConfigIssue } from '../../src/config/loader';

/** The issues a config text is rejected with; fails the test when it is accepted. */
export function issuesOf(text: string, env: NodeJS.ProcessEnv = {}, baseDir?: string): ConfigIssue[] {
  try {
    parseConfig(text, { env, ...(baseDir ? { baseDir } : {}) });
  } catch (err) {
    if (err instanceof ConfigError) return err.issues;
    throw err;
  }
  throw new Error('expected the config to be rejected');
}

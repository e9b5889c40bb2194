import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';

/** The repository root (tests run from dist/test/…, so walk up to our package.json). */
export function repoRoot(): string {
  let dir = __dirname;
  while (dir !== dirname(dir)) {
    const pkg = join(dir, 'package.json');
    if (existsSync(pkg) && (JSON.parse(readFileSync(pkg, 'utf8')) as { name?: string }).name === 'blackstart') return dir;
    dir = dirname(dir);
  }
  throw new Error('repository root not found');
}

export const cliPath = (): string => join(repoRoot(), 'dist/src/cli/main.js');

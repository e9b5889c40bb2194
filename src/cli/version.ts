import { readFileSync } from 'node:fs';
import { join } from 'node:path';

/** The package version, read from the package.json this file ships in. */
export function version(): string {
  for (const up of ['../../..', '../..']) {
    try {
      const pkg = JSON.parse(readFileSync(join(__dirname, up, 'package.json'), 'utf8')) as { name?: string; version?: string };
      if (pkg.name === 'blackstart' && pkg.version) return pkg.version;
    } catch {
      // not at this level; try the next
    }
  }
  return '0.0.0';
}

// Paths to files shipped with the package (assets/), found from this module's location in src/ or dist/src/.
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The package's root directory (the one holding package.json). */
export function packageRoot(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  while (!existsSync(join(dir, 'package.json'))) {
    const parent = dirname(dir);
    if (parent === dir) throw new Error('packageRoot: no package.json above this module');
    dir = parent;
  }
  return dir;
}

/** The path of a bundled asset, e.g. asset('tiny-shakespeare-200k.txt'). */
export function asset(name: string): string {
  return join(packageRoot(), 'assets', name);
}

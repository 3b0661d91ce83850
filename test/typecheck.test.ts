// The tests, benchmarks and scripts run through tsx, which strips types without checking them, and the build checks
// only src/: this compiles all of them under the strict settings, so a test that no longer typechecks fails here.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));

test('src, test, bench and scripts typecheck (tsconfig.check.json)', () => {
  const tsc = createRequire(import.meta.url).resolve('typescript/bin/tsc');
  const r = spawnSync(process.execPath, [tsc, '-p', 'tsconfig.check.json', '--noEmit'], { cwd: root, encoding: 'utf8' });
  assert.equal(r.status, 0, `tsc -p tsconfig.check.json reported:\n${r.stdout}${r.stderr}`);
});

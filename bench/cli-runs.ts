// What the suites that drive the CLI share: running `pretrain ... --json` in a child process, and directories of
// pretrained models cached under a key of their settings, so a rerun makes only what changed.
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { SHARED_DATA } from './peer.js';

const CLI = fileURLToPath(new URL('../src/cli/main.ts', import.meta.url));

/** Runs `pretrain ...args --json` and returns its last JSON line; throws with the end of stderr when it fails. */
export function pretrain(args: string[]): Record<string, unknown> {
  const started = performance.now();
  const res = spawnSync(process.execPath, ['--import', 'tsx', CLI, ...args, '--json'], { encoding: 'utf8', maxBuffer: 256 << 20 });
  if (res.status !== 0) throw new Error(`pretrain ${args.join(' ')} failed:\n${(res.stderr || '').trim().split('\n').slice(-8).join('\n')}`);
  const last = res.stdout.trim().split('\n').filter((l) => l.startsWith('{')).pop();
  if (!last) throw new Error(`pretrain ${args.join(' ')} printed no JSON`);
  const shown = args.map((a) => a.replace(SHARED_DATA, '…/')).join(' ');
  console.error(`  ${((performance.now() - started) / 1000).toFixed(0)} s  pretrain ${shown.length > 240 ? `${shown.slice(0, 240)}…` : shown}`);
  return JSON.parse(last) as Record<string, unknown>;
}

/** A directory under `root` made once by `build` (into a temporary sibling, renamed when complete). */
export async function cachedDir(root: string, name: string, key: unknown, build: (dir: string) => void | Promise<void>): Promise<string> {
  const dir = join(root, `${name}-${createHash('sha1').update(JSON.stringify(key)).digest('hex').slice(0, 10)}`);
  if (existsSync(join(dir, 'done'))) { console.error(`cached: ${dir}`); return dir; }
  const tmp = `${dir}.tmp-${process.pid}`;
  rmSync(tmp, { recursive: true, force: true });
  mkdirSync(tmp, { recursive: true });
  console.error(`making ${name} (${JSON.stringify(key)})`);
  await build(tmp);
  writeFileSync(join(tmp, 'done'), new Date().toISOString());
  rmSync(dir, { recursive: true, force: true });
  renameSync(tmp, dir);
  return dir;
}

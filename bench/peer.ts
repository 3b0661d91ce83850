// Runs a peer script (../shared/peers or bench/peers) and returns its JSON lines; null, with a reason, when it cannot.
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

/** The shared peers folder beside the project. */
export const SHARED_PEERS = fileURLToPath(new URL('../../shared/peers/', import.meta.url));
/** The shared data folder beside the project. */
export const SHARED_DATA = fileURLToPath(new URL('../../shared/data/', import.meta.url));
/** Debian's Python, which has python3-torch and python3-gensim. */
export const PYTHON = '/usr/bin/python3';

/** Runs `python script args` and parses each stdout line that is a JSON object; prints why on failure. */
export function runPython(script: string, args: string[], timeoutMs = 30 * 60_000): Record<string, unknown>[] | null {
  if (!existsSync(PYTHON)) { console.error(`peer skipped: ${PYTHON} is missing (apt-get install -y python3-torch)`); return null; }
  if (!existsSync(script)) { console.error(`peer skipped: ${script} is missing`); return null; }
  const res = spawnSync(PYTHON, [script, ...args], { encoding: 'utf8', timeout: timeoutMs, maxBuffer: 64 << 20 });
  if (res.status !== 0) {
    console.error(`peer failed: ${PYTHON} ${script} ${args.join(' ')}\n${(res.stderr ?? '').trim().split('\n').slice(-5).join('\n')}`);
    return null;
  }
  return res.stdout.split('\n').filter((l) => l.startsWith('{')).map((l) => JSON.parse(l) as Record<string, unknown>);
}

// Runs a peer script (../shared/peers or bench/peers) and returns its JSON lines; null, with a reason, when it cannot.
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

/** The shared folder: PRETRAIN_SHARED where set (a copy carried to the GPU machine), else ../shared beside the project. */
const SHARED = process.env.PRETRAIN_SHARED ? `${process.env.PRETRAIN_SHARED.replace(/\/$/, '')}/` : fileURLToPath(new URL('../../shared/', import.meta.url));
/** The shared peers folder. */
export const SHARED_PEERS = `${SHARED}peers/`;
/** The shared data folder. */
export const SHARED_DATA = `${SHARED}data/`;
/**
 * The peers' Python: PRETRAIN_PYTHON where set (the GPU machine's PyTorch lives in its own environment, e.g.
 * /opt/torch/.venv/bin/python3), else Debian's, which has python3-torch and python3-gensim.
 */
export const PYTHON = process.env.PRETRAIN_PYTHON || '/usr/bin/python3';

/**
 * The environment for a PyTorch peer. Debian's PyTorch does its GEMMs in OpenBLAS, which picks its kernels by CPU model;
 * OpenBLAS 0.3.21 does not know newer models (e.g. Xeon family 6 model 207) and falls back to its SSE3 "Prescott"
 * kernels, 4-5x slower than its AVX-512 ones. A fair peer gets the best kernels this CPU runs, so unless the caller set
 * OPENBLAS_CORETYPE, it is set from the CPU's flags.
 */
export function peerEnv(): NodeJS.ProcessEnv {
  if (process.env.OPENBLAS_CORETYPE) return process.env;
  let flags = '';
  try { flags = readFileSync('/proc/cpuinfo', 'utf8').match(/^flags\s*:(.*)$/m)?.[1] ?? ''; } catch { /* not Linux */ }
  const has = (f: string) => new RegExp(`\\b${f}\\b`).test(flags);
  const core = has('avx512f') && has('avx512bw') && has('avx512vl') ? 'SkylakeX' : has('avx2') && has('fma') ? 'Haswell' : null;
  return core ? { ...process.env, OPENBLAS_CORETYPE: core } : process.env;
}

/** Runs `python script args` and parses each stdout line that is a JSON object; prints why on failure. */
export function runPython(script: string, args: string[], timeoutMs = 30 * 60_000): Record<string, unknown>[] | null {
  if (!existsSync(PYTHON)) { console.error(`peer skipped: ${PYTHON} is missing (apt-get install -y python3-torch)`); return null; }
  if (!existsSync(script)) { console.error(`peer skipped: ${script} is missing`); return null; }
  const res = spawnSync(PYTHON, [script, ...args], { encoding: 'utf8', timeout: timeoutMs, maxBuffer: 64 << 20, env: peerEnv() });
  if (res.status !== 0) {
    console.error(`peer failed: ${PYTHON} ${script} ${args.join(' ')}\n${(res.stderr ?? '').trim().split('\n').slice(-5).join('\n')}`);
    return null;
  }
  return res.stdout.split('\n').filter((l) => l.startsWith('{')).map((l) => JSON.parse(l) as Record<string, unknown>);
}

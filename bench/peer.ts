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

/** How the PyTorch peer's OpenBLAS kernels were chosen, for the results file. */
export interface PeerChoice {
  /** The OPENBLAS_CORETYPE the peer runs with (null: OpenBLAS's own choice). */
  coretype: string | null;
  /** Why: 'set by the caller', or 'fastest correct of the candidates'. */
  reason: string;
  /** Each candidate's 1024³ float32 GEMM on the peer's threads: GFLOP/s and max relative error against float64. */
  candidates: Record<string, { gflops: number; maxRelError: number } | { failed: string }>;
}

/** OpenBLAS kernel sets this CPU can run, most capable first (the names OPENBLAS_CORETYPE takes). */
function coretypeCandidates(): string[] {
  let flags = '';
  try { flags = readFileSync('/proc/cpuinfo', 'utf8').match(/^flags\s*:(.*)$/m)?.[1] ?? ''; } catch { /* not Linux */ }
  const has = (f: string) => new RegExp(`\\b${f}\\b`).test(flags);
  const out: string[] = [];
  if (has('avx512f') && has('avx512bw') && has('avx512vl') && has('avx512_bf16')) out.push('Cooperlake');
  if (has('avx512f') && has('avx512bw') && has('avx512vl')) out.push('SkylakeX');
  if (has('avx2') && has('fma')) out.push('Haswell', 'Zen');
  if (has('avx')) out.push('Sandybridge');
  out.push('Nehalem');
  return out;
}

// Times a GEMM and checks it against float64; prints one JSON line.
const PROBE = `
import json, os, time, torch
torch.set_num_threads(int(os.environ.get("PEER_THREADS", "2")))
g = torch.Generator().manual_seed(0)
a, b = torch.randn(1024, 1024, generator=g), torch.randn(1024, 1024, generator=g)
ref = a.double() @ b.double()
c = a @ b
err = float(((c.double() - ref).abs().max() / ref.abs().max()).item())
best = 1e9
for _ in range(5):
    t = time.perf_counter(); a @ b; best = min(best, time.perf_counter() - t)
print(json.dumps({"gflops": 2 * 1024 ** 3 / best / 1e9, "maxRelError": err}))
`;

let choice: PeerChoice | undefined;

/**
 * The OpenBLAS kernel set for a fair PyTorch peer: OpenBLAS picks its kernels by CPU model, and an older OpenBLAS
 * (Debian's 0.3.21) falls back to slow ones on models it does not know, while an environment may preset a set that
 * is not this CPU's best (OPENBLAS_CORETYPE=Haswell on an AVX-512 machine). So each set the CPU supports is timed on a
 * 1024³ GEMM and checked against float64, and the fastest that is correct (max relative error < 1e-5) is kept.
 * PRETRAIN_PEER_CORETYPE forces one. Measured once per process.
 */
export function peerChoice(): PeerChoice {
  if (choice) return choice;
  const forced = process.env.PRETRAIN_PEER_CORETYPE;
  if (forced) return (choice = { coretype: forced, reason: 'set by PRETRAIN_PEER_CORETYPE', candidates: {} });
  const candidates: PeerChoice['candidates'] = {};
  let best: string | null = null;
  for (const core of coretypeCandidates()) {
    const res = spawnSync(PYTHON, ['-c', PROBE], { encoding: 'utf8', timeout: 120_000, env: { ...process.env, OPENBLAS_CORETYPE: core } });
    const line = res.status === 0 ? res.stdout.trim().split('\n').pop() : undefined;
    if (!line) { candidates[core] = { failed: (res.stderr ?? '').trim().split('\n').pop() ?? `exit ${res.status}` }; continue; }
    const r = JSON.parse(line) as { gflops: number; maxRelError: number };
    candidates[core] = { gflops: Number(r.gflops.toPrecision(4)), maxRelError: Number(r.maxRelError.toPrecision(3)) };
    const incumbent = best ? candidates[best] as { gflops: number } : null;
    if (r.maxRelError < 1e-5 && (!incumbent || r.gflops > incumbent.gflops)) best = core;
  }
  choice = { coretype: best, reason: best ? 'fastest correct of the candidates' : 'no candidate ran; OpenBLAS\'s own choice', candidates };
  const list = Object.entries(candidates).map(([k, v]) => `${k} ${'gflops' in v ? `${v.gflops} GFLOP/s` : 'failed'}`).join(', ');
  console.error(`peer: OPENBLAS_CORETYPE=${best ?? '(unset)'} (${list})`);
  return choice;
}

/** The choice made in this process, if a PyTorch peer ran. */
export function choiceIfMade(): PeerChoice | undefined {
  return choice;
}

/** The environment for a PyTorch peer: its OpenBLAS kernels chosen by peerChoice. */
export function peerEnv(): NodeJS.ProcessEnv {
  const { coretype } = existsSync(PYTHON) ? peerChoice() : { coretype: null };
  const { OPENBLAS_CORETYPE: _preset, ...rest } = process.env;
  return coretype ? { ...rest, OPENBLAS_CORETYPE: coretype } : rest;
}

/** Runs `python script args` (with the fair OpenBLAS kernels unless `blas: false`) and parses each stdout line that is a JSON object; prints why on failure. */
export function runPython(script: string, args: string[], timeoutMs = 30 * 60_000, opts: { blas?: boolean } = {}): Record<string, unknown>[] | null {
  if (!existsSync(PYTHON)) { console.error(`peer skipped: ${PYTHON} is missing (apt-get install -y python3-torch)`); return null; }
  if (!existsSync(script)) { console.error(`peer skipped: ${script} is missing`); return null; }
  // Peers that do no BLAS work (gensim's loops) skip choosing the OpenBLAS kernels.
  const env = opts.blas === false ? process.env : peerEnv();
  const res = spawnSync(PYTHON, [script, ...args], { encoding: 'utf8', timeout: timeoutMs, maxBuffer: 64 << 20, env });
  if (res.status !== 0) {
    console.error(`peer failed: ${PYTHON} ${script} ${args.join(' ')}\n${(res.stderr ?? '').trim().split('\n').slice(-5).join('\n')}`);
    return null;
  }
  return res.stdout.split('\n').filter((l) => l.startsWith('{')).map((l) => JSON.parse(l) as Record<string, unknown>);
}

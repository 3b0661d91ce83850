// Writes a benchmark suite's rows to bench/results/<suite>.json in the shared format.
import { mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { cpus, loadavg } from 'node:os';
import { fileURLToPath } from 'node:url';
import { choiceIfMade } from './peer.js';

/** One measured figure, beside the peer's figure for the same configuration when there is one. */
export interface BenchRow {
  name: string;
  value: number;
  unit: string;
  /** Who the peer is, e.g. 'torch-cpu 1.13 (2 threads)'; null when none was measured. */
  peer: string | null;
  peer_value: number | null;
  /** ours / peer for throughputs; null for other figures or without a peer. */
  ratio: number | null;
}

const round = (x: number) => Number(x.toPrecision(4));

/** A throughput row (higher is better): ratio = ours / peer. */
export function throughput(name: string, value: number, unit: string, peer: string | null = null, peerValue: number | null = null): BenchRow {
  const ratio = peer !== null && peerValue ? round(value / peerValue) : null;
  return { name, value: round(value), unit, peer, peer_value: peerValue === null ? null : round(peerValue), ratio };
}

/** A row that is not a throughput (a size, a percentage): no ratio. */
export function figure(name: string, value: number, unit: string, peer: string | null = null, peerValue: number | null = null): BenchRow {
  return { name, value: round(value), unit, peer, peer_value: peerValue === null ? null : round(peerValue), ratio: null };
}

/** The machine a run was measured on: CPU model, the vector-width flags that decide kernels, cores, load. */
export function machine() {
  let flags: string[] = [];
  try {
    const all = readFileSync('/proc/cpuinfo', 'utf8').match(/^flags\s*:(.*)$/m)?.[1]?.trim().split(/\s+/) ?? [];
    flags = all.filter((f) => /^(avx|avx2|fma|avx512\w*|amx\w*|sse4_2)$/.test(f));
  } catch { /* not Linux */ }
  return {
    cpu: cpus()[0]?.model ?? 'unknown', cores: cpus().length, flags,
    loadavg_at_end: loadavg().map((x) => Number(x.toFixed(2))), node: process.version, date: new Date().toISOString(),
  };
}

/** Writes the rows, the machine and the PyTorch peer's kernel choice (when one was made) and returns the file's path. */
export function writeResults(suite: string, results: readonly BenchRow[]): string {
  const dir = fileURLToPath(new URL('./results/', import.meta.url));
  mkdirSync(dir, { recursive: true });
  const path = `${dir}${suite}.json`;
  const peer = choiceIfMade();
  // through a temporary file and a rename, so that a run stopped while writing leaves the last complete file
  writeFileSync(`${path}.tmp`, `${JSON.stringify({ suite, results, machine: machine(), ...(peer ? { peer_openblas: peer } : {}) }, null, 2)}\n`);
  renameSync(`${path}.tmp`, path);
  return path;
}

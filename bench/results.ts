// Writes a benchmark suite's rows to bench/results/<suite>.json in the shared format.
import { mkdirSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

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

/** Writes the rows and returns the file's path. */
export function writeResults(suite: string, results: readonly BenchRow[]): string {
  const dir = fileURLToPath(new URL('./results/', import.meta.url));
  mkdirSync(dir, { recursive: true });
  const path = `${dir}${suite}.json`;
  writeFileSync(path, `${JSON.stringify({ suite, results }, null, 2)}\n`);
  return path;
}

// Text generation from a causal LM with a KV cache: greedy, sampling (temperature, top-k, top-p), beam search,
// repetition penalty, max new tokens and stop strings, with Hugging Face `generate` semantics.
import { noGrad } from '../tensor/autograd.js';
import * as ops from '../tensor/ops.js';
import { defaultGenerator, type Generator } from '../tensor/random.js';
import type { Tensor } from '../tensor/tensor.js';
import type { GPT } from '../models/gpt.js';
import type { KVCache } from '../nn/transformer.js';

/** Options of `generate`; unset options mean greedy decoding. */
export interface GenerateOptions {
  maxNewTokens?: number;
  /** Sample instead of taking the most likely token (on when temperature, topK or topP is set). */
  doSample?: boolean;
  temperature?: number;
  topK?: number;
  topP?: number;
  /** > 1 discourages tokens already present (CTRL's penalty, as in HF). */
  repetitionPenalty?: number;
  /** Beam search with this many beams (deterministic). */
  numBeams?: number;
  /** Beam scores are divided by length ** lengthPenalty (HF default 1). */
  lengthPenalty?: number;
  /** Stop when this token is produced. */
  eosTokenId?: number;
  /** Stop when the decoded continuation contains one of these; the result ends before the stop string. */
  stopStrings?: string[];
  /** Turns ids into text, needed for stop strings. */
  decode?: (ids: number[]) => string;
  generator?: Generator;
  /** Called with each new token (greedy and sampling only), e.g. to stream text. */
  onToken?: (id: number) => void;
}

/** Throws for options outside their ranges, as transformers' GenerationConfig validation does. */
export function checkGenerateOptions(opts: GenerateOptions): void {
  const bad = (name: string, value: unknown, range: string) => new RangeError(`generate: ${name} must be ${range}, got ${String(value)}`);
  const { maxNewTokens, temperature, topK, topP, repetitionPenalty, numBeams } = opts;
  if (maxNewTokens !== undefined && !(Number.isInteger(maxNewTokens) && maxNewTokens >= 0)) throw bad('maxNewTokens', maxNewTokens, 'an integer >= 0');
  if (temperature !== undefined && !(temperature > 0 && Number.isFinite(temperature))) throw bad('temperature', temperature, 'a positive number (leave it unset for greedy decoding)');
  if (topK !== undefined && !(Number.isInteger(topK) && topK > 0)) throw bad('topK', topK, 'a positive integer');
  if (topP !== undefined && !(topP > 0 && topP <= 1)) throw bad('topP', topP, 'in (0, 1]');
  if (repetitionPenalty !== undefined && !(repetitionPenalty > 0 && Number.isFinite(repetitionPenalty))) throw bad('repetitionPenalty', repetitionPenalty, 'a positive number');
  if (numBeams !== undefined && !(Number.isInteger(numBeams) && numBeams > 0)) throw bad('numBeams', numBeams, 'a positive integer');
}

/** Applies HF's repetition penalty to a row of logits in place. */
export function applyRepetitionPenalty(logits: Float32Array | Float64Array, seen: Iterable<number>, penalty: number): void {
  if (penalty === 1) return;
  for (const id of new Set(seen)) {
    const v = logits[id]!;
    logits[id] = v < 0 ? v * penalty : v / penalty;
  }
}

/** Picks the next token from one row of logits according to the options. */
export function sampleToken(logits: Float32Array | Float64Array, opts: GenerateOptions): number {
  const sampling = opts.doSample ?? (opts.temperature !== undefined || opts.topK !== undefined || opts.topP !== undefined);
  if (!sampling) return argmax(logits);
  const temperature = opts.temperature ?? 1;
  if (temperature <= 0) return argmax(logits);
  const n = logits.length;
  let order = Array.from({ length: n }, (_, i) => i).sort((a, b) => logits[b]! - logits[a]!);
  if (opts.topK && opts.topK < n) order = order.slice(0, Math.max(1, opts.topK));
  const max = logits[order[0]!]!;
  let probs = order.map((i) => Math.exp((logits[i]! - max) / temperature));
  let total = probs.reduce((a, b) => a + b, 0);
  if (opts.topP !== undefined && opts.topP < 1) {
    // Keep the smallest head of the sorted distribution whose mass reaches topP (at least one token).
    let cum = 0, keep = 0;
    while (keep < probs.length && (keep === 0 || cum < opts.topP * total)) cum += probs[keep++]!;
    order = order.slice(0, keep);
    probs = probs.slice(0, keep);
    total = cum;
  }
  let r = (opts.generator ?? defaultGenerator).random() * total;
  for (let i = 0; i < order.length; i++) {
    r -= probs[i]!;
    if (r < 0) return order[i]!;
  }
  return order[order.length - 1]!;
}

function argmax(x: Float32Array | Float64Array): number {
  let best = 0;
  for (let i = 1; i < x.length; i++) if (x[i]! > x[best]!) best = i;
  return best;
}

function logSoftmaxRow(x: Float32Array | Float64Array): Float64Array {
  let max = -Infinity;
  for (const v of x) max = Math.max(max, v);
  let sum = 0;
  for (const v of x) sum += Math.exp(v - max);
  const lse = max + Math.log(sum);
  return Float64Array.from(x, (v) => v - lse);
}

/** The last position's logits of every batch row, as host arrays. */
async function lastLogits(logits: Tensor): Promise<Float32Array[]> {
  const [B, T, V] = logits.shape as [number, number, number];
  const data = (await ops.slice(logits, 1, T - 1, T).data()) as Float32Array;
  return Array.from({ length: B }, (_, b) => data.slice(b * V, (b + 1) * V));
}

/** Runs the model on new tokens, reusing the cache while the context allows, else re-encoding the window. */
function step(model: GPT, ids: number[][], cache: KVCache[] | undefined, newCount: number): { logits: Tensor; cache: KVCache[] } {
  const ctx = model.config.n_positions;
  const len = ids[0]!.length;
  const usable = cache && len <= ctx;
  const tokens = usable ? ids.map((row) => row.slice(len - newCount)) : ids.map((row) => row.slice(Math.max(0, len - ctx)));
  const input = ops.fromArray(tokens.flat(), [tokens.length, tokens[0]!.length], { dtype: 'int32' });
  const out = model.forward({ inputIds: input, past: usable ? cache : undefined });
  return { logits: out.logits, cache: out.cache };
}

/** Continues `promptIds` and returns only the new token ids. */
export async function generate(model: GPT, promptIds: number[], opts: GenerateOptions = {}): Promise<number[]> {
  if (promptIds.length === 0) throw new Error('generate: the prompt must hold at least one token');
  checkGenerateOptions(opts);
  const wasTraining = model.training;
  model.eval();
  try {
    // Each model call runs under noGrad inside `step`; a noGrad around an async function would end at its first await.
    return await ((opts.numBeams ?? 1) > 1 ? beamSearch(model, promptIds, opts) : decodeGreedyOrSample(model, promptIds, opts));
  } finally {
    model.train(wasTraining);
  }
}

async function decodeGreedyOrSample(model: GPT, promptIds: number[], opts: GenerateOptions): Promise<number[]> {
  const maxNew = opts.maxNewTokens ?? 50;
  const ids = [...promptIds];
  const generated: number[] = [];
  let cache: KVCache[] | undefined;
  let newCount = ids.length;
  while (generated.length < maxNew) {
    const out = noGrad(() => step(model, [ids], cache, newCount));
    cache = out.cache;
    const row = (await lastLogits(out.logits))[0]!;
    applyRepetitionPenalty(row, ids, opts.repetitionPenalty ?? 1);
    const next = sampleToken(row, opts);
    ids.push(next);
    generated.push(next);
    newCount = 1;
    opts.onToken?.(next);
    if (next === opts.eosTokenId) break;
    if (opts.stopStrings?.length && opts.decode) {
      const text = opts.decode(generated);
      const hit = opts.stopStrings.find((s) => text.includes(s));
      if (hit !== undefined) return trimToStop(generated, hit, opts.decode);
    }
  }
  return generated;
}

/** Drops tokens from the end until the decoded text no longer contains the stop string. */
function trimToStop(ids: number[], stop: string, decode: (ids: number[]) => string): number[] {
  const out = [...ids];
  while (out.length > 0 && decode(out).includes(stop)) out.pop();
  return out;
}

interface Beam { ids: number[]; score: number; done: boolean }

async function beamSearch(model: GPT, promptIds: number[], opts: GenerateOptions): Promise<number[]> {
  const k = opts.numBeams!;
  const maxNew = opts.maxNewTokens ?? 50;
  const lp = opts.lengthPenalty ?? 1;
  let beams: Beam[] = [{ ids: [...promptIds], score: 0, done: false }];
  const finished: Beam[] = [];
  let cache: KVCache[] | undefined;
  let newCount = promptIds.length;
  for (let t = 0; t < maxNew && beams.length > 0; t++) {
    const out = noGrad(() => step(model, beams.map((b) => b.ids), cache, newCount));
    const rows = await lastLogits(out.logits);
    const candidates: { beam: number; token: number; score: number }[] = [];
    rows.forEach((row, b) => {
      applyRepetitionPenalty(row, beams[b]!.ids, opts.repetitionPenalty ?? 1);
      const logp = logSoftmaxRow(row);
      // Only the top 2k tokens of each beam can make the next top k.
      const top = Array.from(logp.keys()).sort((x, y) => logp[y]! - logp[x]!).slice(0, 2 * k);
      for (const token of top) candidates.push({ beam: b, token, score: beams[b]!.score + logp[token]! });
    });
    candidates.sort((a, b) => b.score - a.score);
    const next: Beam[] = [];
    const parents: number[] = [];
    for (const c of candidates) {
      const ids = [...beams[c.beam]!.ids, c.token];
      if (c.token === opts.eosTokenId) finished.push({ ids, score: c.score, done: true });
      else { next.push({ ids, score: c.score, done: false }); parents.push(c.beam); }
      if (next.length === k) break;
    }
    // Keep each surviving beam's cache rows in step with its parent.
    const index = ops.fromArray(parents, [parents.length], { dtype: 'int32' });
    cache = out.cache.map((c) => ({ key: ops.indexSelect(c.key, 0, index), value: ops.indexSelect(c.value, 0, index) }));
    beams = next;
    newCount = 1;
    if (finished.length >= k) break;
  }
  const pool = [...finished, ...beams];
  const norm = (b: Beam) => b.score / Math.pow(b.ids.length - promptIds.length, lp);
  pool.sort((a, b) => norm(b) - norm(a));
  let best = pool[0]!.ids.slice(promptIds.length);
  if (opts.stopStrings?.length && opts.decode) {
    const hit = opts.stopStrings.find((s) => opts.decode!(best).includes(s));
    if (hit !== undefined) best = trimToStop(best, hit, opts.decode);
  }
  return best;
}

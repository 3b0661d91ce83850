// Conditional generation with Hugging Face `generate` semantics, one API for both kinds of model: the encoder-decoder
// (the source encoded once, the decoder stepped from decoder_start_token_id) and GPT as a conditional generator
// (`source <sep>` as the prompt, the target after it). Greedy decoding, sampling (temperature, top-k, top-p) and beam
// search (num_beams, length_penalty, early_stopping, no_repeat_ngram_size, max_new_tokens) run batched, rows stepped
// together through the KV caches; finished rows leave the batch, which changes no row's result.
//
// Beam search follows transformers 4.40's BeamSearchScorer: 2·num_beams candidates a step from the log-softmax scores
// plus each beam's running sum; an end-of-sequence candidate among the first num_beams becomes a hypothesis scored
// sum / generated_len ** length_penalty (generated_len counting the end token); early_stopping true stops a source
// at num_beams hypotheses, false when the best open score over the current length cannot beat the worst kept,
// 'never' when it cannot over the longest length allowed; at max_new_tokens the open beams join the hypotheses.
//
// num_return_sequences as transformers has it: beam search returns each source's best N finished hypotheses (N at
// most num_beams), best first; sampling draws N independent samples, each source expanded N times; greedy decoding
// returns one. The results are laid out as transformers' sequences are: batch·N rows, the N of source i contiguous.
import type { EncoderDecoderModel, DecoderCache, EncoderOutput } from '../models/encoder-decoder.js';
import { maxPositions } from '../models/encoder-decoder.js';
import type { GPT } from '../models/gpt.js';
import type { KVCache } from '../nn/transformer.js';
import { noGrad } from '../tensor/autograd.js';
import * as ops from '../tensor/ops.js';
import { defaultGenerator, type Generator } from '../tensor/random.js';
import type { Tensor } from '../tensor/tensor.js';
import { applyRepetitionPenalty, sampleToken } from './generate.js';

// ---------------------------------------------------------------------------------------------------------------
// The models' side

/**
 * A batch being decoded: rows stepped together. The first `step` gives each row its prompt (any lengths), later ones
 * one token per row; each returns the next-token logits of every row.
 */
export interface DecodingSession {
  step(tokens: readonly (readonly number[])[]): Promise<Float32Array[]>;
  /** Keeps these rows, in this order (a row may repeat): beams reordered, finished rows dropped. */
  select(rows: readonly number[]): void;
}

/** A model that generates a target given a source, as `generateSequences` drives it. */
export interface ConditionalGenerator {
  /** The token that ends a target; null: none, every row runs to max_new_tokens. */
  readonly eosTokenId: number | null;
  /** The most new tokens a source of this many tokens leaves room for. */
  maxNewTokens(sourceLength: number): number;
  /** Starts decoding a batch of sources: each row's prompt (what the target follows) and the session. */
  begin(sources: readonly (readonly number[])[]): { prompts: number[][]; session: DecodingSession };
}

const int32 = (rows: readonly (readonly number[])[]) => ops.fromArray(rows.flat(), [rows.length, rows[0]!.length], { dtype: 'int32' });
const rowIndex = (rows: readonly number[]) => ops.fromArray([...rows], [rows.length], { dtype: 'int32' });
const selectCache = (c: KVCache, index: Tensor): KVCache => ({ key: ops.indexSelect(c.key, 0, index), value: ops.indexSelect(c.value, 0, index) });

/** Each row's logits at its last position, on the host. */
async function lastPosition(logits: Tensor): Promise<Float32Array[]> {
  const [B, T, V] = logits.shape as [number, number, number];
  const data = (await (T === 1 ? logits : ops.slice(logits, 1, T - 1, T)).data()) as Float32Array;
  return Array.from({ length: B }, (_, b) => data.slice(b * V, (b + 1) * V));
}

/** Sources right-padded into ids and a mask [B, S]. */
function padSources(sources: readonly (readonly number[])[], padId: number): { ids: Tensor; mask: Tensor } {
  const S = Math.max(1, ...sources.map((s) => s.length));
  const ids = new Int32Array(sources.length * S).fill(padId), mask = new Float32Array(sources.length * S);
  sources.forEach((s, b) => { ids.set(s, b * S); mask.fill(1, b * S, b * S + s.length); });
  return { ids: ops.fromArray(ids, [sources.length, S], { dtype: 'int32' }), mask: ops.fromArray(mask, [sources.length, S]) };
}

/** The encoder-decoder as a conditional generator: the source encoded once, the decoder from decoder_start_token_id. */
export function encoderDecoderGenerator(model: EncoderDecoderModel): ConditionalGenerator {
  const cfg = model.config;
  const encoderLimit = maxPositions(cfg.encoder), decoderLimit = maxPositions(cfg.decoder);
  return {
    eosTokenId: cfg.eos_token_id,
    maxNewTokens: () => decoderLimit - 1,
    begin(sources) {
      const tooLong = sources.findIndex((s) => s.length > encoderLimit);
      if (tooLong >= 0) throw new Error(`generate: source ${tooLong + 1} has ${sources[tooLong]!.length} tokens, more than the encoder's ${encoderLimit} positions`);
      const { ids, mask } = padSources(sources, cfg.pad_token_id);
      let encoded: Pick<EncoderOutput, 'states' | 'mask'> = noGrad(() => model.encode(ids, mask));
      let cache: DecoderCache | undefined;
      const session: DecodingSession = {
        async step(tokens) {
          const out = noGrad(() => model.decode(int32(tokens), encoded, cache));
          cache = out.cache;
          return lastPosition(out.logits);
        },
        select(rows) {
          const index = rowIndex(rows);
          encoded = { states: ops.indexSelect(encoded.states, 0, index), mask: encoded.mask && ops.indexSelect(encoded.mask, 0, index) };
          if (cache) cache = { self: cache.self.map((c) => selectCache(c, index)), cross: cache.cross.map((c) => selectCache(c, index)) };
        },
      };
      return { prompts: sources.map(() => [cfg.decoder_start_token_id]), session };
    },
  };
}

/**
 * GPT as a conditional generator: the prompt is `source <sep>`, the target follows and ends with `eos`. Prompts of a
 * batch are left-padded, with each row's own positions (transformers' position_ids from the attention mask), so a
 * row decodes as it would alone.
 */
export function gptConditionalGenerator(model: GPT, tokens: { sep: number; eos: number | null }): ConditionalGenerator {
  const context = model.config.n_positions;
  return {
    eosTokenId: tokens.eos,
    maxNewTokens: (sourceLength) => context - sourceLength - 1,
    begin(sources) {
      let cache: KVCache[] | undefined;
      let mask: number[][] = [], next: number[] = [];
      const session: DecodingSession = {
        async step(rows) {
          const L = Math.max(...rows.map((r) => r.length));
          const ids = rows.map((r) => [...new Array<number>(L - r.length).fill(0), ...r]);
          const positions = rows.map((r, b) => Array.from({ length: L }, (_, i) => Math.max(0, (next[b] ?? 0) + i - (L - r.length))));
          mask = rows.map((r, b) => [...(mask[b] ?? []), ...new Array<number>(L - r.length).fill(0), ...new Array<number>(r.length).fill(1)]);
          next = rows.map((r, b) => (next[b] ?? 0) + r.length);
          const out = noGrad(() => model.forward({
            inputIds: int32(ids), positionIds: int32(positions), attentionMask: ops.fromArray(mask.flat(), [rows.length, mask[0]!.length]), past: cache,
          }));
          cache = out.cache;
          return lastPosition(out.logits);
        },
        select(rows) {
          const index = rowIndex(rows);
          if (cache) cache = cache.map((c) => selectCache(c, index));
          mask = rows.map((r) => mask[r]!);
          next = rows.map((r) => next[r]!);
        },
      };
      return { prompts: sources.map((s) => [...s, tokens.sep]), session };
    },
  };
}

// ---------------------------------------------------------------------------------------------------------------
// Options

/** Options of `generateSequences`, with transformers' GenerationConfig meanings; unset: greedy. */
export interface Seq2SeqGenerateOptions {
  /** Most tokens generated per source, the end token included. Default 50 (within the model's positions). */
  maxNewTokens?: number;
  /** Beam search with this many beams. Default 1. */
  numBeams?: number;
  /** Beam hypotheses are scored sum log p / length ** lengthPenalty. Default 1. */
  lengthPenalty?: number;
  /** When a source's beam search ends: true, false (transformers' default heuristic) or 'never'. */
  earlyStopping?: boolean | 'never';
  /** No n-gram of this size occurs twice in a row's tokens (its prompt included, as in transformers). 0: off. */
  noRepeatNgramSize?: number;
  /** Sample instead of taking the most likely token (on when temperature, topK or topP is set). */
  doSample?: boolean;
  temperature?: number;
  topK?: number;
  topP?: number;
  /** > 1 discourages tokens already in the row (CTRL's penalty). */
  repetitionPenalty?: number;
  /**
   * Sequences returned per source (transformers' num_return_sequences), rows i·N..i·N+N-1 for source i. Beam search:
   * the N best hypotheses by score, best first (N <= numBeams). Sampling: N samples, the source expanded N times.
   * Greedy decoding: 1 only. Default 1.
   */
  numReturnSequences?: number;
  /**
   * Constrained decoding (transformers' prefix_allowed_tokens_fn): the tokens allowed after a row's sequence so far
   * (its prompt included) for source `source`; null allows every token.
   */
  prefixAllowedTokens?: (source: number, sequence: readonly number[]) => readonly number[] | null;
  /** Sources decoded together (sorted by length so a batch pads little). Default 32. */
  batchSize?: number;
  generator?: Generator;
  /** Called after each batch with the number of sources done. */
  onProgress?: (done: number) => void;
}

/** One generated target. */
export interface GeneratedSequence {
  /** The new tokens, without the end token. */
  tokens: number[];
  /** Whether the row produced the end token (else it stopped at max_new_tokens). */
  finished: boolean;
  /**
   * Beam search: the hypothesis' score, sum log p / generated_len ** length_penalty (transformers' sequences_scores).
   * Greedy and sampling: the sum of the chosen tokens' log-probabilities under the model.
   */
  score: number;
}

/** Throws for options outside their ranges, naming the option. */
export function checkSeq2SeqOptions(opts: Seq2SeqGenerateOptions): void {
  const bad = (name: string, value: unknown, range: string) => new RangeError(`generate: ${name} must be ${range}, got ${String(value)}`);
  const int = (name: keyof Seq2SeqGenerateOptions, min: number) => {
    const v = opts[name];
    if (v !== undefined && !(Number.isInteger(v) && (v as number) >= min)) throw bad(name, v, `an integer >= ${min}`);
  };
  int('maxNewTokens', 1); int('numBeams', 1); int('noRepeatNgramSize', 0); int('topK', 1); int('batchSize', 1); int('numReturnSequences', 1);
  const { temperature, topP, lengthPenalty, repetitionPenalty, earlyStopping } = opts;
  if (temperature !== undefined && !(temperature > 0 && Number.isFinite(temperature))) throw bad('temperature', temperature, 'a positive number');
  if (topP !== undefined && !(topP > 0 && topP <= 1)) throw bad('topP', topP, 'in (0, 1]');
  if (lengthPenalty !== undefined && !Number.isFinite(lengthPenalty)) throw bad('lengthPenalty', lengthPenalty, 'a finite number');
  if (repetitionPenalty !== undefined && !(repetitionPenalty > 0 && Number.isFinite(repetitionPenalty))) throw bad('repetitionPenalty', repetitionPenalty, 'a positive number');
  if (earlyStopping !== undefined && earlyStopping !== true && earlyStopping !== false && earlyStopping !== 'never') throw bad('earlyStopping', earlyStopping, "true, false or 'never'");
  if ((opts.numBeams ?? 1) > 1 && sampling(opts)) throw new Error('generate: sampling with beams (beam-sample) is not implemented; use numBeams 1 to sample, or no sampling options for beam search');
  // transformers' GenerationConfig.validate
  const n = opts.numReturnSequences ?? 1, beams = opts.numBeams ?? 1;
  if (n !== 1 && beams === 1 && !sampling(opts)) {
    throw new Error(`generate: greedy methods without beam search do not support numReturnSequences different than 1 (got ${n}); use beams (numBeams >= ${n}) or sampling`);
  }
  if (n > beams && beams > 1) throw new Error(`generate: numReturnSequences (${n}) has to be smaller or equal to numBeams (${beams})`);
}

function sampling(opts: Seq2SeqGenerateOptions): boolean {
  return opts.doSample ?? (opts.temperature !== undefined || opts.topK !== undefined || opts.topP !== undefined);
}

// ---------------------------------------------------------------------------------------------------------------
// Score processors (transformers' LogitsProcessor semantics), on one row in place

/** Tokens that would complete an n-gram already in `seq` (transformers' NoRepeatNGramLogitsProcessor). */
export function bannedNgramTokens(seq: readonly number[], n: number): number[] {
  if (n <= 0 || seq.length + 1 < n) return [];
  const prefix = seq.slice(seq.length - n + 1);
  const banned: number[] = [];
  for (let i = 0; i + n <= seq.length; i++) {
    let match = true;
    for (let j = 0; j < n - 1 && match; j++) match = seq[i + j] === prefix[j];
    if (match) banned.push(seq[i + n - 1]!);
  }
  return banned;
}

function processRow(row: Float32Array | Float64Array, seq: readonly number[], source: number, opts: Seq2SeqGenerateOptions): void {
  applyRepetitionPenalty(row, seq, opts.repetitionPenalty ?? 1);
  for (const t of bannedNgramTokens(seq, opts.noRepeatNgramSize ?? 0)) row[t] = -Infinity;
  const allowed = opts.prefixAllowedTokens?.(source, seq);
  if (allowed) {
    const keep = new Set(allowed);
    for (let t = 0; t < row.length; t++) if (!keep.has(t)) row[t] = -Infinity;
  }
}

function logSoftmax(x: Float32Array): Float64Array {
  let max = -Infinity;
  for (const v of x) if (v > max) max = v;
  let sum = 0;
  for (const v of x) sum += Math.exp(v - max);
  const lse = max + Math.log(sum);
  return Float64Array.from(x, (v) => v - lse);
}

// ---------------------------------------------------------------------------------------------------------------
// Decoding

/**
 * Generates numReturnSequences targets (default 1) for each source (token ids) with the options' strategy, batched;
 * the results are in the sources' order, the N of source i at i·N..i·N+N-1. The model is switched to evaluation
 * mode for the call.
 */
export async function generateSequences(model: ConditionalGenerator, sources: readonly (readonly number[])[], opts: Seq2SeqGenerateOptions = {}): Promise<GeneratedSequence[]> {
  checkSeq2SeqOptions(opts);
  const empty = sources.findIndex((s) => s.length === 0);
  if (empty >= 0) throw new Error(`generate: source ${empty + 1} is empty`);
  const n = opts.numReturnSequences ?? 1;
  if (n > 1 && (opts.numBeams ?? 1) === 1) {
    // sampling (validated above): as transformers' _expand_inputs_for_generation, every source N times in a row,
    // each copy drawn on its own; the constraint is still asked about the source, and progress counts sources
    const { prefixAllowedTokens: allowed, onProgress } = opts;
    return generateSequences(model, sources.flatMap((s) => new Array<readonly number[]>(n).fill(s)), {
      ...opts, numReturnSequences: 1,
      prefixAllowedTokens: allowed && ((i, seq) => allowed(Math.floor(i / n), seq)),
      onProgress: onProgress && ((done) => onProgress(Math.floor(done / n))),
    });
  }
  const order = sources.map((_, i) => i).sort((a, b) => sources[a]!.length - sources[b]!.length);
  const out = new Array<GeneratedSequence>(sources.length * n);
  const batchSize = opts.batchSize ?? 32;
  for (let start = 0; start < order.length; start += batchSize) {
    const rows = order.slice(start, start + batchSize);
    const batch = rows.map((i) => sources[i]!);
    const limit = Math.min(opts.maxNewTokens ?? 50, ...batch.map((s) => model.maxNewTokens(s.length)));
    if (limit < 1) throw new Error(`generate: a source of ${Math.max(...batch.map((s) => s.length))} tokens leaves no room for a target in the model's positions (GPT reads source, <sep> and target in one context)`);
    // the constraint is asked about sources by their index in `sources`, not in this batch
    const allowed = opts.prefixAllowedTokens;
    const batchOpts = allowed ? { ...opts, prefixAllowedTokens: (i: number, seq: readonly number[]) => allowed(rows[i]!, seq) } : opts;
    const results = (opts.numBeams ?? 1) > 1 ? await beamSearch(model, batch, limit, batchOpts, n) : (await greedyOrSample(model, batch, limit, batchOpts)).map((r) => [r]);
    rows.forEach((i, k) => results[k]!.forEach((r, j) => { out[i * n + j] = r; }));
    opts.onProgress?.(start + rows.length);
  }
  return out;
}

/** Greedy decoding or sampling, one token per live row per step. */
async function greedyOrSample(model: ConditionalGenerator, sources: readonly (readonly number[])[], limit: number, opts: Seq2SeqGenerateOptions): Promise<GeneratedSequence[]> {
  const { prompts, session } = model.begin(sources);
  const seqs = prompts.map((p) => [...p]);
  const results: GeneratedSequence[] = sources.map(() => ({ tokens: [], finished: false, score: 0 }));
  const pick = { ...opts, doSample: sampling(opts), generator: opts.generator ?? defaultGenerator };
  let live = sources.map((_, i) => i);
  let logits = await session.step(prompts);
  for (let t = 0; t < limit && live.length > 0; t++) {
    const next: number[] = [];
    live.forEach((i, r) => {
      const row = logits[r]!;
      const logp = logSoftmax(row);
      processRow(row, seqs[i]!, i, opts);
      const token = sampleToken(row, pick);
      results[i]!.score += logp[token]!;
      seqs[i]!.push(token);
      if (token === model.eosTokenId) results[i]!.finished = true;
      else { results[i]!.tokens.push(token); next.push(r); }
    });
    if (next.length < live.length) session.select(next);
    live = next.map((r) => live[r]!);
    if (live.length === 0 || t === limit - 1) break;
    logits = await session.step(live.map((i) => [seqs[i]!.at(-1)!]));
  }
  return results;
}

/** transformers' BeamHypotheses: the num_beams best finished hypotheses of one source. */
class BeamHypotheses {
  readonly beams: { score: number; tokens: number[]; finished: boolean }[] = [];
  private worst = 1e9;
  constructor(private readonly numBeams: number, private readonly lengthPenalty: number, private readonly earlyStopping: boolean | 'never', private readonly maxNew: number) {}

  add(tokens: number[], sumLogprobs: number, generatedLength: number, finished: boolean): void {
    const score = sumLogprobs / generatedLength ** this.lengthPenalty;
    if (this.beams.length < this.numBeams || score > this.worst) {
      this.beams.push({ score, tokens, finished });
      if (this.beams.length > this.numBeams) {
        // drop the worst (the first added among equals), as sorting (score, index) pairs does there
        const sorted = this.beams.map((b, i) => [b.score, i] as const).sort((a, b) => a[0] - b[0] || a[1] - b[1]);
        this.beams.splice(sorted[0]![1], 1);
        this.worst = sorted[1]![0];
      } else this.worst = Math.min(score, this.worst);
    }
  }

  /** Whether no open beam can still beat the kept hypotheses; `generated` counts tokens after this step's. */
  isDone(bestSumLogprobs: number, generated: number): boolean {
    if (this.beams.length < this.numBeams) return false;
    if (this.earlyStopping === true) return true;
    const length = this.earlyStopping === 'never' && this.lengthPenalty > 0 ? this.maxNew : generated;
    return this.worst >= bestSumLogprobs / length ** this.lengthPenalty;
  }

  /**
   * The n best hypotheses, best first: as BeamSearchScorer.finalize pops them off the hypotheses sorted by score
   * (a stable sort, so among equals the last added comes first).
   */
  top(n: number): { score: number; tokens: number[]; finished: boolean }[] {
    if (n > this.beams.length) throw new Error(`generate: ${n} sequences asked of a source with ${this.beams.length} hypotheses`);
    const ascending = this.beams.map((b, i) => [b, i] as const).sort((a, b) => a[0].score - b[0].score || a[1] - b[1]);
    return ascending.slice(ascending.length - n).reverse().map(([b]) => b);
  }
}

/** Beam search, every source's beams in one batch (see the file's header): each source's `numReturn` best hypotheses. */
async function beamSearch(model: ConditionalGenerator, sources: readonly (readonly number[])[], limit: number, opts: Seq2SeqGenerateOptions, numReturn = 1): Promise<GeneratedSequence[][]> {
  const k = opts.numBeams!, eos = model.eosTokenId;
  const hyps = sources.map(() => new BeamHypotheses(k, opts.lengthPenalty ?? 1, opts.earlyStopping ?? false, limit));
  const { prompts, session } = model.begin(sources);
  // The prompt runs once per source; its cache is then copied to the beams, which all start from it.
  let logits = await session.step(prompts);
  let live = sources.map((_, b) => b);
  const expand = live.flatMap((b) => new Array<number>(k).fill(b));
  session.select(expand);
  logits = expand.map((b) => logits[b]!);
  // beams[b][j]: the tokens after the prompt and the running sum of log-probabilities; only beam 0 is open at first
  let beams = sources.map(() => Array.from({ length: k }, (_, j) => ({ tokens: [] as number[], score: j === 0 ? 0 : -1e9 })));
  for (let t = 0; t < limit; t++) {
    const keep: number[] = [], nextLive: number[] = [];
    const nextBeams: typeof beams = [];
    live.forEach((b, li) => {
      const candidates: { beam: number; token: number; score: number }[] = [];
      for (let j = 0; j < k; j++) {
        const row = logSoftmax(logits[li * k + j]!);
        processRow(row, [...prompts[b]!, ...beams[b]![j]!.tokens], b, opts);
        const base = beams[b]![j]!.score;
        // only a beam's 2k best tokens can be among the source's 2k best candidates
        const top = topIndices(row, 2 * k);
        for (const token of top) candidates.push({ beam: j, token, score: base + row[token]! });
      }
      candidates.sort((x, y) => y.score - x.score);
      const best = candidates.slice(0, 2 * k);
      const chosen: { beam: number; token: number; score: number }[] = [];
      best.forEach((c, rank) => {
        if (chosen.length === k) return;
        if (c.token === eos) {
          // an end token outside the first num_beams candidates is not taken (transformers' rule)
          if (rank < k) hyps[b]!.add([...beams[b]![c.beam]!.tokens], c.score, t + 1, true);
        } else chosen.push(c);
      });
      const done = hyps[b]!.isDone(best[0]!.score, t + 1);
      if (done || t === limit - 1) {
        if (!done) chosen.forEach((c) => hyps[b]!.add([...beams[b]![c.beam]!.tokens, c.token], c.score, t + 1, false));
        return;
      }
      nextLive.push(b);
      nextBeams[b] = chosen.map((c) => ({ tokens: [...beams[b]![c.beam]!.tokens, c.token], score: c.score }));
      for (const c of chosen) keep.push(li * k + c.beam);
    });
    if (nextLive.length === 0) break;
    session.select(keep);
    beams = nextBeams;
    live = nextLive;
    logits = await session.step(live.flatMap((b) => beams[b]!.map((x) => [x.tokens.at(-1)!])));
  }
  return hyps.map((h) => h.top(numReturn).map((b) => ({ tokens: b.tokens, finished: b.finished, score: b.score })));
}

/** The indices of a row's n largest values, largest first (the lower index first among equals); O(V·n), n small. */
function topIndices(row: Float64Array, n: number): number[] {
  const top: number[] = [];
  for (let i = 0; i < row.length; i++) {
    const v = row[i]!;
    if (top.length === n && v <= row[top[n - 1]!]!) continue;
    if (top.length < n) top.push(i);
    else top[n - 1] = i;
    for (let j = top.length - 1; j > 0 && row[top[j - 1]!]! < v; j--) [top[j], top[j - 1]] = [top[j - 1]!, i];
  }
  return top;
}

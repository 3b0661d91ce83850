// Sequence-to-sequence models with their tokenizers: the encoder-decoder (its source and target tokenizers, which
// differ for translation) or GPT as a conditional generator (`source <sep> target <eos>` in one vocabulary), behind
// one interface: text to ids within the model's positions, the training loss of a batch of pairs (the target's tokens
// only), translation through seq2seq-generate.ts, and model directories (the Hugging Face model, tokenizer.json,
// target_tokenizer.json when the target's differs, generation_config.json with the special tokens). Parallel text is
// read here too: source and target files line by line, empty pairs skipped and counted.
import { bertConfig } from '../models/bert.js';
import { EncoderDecoderModel, maxPositions, type SideConfig, type SideType } from '../models/encoder-decoder.js';
import { GPT, gptConfig } from '../models/gpt.js';
import { loadPretrained, type LoadReport } from '../models/pretrained.js';
import { warmStartEncoderDecoder, type WarmStartReport } from '../models/warm-start.js';
import { fsp, nodePath } from '../platform/node.js';
import * as ops from '../tensor/ops.js';
import type { Tensor } from '../tensor/tensor.js';
import { Corpus, type CorpusStats } from '../text/corpus.js';
import { Tokenizer } from '../text/tokenizer.js';
import { trainWordPiece } from '../text/train.js';
import { encoderDecoderGenerator, generateSequences, gptConditionalGenerator, type ConditionalGenerator, type Seq2SeqGenerateOptions } from './seq2seq-generate.js';

// ---------------------------------------------------------------------------------------------------------------
// Parallel text

/** One sentence pair, as written, with its line number (1-based) in both files. */
export interface TextPair {
  source: string;
  target: string;
  line: number;
}

/** A parallel corpus read, with what was left out. */
export interface ParallelCorpus {
  pairs: TextPair[];
  /** Line pairs with an empty (or blank) side, skipped. */
  skippedEmpty: number;
  /** What the two reads counted (invalid UTF-8 replaced). */
  stats: [CorpusStats, CorpusStats];
  sourcePath: string;
  targetPath: string;
}

/** The lines of a text file (.gz read through), with the read's statistics. */
export async function readTextLines(path: string): Promise<{ lines: string[]; stats: CorpusStats }> {
  const corpus = await Corpus.open(path, { layout: 'raw' });
  const lines: string[] = [];
  for await (const line of corpus.lines()) lines.push(line);
  return { lines, stats: corpus.stats };
}

/** Reads a source and a target file line by line; their line counts must agree (line i translates line i). */
export async function readParallelCorpus(sourcePath: string, targetPath: string): Promise<ParallelCorpus> {
  const [src, tgt] = await Promise.all([readTextLines(sourcePath), readTextLines(targetPath)]);
  if (src.lines.length !== tgt.lines.length) {
    throw new Error(`${sourcePath} has ${src.lines.length} lines but ${targetPath} has ${tgt.lines.length}; line i of one must translate line i of the other`);
  }
  const pairs: TextPair[] = [];
  let skippedEmpty = 0;
  src.lines.forEach((line, i) => {
    const source = line.trim(), target = tgt.lines[i]!.trim();
    if (source === '' || target === '') skippedEmpty++;
    else pairs.push({ source, target, line: i + 1 });
  });
  return { pairs, skippedEmpty, stats: [src.stats, tgt.stats], sourcePath, targetPath };
}

// ---------------------------------------------------------------------------------------------------------------
// Special tokens

/** The special tokens a seq2seq model needs, as ids of the target (for GPT: the one) vocabulary. */
export interface Seq2SeqTokens {
  /** The decoder's first input (encoder-decoder: decoder_start_token_id). */
  start: number;
  /** Ends a target. */
  eos: number;
  /** Pads decoder inputs. */
  pad: number;
  /** GPT: between the source and the target. */
  sep: number;
}

const firstOf = (tok: Tokenizer, names: readonly string[]) => names.map((n) => tok.tokenToId(n)).find((id) => id !== undefined);

/**
 * The special tokens of a target tokenizer: BERT's ([CLS] starts, [SEP] ends and separates, [PAD] pads), GPT-2's
 * (<|endoftext|> for all), or ours for GPT ([EOS] ends, [SEP] separates); an error naming what it looked for.
 */
export function specialTokens(tok: Tokenizer, where: string): Seq2SeqTokens {
  const eos = firstOf(tok, ['[EOS]', '</s>', '[SEP]', '<|endoftext|>']);
  const start = firstOf(tok, ['[CLS]', '<s>', '<|endoftext|>']) ?? eos;
  const sep = firstOf(tok, ['[SEP]', '<sep>', '<|endoftext|>']) ?? eos;
  const pad = firstOf(tok, ['[PAD]', '<pad>']) ?? eos;
  if (eos === undefined || start === undefined || sep === undefined || pad === undefined) {
    throw new Error(`${where}: the tokenizer has no end-of-sequence token ([EOS], </s>, [SEP] or <|endoftext|>), which a target needs`);
  }
  return { start, eos, pad, sep };
}

// ---------------------------------------------------------------------------------------------------------------
// The model with its tokenizers

/** A pair as ids: the source (with the encoder's special tokens) and the target's tokens (no end token). */
export interface EncodedPair {
  source: number[];
  target: number[];
}

/** A batch for the loss: the model's inputs and the number of target tokens scored. */
interface LossBatch {
  loss(): Tensor;
  tokens: number;
}

export const TARGET_TOKENIZER_FILE = 'target_tokenizer.json';
const GENERATION_CONFIG = 'generation_config.json';

/** A tokenizer as this file uses it: no truncation or padding of its own (lengths are checked here). */
function plain(tok: Tokenizer): Tokenizer {
  tok.truncation = null;
  tok.padding = null;
  return tok;
}

/** A seq2seq model, encoder-decoder or GPT, with its tokenizers and special tokens. */
export class Seq2Seq {
  readonly tokens: Seq2SeqTokens;
  constructor(readonly model: EncoderDecoderModel | GPT, readonly sourceTokenizer: Tokenizer, readonly targetTokenizer: Tokenizer, tokens?: Seq2SeqTokens) {
    plain(sourceTokenizer);
    plain(targetTokenizer);
    this.tokens = tokens ?? specialTokens(targetTokenizer, 'the target tokenizer');
    if (model instanceof GPT && sourceTokenizer !== targetTokenizer) throw new Error('Seq2Seq: GPT reads source and target in one vocabulary; give one tokenizer');
    const vocab = model instanceof GPT ? model.config.vocab_size : model.config.decoder.vocab_size;
    if (targetTokenizer.vocabSize > vocab) throw new Error(`Seq2Seq: the target tokenizer has ${targetTokenizer.vocabSize} tokens but the decoder's vocabulary ${vocab}`);
    if (model instanceof EncoderDecoderModel) {
      const e = model.config.encoder.vocab_size;
      if (sourceTokenizer.vocabSize > e) throw new Error(`Seq2Seq: the source tokenizer has ${sourceTokenizer.vocabSize} tokens but the encoder's vocabulary ${e}`);
    }
  }

  get kind(): 'encoder-decoder' | 'gpt' { return this.model instanceof GPT ? 'gpt' : 'encoder-decoder'; }

  /** The most source tokens, and the most target tokens (the end token included), the model reads. */
  get limits(): { source: number; target: number } {
    const m = this.model;
    if (m instanceof GPT) return { source: m.config.n_positions - 2, target: m.config.n_positions - 1 };
    return { source: maxPositions(m.config.encoder), target: maxPositions(m.config.decoder) };
  }

  /** The source's ids; a BERT encoder's with its template ([CLS] ... [SEP]). */
  encodeSource(text: string): number[] {
    const bert = this.model instanceof EncoderDecoderModel && this.model.config.encoder.model_type === 'bert';
    return this.sourceTokenizer.encode(text, null, { addSpecialTokens: bert }).ids;
  }

  encodeTarget(text: string): number[] {
    return this.targetTokenizer.encode(text, null, { addSpecialTokens: false }).ids;
  }

  decodeTarget(ids: readonly number[]): string {
    return this.targetTokenizer.decode(ids, true);
  }

  /** A source cut to `limit` tokens, a BERT template's final [SEP] kept. */
  private cutSource(ids: readonly number[], limit: number): number[] {
    const bert = this.model instanceof EncoderDecoderModel && this.model.config.encoder.model_type === 'bert';
    return bert && limit > 1 ? [...ids.slice(0, limit - 1), ids.at(-1)!] : ids.slice(0, limit);
  }

  /** A source's ids within the model's positions: over the limit, null (the caller reports it), or with `truncate` cut to it. */
  fitSource(ids: number[], truncate: boolean): number[] | null {
    if (ids.length <= this.limits.source) return ids;
    return truncate ? this.cutSource(ids, this.limits.source) : null;
  }

  /**
   * Pairs as ids within the model's positions. A pair over them is an error naming the file and line, or with
   * `truncate` is cut and counted: each side to its limit; for GPT, whose one context holds both, the target to
   * half of it if it is longer, then the source to what is left.
   */
  encodePairs(pairs: readonly TextPair[], opts: { truncate: boolean; where: { source: string; target: string } }): { pairs: EncodedPair[]; truncated: number } {
    const out: EncodedPair[] = [];
    let truncated = 0;
    const m = this.model;
    for (const p of pairs) {
      let source = this.encodeSource(p.source), target = this.encodeTarget(p.target);
      if (m instanceof GPT) {
        const room = m.config.n_positions - 1; // source, <sep>, target: the end token is only a label
        if (source.length + target.length > room) {
          if (!opts.truncate) {
            throw new Error(`${opts.where.source}, line ${p.line}: the source and target have ${source.length} + ${target.length} tokens, more than GPT's ${m.config.n_positions} positions leave beside <sep> (${room}); give --truncate to cut such pairs (they are counted)`);
          }
          const half = Math.floor(room / 2);
          if (target.length > half) target = target.slice(0, Math.max(half, room - source.length));
          source = this.cutSource(source, room - target.length);
          truncated++;
        }
      } else {
        const { source: sourceLimit, target: decoderLimit } = this.limits;
        const targetLimit = decoderLimit - 1; // the decoder reads the start token, then the target
        if (source.length > sourceLimit || target.length > targetLimit) {
          if (!opts.truncate) {
            const [file, side, n, limit] = source.length > sourceLimit ? [opts.where.source, 'source', source.length, `the encoder's ${sourceLimit} positions`]
              : [opts.where.target, 'target', target.length, `the ${targetLimit} the decoder's ${decoderLimit} positions leave after the start token`];
            throw new Error(`${file}, line ${p.line}: the ${side} has ${n} tokens, more than ${limit}; give --truncate to cut such pairs (they are counted)`);
          }
          source = source.length > sourceLimit ? this.cutSource(source, sourceLimit) : source;
          target = target.slice(0, targetLimit);
          truncated++;
        }
      }
      out.push({ source, target });
    }
    return { pairs: out, truncated };
  }

  /** The training batch of pairs: teacher forcing, with the loss over the target's tokens and its end token only. */
  batch(pairs: readonly EncodedPair[]): LossBatch {
    const { eos, pad, start, sep } = this.tokens;
    const B = pairs.length;
    const tokens = pairs.reduce((n, p) => n + p.target.length + 1, 0);
    const m = this.model;
    if (m instanceof GPT) {
      // source <sep> target, right-padded; position t predicts token t + 1, scored only from <sep> on
      const T = Math.max(...pairs.map((p) => p.source.length + 1 + p.target.length));
      const ids = new Int32Array(B * T).fill(pad), targets = new Int32Array(B * T).fill(-100);
      pairs.forEach((p, b) => {
        const row = [...p.source, sep, ...p.target];
        ids.set(row, b * T);
        targets.set([...p.target, eos], b * T + p.source.length);
      });
      const inputIds = ops.fromArray(ids, [B, T], { dtype: 'int32' }), labels = ops.fromArray(targets, [B, T], { dtype: 'int32' });
      return { tokens, loss: () => m.forward({ inputIds, targets: labels }).loss! };
    }
    const S = Math.max(...pairs.map((p) => p.source.length)), T = Math.max(...pairs.map((p) => p.target.length + 1));
    const src = new Int32Array(B * S).fill(m.config.pad_token_id), srcMask = new Float32Array(B * S);
    const dec = new Int32Array(B * T).fill(pad), decMask = new Float32Array(B * T), lab = new Int32Array(B * T).fill(-100);
    pairs.forEach((p, b) => {
      src.set(p.source, b * S);
      srcMask.fill(1, b * S, b * S + p.source.length);
      // the decoder inputs are built here rather than shifted from the labels, so that a pad id shared with a real
      // token (GPT-2's <|endoftext|>) does not mask it
      dec.set([start, ...p.target], b * T);
      decMask.fill(1, b * T, b * T + p.target.length + 1);
      lab.set([...p.target, eos], b * T);
    });
    const inputs = {
      inputIds: ops.fromArray(src, [B, S], { dtype: 'int32' }), attentionMask: ops.fromArray(srcMask, [B, S]),
      decoderInputIds: ops.fromArray(dec, [B, T], { dtype: 'int32' }), decoderAttentionMask: ops.fromArray(decMask, [B, T]),
      labels: ops.fromArray(lab, [B, T], { dtype: 'int32' }),
    };
    return { tokens, loss: () => m.forward(inputs).loss! };
  }

  /** The model as seq2seq-generate.ts drives it. */
  generator(): ConditionalGenerator {
    return this.model instanceof GPT
      ? gptConditionalGenerator(this.model, { sep: this.tokens.sep, eos: this.tokens.eos })
      : encoderDecoderGenerator(this.model);
  }

  /**
   * Translates source ids (within the limits) into target text, in evaluation mode: opts.numReturnSequences (N,
   * default 1) translations per source, those of source i at i·N..i·N+N-1 (beam search's best first).
   */
  async translateIds(sources: readonly (readonly number[])[], opts: Seq2SeqGenerateOptions = {}): Promise<string[]> {
    const wasTraining = this.model.training;
    this.model.eval();
    try {
      const out = await generateSequences(this.generator(), sources, opts);
      return out.map((r) => this.decodeTarget(r.tokens));
    } finally {
      this.model.train(wasTraining);
    }
  }

  /** Writes the tokenizers and generation_config.json (the special tokens) into a model directory. */
  async saveExtras(dir: string): Promise<void> {
    this.sourceTokenizer.save(nodePath.join(dir, 'tokenizer.json'));
    if (this.targetTokenizer !== this.sourceTokenizer) this.targetTokenizer.save(nodePath.join(dir, TARGET_TOKENIZER_FILE));
    const { start, eos, pad, sep } = this.tokens;
    // transformers' GenerationConfig fields; sep_token_id is ours (GPT's prompt), which it keeps as an extra field
    const generation = { decoder_start_token_id: this.kind === 'gpt' ? undefined : start, eos_token_id: eos, pad_token_id: pad, ...(this.kind === 'gpt' ? { sep_token_id: sep } : {}) };
    await fsp.writeFile(nodePath.join(dir, GENERATION_CONFIG), `${JSON.stringify(generation, null, 2)}\n`);
  }

  /** A model directory written by `saveExtras` beside the model (a checkpoint or best), in evaluation mode. */
  static async load(dir: string): Promise<Seq2Seq> {
    const { model } = await loadPretrained(dir);
    if (!(model instanceof EncoderDecoderModel) && !(model instanceof GPT)) {
      throw new Error(`${dir}: a ${model.constructor.name}, not an encoder-decoder or a GPT (pretrain seq2seq train writes those)`);
    }
    const read = async (file: string) => {
      const path = nodePath.join(dir, file);
      try {
        await fsp.access(path);
      } catch {
        return null;
      }
      return Tokenizer.fromFile(path);
    };
    const source = await read('tokenizer.json');
    if (!source) throw new Error(`${dir}: no tokenizer.json beside the model (pretrain seq2seq train writes it)`);
    const target = (await read(TARGET_TOKENIZER_FILE)) ?? source;
    let tokens = specialTokens(target, dir);
    const genPath = nodePath.join(dir, GENERATION_CONFIG);
    const gen = JSON.parse(await fsp.readFile(genPath, 'utf8').catch(() => '{}')) as Record<string, unknown>;
    const id = (v: unknown, fallback: number) => (Number.isInteger(v) ? (v as number) : fallback);
    if (model instanceof EncoderDecoderModel) {
      tokens = { ...tokens, start: model.config.decoder_start_token_id, pad: model.config.pad_token_id, eos: model.config.eos_token_id ?? id(gen.eos_token_id, tokens.eos) };
    } else {
      if (gen.sep_token_id === undefined) throw new Error(`${genPath}: no sep_token_id, so this GPT was not trained as a conditional generator (pretrain seq2seq train --model gpt writes it)`);
      tokens = { ...tokens, sep: id(gen.sep_token_id, tokens.sep), eos: id(gen.eos_token_id, tokens.eos), pad: id(gen.pad_token_id, tokens.pad) };
    }
    return new Seq2Seq(model.eval(), source, target, tokens);
  }
}

// ---------------------------------------------------------------------------------------------------------------
// Building a model to train

/** The shape of a side (or of GPT) built from scratch. */
export interface Seq2SeqShape {
  layers: number;
  dim: number;
  heads: number;
  /** Feed-forward width. */
  ffn: number;
  /** Positions of each side. */
  positions: number;
  dropout: number;
}

/** What to build: the kind, each side warm-started from a directory or from scratch, and the tokenizers. */
export interface Seq2SeqSpec {
  kind: 'encoder-decoder' | 'gpt';
  /** Encoder-decoder: a BERT or GPT-2 model directory for the encoder; absent: from scratch of `encoderType`. */
  encoder?: string;
  /** Encoder-decoder: the decoder's directory; GPT: the GPT to fine-tune. Absent: from scratch. */
  decoder?: string;
  encoderType: SideType;
  decoderType: SideType;
  shape: Seq2SeqShape;
  /** Tie the encoder's weights to the decoder's (needs sides of one type and shape, and one vocabulary). */
  tie: boolean;
  /** tokenizer.json files to use instead of the warm-started models' or ones trained here. */
  sourceTokenizer?: string;
  targetTokenizer?: string;
  /** The vocabulary size of a tokenizer trained here (WordPiece, cased). */
  vocabSize: number;
}

/** What building did besides the model: what warm starting loaded and which tokenizers were trained here. */
export interface BuildReport {
  warmStart: WarmStartReport | LoadReport | null;
  trainedTokenizers: ('source' | 'target' | 'joint')[];
}

/** The tokenizer.json of a model directory, or null. */
async function tokenizerOf(dir: string): Promise<Tokenizer | null> {
  const path = nodePath.join(dir, 'tokenizer.json');
  return fsp.access(path).then(() => Tokenizer.fromFile(path), () => null);
}

function scratchSide(type: SideType, vocab: number, s: Seq2SeqShape, pad: number): SideConfig {
  if (type === 'bert') {
    return { model_type: 'bert', ...bertConfig({ vocab_size: vocab, hidden_size: s.dim, num_hidden_layers: s.layers, num_attention_heads: s.heads, intermediate_size: s.ffn,
      max_position_embeddings: s.positions, hidden_dropout_prob: s.dropout, attention_probs_dropout_prob: s.dropout, pad_token_id: pad }, 'seq2seq') };
  }
  return { model_type: 'gpt2', ...gptConfig({ vocab_size: vocab, n_positions: s.positions, n_embd: s.dim, n_layer: s.layers, n_head: s.heads, n_inner: s.ffn,
    resid_pdrop: s.dropout, embd_pdrop: s.dropout, attn_pdrop: s.dropout, pad_token_id: pad }, 'seq2seq') };
}

/**
 * Builds a seq2seq model to train: sides warm-started from directories (their tokenizer.json with them) or from
 * scratch of `shape`, with a cased WordPiece tokenizer trained on `texts` for each side that brings none (GPT: one
 * over both sides, with [SEP] between them and [EOS] after the target).
 */
export async function buildSeq2Seq(spec: Seq2SeqSpec, texts: { source: readonly string[]; target: readonly string[] }): Promise<{ seq2seq: Seq2Seq; report: BuildReport }> {
  const trained: BuildReport['trainedTokenizers'] = [];
  const given = async (path: string | undefined) => (path ? Tokenizer.fromFile(path) : null);
  const train = async (lines: readonly string[], kind: 'source' | 'target' | 'joint', specialTokens?: string[]) => {
    trained.push(kind);
    return trainWordPiece(lines, { vocabSize: spec.vocabSize, lowercase: false, ...(specialTokens ? { specialTokens } : {}) });
  };
  if (spec.kind === 'gpt') {
    const tok = (await given(spec.sourceTokenizer ?? spec.targetTokenizer)) ?? (spec.decoder ? await tokenizerOf(spec.decoder) : null)
      ?? await train([...texts.source, ...texts.target], 'joint', ['[PAD]', '[UNK]', '[SEP]', '[EOS]']);
    if (!tok) throw new Error(`${spec.decoder}: no tokenizer.json beside the GPT (give --tokenizer)`);
    const tokens = specialTokens(tok, 'the tokenizer');
    if (spec.decoder) {
      const { model, report } = await loadPretrained(spec.decoder);
      if (!(model instanceof GPT)) throw new Error(`${spec.decoder}: a ${model.constructor.name}, not a GPT (GPT2LMHeadModel) to fine-tune`);
      return { seq2seq: new Seq2Seq(model, tok, tok, tokens), report: { warmStart: report, trainedTokenizers: trained } };
    }
    const side = scratchSide('gpt2', tok.vocabSize, spec.shape, tokens.pad) as SideConfig & { model_type: 'gpt2' };
    const { model_type: _, ...config } = side;
    return { seq2seq: new Seq2Seq(new GPT({ ...config, add_cross_attention: false }), tok, tok, tokens), report: { warmStart: null, trainedTokenizers: trained } };
  }
  const source = (await given(spec.sourceTokenizer)) ?? (spec.encoder ? await tokenizerOf(spec.encoder) : null);
  if (spec.encoder && !source) throw new Error(`${spec.encoder}: no tokenizer.json beside the encoder (give --source-tokenizer)`);
  const sourceTok = source ?? await train(texts.source, 'source');
  const target = (await given(spec.targetTokenizer)) ?? (spec.decoder ? await tokenizerOf(spec.decoder) : null) ?? (spec.tie ? sourceTok : null);
  if (spec.decoder && !target) throw new Error(`${spec.decoder}: no tokenizer.json beside the decoder (give --target-tokenizer)`);
  // one tokenizer when both sides bring the same (bert2bert from one checkpoint), so it is saved once
  const same = target && JSON.stringify(target.toJSON()) === JSON.stringify(sourceTok.toJSON());
  const targetTok = same ? sourceTok : target ?? await train(texts.target, 'target');
  const tokens = specialTokens(targetTok, 'the target tokenizer');
  const { model, report } = await warmStartEncoderDecoder(
    spec.encoder ? { dir: spec.encoder } : { config: scratchSide(spec.encoderType, sourceTok.vocabSize, spec.shape, sourceTok.tokenToId('[PAD]') ?? 0) },
    spec.decoder ? { dir: spec.decoder } : { config: scratchSide(spec.decoderType, targetTok.vocabSize, spec.shape, tokens.pad) },
    { decoder_start_token_id: tokens.start, pad_token_id: tokens.pad, eos_token_id: tokens.eos, tie_encoder_decoder: spec.tie },
  );
  return { seq2seq: new Seq2Seq(model, sourceTok, targetTok, tokens), report: { warmStart: report, trainedTokenizers: trained } };
}

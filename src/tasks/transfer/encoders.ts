// One interface for every pretrained model as a source of per-token features: it tokenises words (tracing tokens
// back to words), and runs a padded batch to the hidden states of each of its layers. BERT and GPT-2 (ours or
// transformers'), static word vectors (word2vec, GloVe) as an embedding layer, and the same architectures with random
// weights for baselines implement it; the recurrent models plug in the same way.
import { BertModel } from '../../models/bert.js';
import { GPT2Model } from '../../models/gpt.js';
import type { WordVectors } from '../../models/vectors.js';
import { tokenize } from '../../text/word-lm.js';
import { Embedding, Module, Parameter } from '../../nn/index.js';
import * as ops from '../../tensor/ops.js';
import type { Tensor } from '../../tensor/tensor.js';
import type { Template, Tokenizer } from '../../text/tokenizer.js';
import { tokenizeExamples, type TokenizedInput, type TokenizeOptions, type TokenizeReport, type WordsInput } from './inputs.js';

/** A padded batch of tokenised inputs, as tensors. */
export interface TokenBatch {
  /** int32 [B, T]. */
  inputIds: Tensor;
  /** int32 [B, T] segment ids. */
  typeIds: Tensor;
  /** float32 [B, T]: 1 for real tokens, 0 for padding. */
  mask: Tensor;
  /** Each row's length before padding. */
  lengths: number[];
  /** inputIds on the host, where the batch was made there (encoders that look ids up on the CPU read them without a device read). */
  hostIds?: Int32Array;
}

/** What an encoder gives for a batch. */
export interface EncodedBatch {
  /** Each layer's states [B, T, H], bottom up: the embeddings' output first, the top layer's last. */
  hiddenStates: Tensor[];
  /** [B, T]: 1 for real tokens, 0 for padding. */
  mask: Tensor;
  /** The first token of each input word, per row (-1 for a word with no token in that row's window). */
  wordStarts: number[][];
}

/** A pretrained (or fresh) model as a source of per-token features. */
export interface Encoder {
  /** What kind of model: 'bert', 'gpt2', 'static' (word vectors), ... */
  readonly kind: string;
  /** The modules whose parameters the encoder has, bottom up: embeddings, then one per layer (for freezing below K). */
  readonly layers: readonly Module[];
  /** Hidden states per batch (layers.length, or 1 for an embedding alone). */
  readonly numStates: number;
  readonly hiddenSize: number;
  /** The longest input it takes, special tokens included (Infinity where there is no limit). */
  readonly maxTokens: number;
  /** The id that pads a batch. */
  readonly padId: number;
  /** Where a sequence's own state is: its first token (BERT's [CLS]) or its last real one (GPT's extract token). */
  readonly sequenceToken: 'first' | 'last';
  /** Tokenises words, cutting long sequences into windows (see inputs.ts). */
  tokenize(examples: readonly WordsInput[], opts?: Partial<TokenizeOptions>): { inputs: TokenizedInput[]; report: TokenizeReport };
  /** Runs a padded batch: every layer's hidden states [B, T, H]. */
  forward(batch: TokenBatch): Tensor[];
  /** How a text becomes words for this encoder (default: whitespace; word vectors use their trainer's tokenisation). */
  splitText?(text: string): string[];
}

/** How a model directory of one model_type becomes an encoder. */
export interface EncoderLoader {
  /** The pretrained encoder saved in `dir` (its config.json already read as `config`). */
  load(dir: string, config: Record<string, unknown>): Promise<Encoder>;
  /** The same architecture with random weights (and the same vocabulary), the from-scratch baseline. */
  scratch(dir: string, config: Record<string, unknown>): Promise<Encoder>;
}

/** Pads tokenised inputs into a batch (dynamic padding: to the longest row). */
export function padBatch(inputs: readonly TokenizedInput[], padId: number): TokenBatch {
  const B = inputs.length;
  const T = Math.max(1, ...inputs.map((x) => x.ids.length));
  const ids = new Int32Array(B * T).fill(padId), types = new Int32Array(B * T), mask = new Float32Array(B * T);
  inputs.forEach((x, b) => {
    ids.set(x.ids, b * T);
    types.set(x.typeIds, b * T);
    mask.fill(1, b * T, b * T + x.ids.length);
  });
  return {
    inputIds: ops.fromArray(ids, [B, T], { dtype: 'int32' }), typeIds: ops.fromArray(types, [B, T], { dtype: 'int32' }),
    mask: ops.fromArray(mask, [B, T]), lengths: inputs.map((x) => x.ids.length), hostIds: ids,
  };
}

/** Tokenises, pads and runs examples: the encoder interface in one call (training loops batch themselves). */
export function encode(encoder: Encoder, examples: readonly WordsInput[]): EncodedBatch & { inputs: TokenizedInput[]; report: TokenizeReport } {
  const { inputs, report } = encoder.tokenize(examples);
  const batch = padBatch(inputs, encoder.padId);
  return { hiddenStates: encoder.forward(batch), mask: batch.mask, wordStarts: inputs.map((x) => x.wordStarts), inputs, report };
}

/** The tokenizer's padding token: its padding setting's, else [PAD], <pad> or GPT-2's <|endoftext|>, else 0. */
function tokenizerPad(tok: Tokenizer): number {
  const named = tok.padding?.padToken;
  return (named !== undefined ? tok.tokenToId(named) : undefined) ?? tok.tokenToId('[PAD]') ?? tok.tokenToId('<pad>') ?? tok.tokenToId('<|endoftext|>') ?? 0;
}

/** BERT (BertModel, ours or transformers') as an encoder; tokens are WordPiece (or whatever tokenizer.json holds). */
export class BertEncoder implements Encoder {
  readonly kind = 'bert';
  readonly sequenceToken = 'first';
  readonly padId: number;
  constructor(readonly model: BertModel, readonly tokenizer: Tokenizer, private readonly separator = ' ') {
    this.padId = model.config.pad_token_id ?? tokenizerPad(tokenizer);
  }
  get layers(): Module[] { return [this.model.embeddings, ...this.model.encoder.layer]; }
  get numStates(): number { return this.model.config.num_hidden_layers + 1; }
  get hiddenSize(): number { return this.model.config.hidden_size; }
  get maxTokens(): number { return this.model.config.max_position_embeddings; }
  tokenize(examples: readonly WordsInput[], opts: Partial<TokenizeOptions> = {}) {
    return tokenizeExamples(this.tokenizer, this.tokenizer.config.template ?? null, examples, { maxTokens: this.maxTokens, separator: this.separator, ...opts });
  }
  forward(batch: TokenBatch): Tensor[] {
    return this.model.forward({ inputIds: batch.inputIds, tokenTypeIds: batch.typeIds, attentionMask: batch.mask }).hiddenStates;
  }
}

/**
 * GPT-2 as an encoder. Its tokenizer carries GPT's fine-tuning template (`<start> A <delim> B <extract>`, Radford et
 * al. 2018) when `gptTransferTokenizer` made it; the sequence's state is its last real token.
 */
export class GPT2Encoder implements Encoder {
  readonly kind = 'gpt2';
  readonly sequenceToken = 'last';
  readonly padId: number;
  constructor(readonly model: GPT2Model, readonly tokenizer: Tokenizer, private readonly separator = ' ') {
    this.padId = model.config.pad_token_id ?? tokenizerPad(tokenizer);
  }
  get layers(): Module[] { return [new EmbeddingsOf(this.model), ...this.model.h]; }
  get numStates(): number { return this.model.config.n_layer + 1; }
  get hiddenSize(): number { return this.model.config.n_embd; }
  get maxTokens(): number { return this.model.config.n_positions; }
  tokenize(examples: readonly WordsInput[], opts: Partial<TokenizeOptions> = {}) {
    return tokenizeExamples(this.tokenizer, this.tokenizer.config.template ?? null, examples, { maxTokens: this.maxTokens, separator: this.separator, ...opts });
  }
  forward(batch: TokenBatch): Tensor[] {
    return this.model.forward({ inputIds: batch.inputIds, attentionMask: batch.mask }).hiddenStates;
  }
}

/** GPT-2's token and position embeddings as one module (the bottom "layer" for freezing). */
class EmbeddingsOf extends Module {
  wte: Embedding;
  wpe: Embedding;
  constructor(model: GPT2Model) {
    super();
    this.wte = model.wte;
    this.wpe = model.wpe;
  }
}

/**
 * GPT's added tokens for task inputs (Radford et al. 2018, section 3.3): start, delimiter and extract; and a padding
 * token of its own, so that padding never reads as text (GPT-2 has none).
 */
export const GPT_TASK_TOKENS = { start: '<|start|>', delimiter: '<|delim|>', extract: '<|extract|>', pad: '<|pad|>' } as const;

/** The template GPT fine-tuning uses, over GPT_TASK_TOKENS. */
export function gptTaskTemplate(): Template {
  const t = GPT_TASK_TOKENS;
  return {
    single: [{ special: t.start, typeId: 0 }, { sequence: 'A', typeId: 0 }, { special: t.extract, typeId: 0 }],
    pair: [{ special: t.start, typeId: 0 }, { sequence: 'A', typeId: 0 }, { special: t.delimiter, typeId: 0 }, { sequence: 'B', typeId: 0 }, { special: t.extract, typeId: 0 }],
  };
}

/**
 * Inputs of one token per word (word-level encoders: static vectors, the NNLM): a pair's second sequence follows the
 * first with segment id 1, and nothing is ever windowed (no context limit).
 */
export function wordTokens(examples: readonly WordsInput[], idOf: (word: string) => number): { inputs: TokenizedInput[]; report: TokenizeReport } {
  const inputs = examples.map((ex, example) => {
    const words = [...ex.words, ...(ex.pair ?? [])];
    const typeIds = [...ex.words.map(() => 0), ...(ex.pair ?? []).map(() => 1)];
    return { ids: words.map(idOf), typeIds, wordStarts: words.map((_, i) => i), scoredWords: words.map(() => true), example, window: 0 };
  });
  return { inputs, report: { windowed: 0, truncatedPairs: 0, emptyWords: 0 } };
}

/** What to do with a word that has no vector. */
export type OovPolicy = 'zero' | 'unk';

/** Options of the static-vector encoder. */
export interface StaticEncoderOptions {
  /** Look words up lowercased (word2vec and GloVe trained here lowercase their corpora). Default true. */
  lowercase?: boolean;
  /**
   * Out-of-vocabulary words: 'zero' maps them to a fixed zero vector, 'unk' to one shared vector that trains (it
   * starts at zero). Default 'unk'.
   */
  oov?: OovPolicy;
}

/**
 * Static word vectors (word2vec, GloVe) as an embedding layer: one state per word, and nothing contextual — the same
 * vector for "bank" in every sentence. Row `size` is the out-of-vocabulary vector and row `size + 1` is padding.
 */
export class StaticEncoder implements Encoder {
  readonly kind = 'static';
  readonly sequenceToken = 'first';
  readonly maxTokens = Infinity;
  readonly numStates = 1;
  readonly embedding: Embedding;
  readonly padId: number;
  readonly unkId: number;
  private readonly index = new Map<string, number>();
  private readonly lowercase: boolean;
  constructor(readonly vectors: WordVectors, readonly opts: StaticEncoderOptions = {}) {
    this.lowercase = opts.lowercase ?? true;
    const { size, dim } = vectors;
    vectors.words.forEach((w, i) => { const k = this.lowercase ? w.toLowerCase() : w; if (!this.index.has(k)) this.index.set(k, i); });
    this.unkId = size;
    this.padId = size + 1;
    const table = new Float32Array((size + 2) * dim);
    table.set(vectors.vectors);
    this.embedding = new Embedding(size + 2, dim);
    this.embedding.weight = new Parameter(ops.fromArray(table, [size + 2, dim]));
  }
  get layers(): Module[] { return [this.embedding]; }
  get hiddenSize(): number { return this.vectors.dim; }

  /** The text's words as the vectors' trainer split its corpus (lowercase runs of letters and digits). */
  splitText(text: string): string[] {
    return tokenize(text);
  }

  /** The row of a word (the out-of-vocabulary row for unknown words). */
  idOf(word: string): number {
    return this.index.get(this.lowercase ? word.toLowerCase() : word) ?? this.unkId;
  }

  tokenize(examples: readonly WordsInput[]) {
    return wordTokens(examples, (w) => this.idOf(w));
  }

  /** The share of words with no vector (out of vocabulary) in some examples. */
  oovRate(examples: readonly WordsInput[]): number {
    let n = 0, oov = 0;
    for (const ex of examples) for (const w of [...ex.words, ...(ex.pair ?? [])]) { n++; if (this.idOf(w) === this.unkId) oov++; }
    return n ? oov / n : 0;
  }

  forward(batch: TokenBatch): Tensor[] {
    const out = this.embedding.forward(batch.inputIds);
    if ((this.opts.oov ?? 'unk') === 'unk') return [out];
    // 'zero': unknown words contribute nothing, whatever the row has learnt
    const known = ops.ne(batch.inputIds, this.unkId).cast('float32');
    return [ops.mul(out, ops.unsqueeze(known, -1))];
  }
}

export type { WordsInput, TokenizedInput, TokenizeReport } from './inputs.js';

// ELMo's bidirectional language model (Peters et al. 2018, "Deep contextualized word representations"), the whole
// model in one file, following bilm-tf (the authors' code) and AllenNLP (which loads its weights):
//   - each token is its UTF-8 bytes between begin- and end-of-word marks (at most 50 ids of 262, 0 for padding);
//   - a character CNN: 16-dim character embeddings, convolutions of widths 1-7 max-pooled over the characters, ReLU,
//     highway layers, a linear projection to P;
//   - a forward and a backward LM, each a stack of LSTMs with projection (cell size, projection P, cell and projection
//     clipping), a residual connection between layer 1 and layer 2; both share the token encoder and the softmax;
//   - loss: the mean of the two directions' next-token (previous-token) cross-entropy, over the full vocabulary or a
//     sampled softmax (log-uniform candidates, as bilm-tf trains its 793k-word vocabulary).
// Its representations of a token: the token layer duplicated [x; x], then each LSTM layer [forward; backward], each
// 2P wide; `Elmo` mixes them with learned scalar weights (eq. 1 of the paper).
//
// The config's char_cnn and lstm blocks are those of bilm-tf's options.json, so published models' options read as
// they are. Parameter names say what each part is; the LSTMs use PyTorch's (weight_ih_l0, ...).
import { Conv1d, Dropout, Embedding, Highway, Linear, LSTM, Module, Parameter, ScalarMix, sampledSoftmaxLoss } from '../nn/index.js';
import { constantParam, normalParam } from '../nn/init.js';
import { noGrad } from '../tensor/autograd.js';
import * as ops from '../tensor/ops.js';
import type { Tensor } from '../tensor/tensor.js';
import { checkSizes, readConfigFields, type ModelFamily } from './family.js';

/** bilm-tf's character ids, plus one (AllenNLP's shift, so that 0 is a padding token's character). */
export const ELMO_CHARS = {
  /** Begin and end of sentence: the `<S>` and `</S>` tokens' one character. */
  bos: 257, eos: 258,
  /** Begin and end of word, around every token's bytes. */
  bow: 259, eow: 260,
  /** Padding within a token, after its end-of-word mark. */
  pad: 261,
  /** The ids: bytes 1-256, the five marks, and 0. */
  count: 262,
} as const;

/** bilm-tf's sentence-boundary tokens and unknown word. */
export const ELMO_TOKENS = { bos: '<S>', eos: '</S>', unk: '<UNK>' } as const;

/** The character CNN, as bilm-tf's options.json `char_cnn`. */
export interface ElmoCharCnnConfig {
  embedding: { dim: number };
  /** [width, number of filters] per convolution. */
  filters: [number, number][];
  n_highway: number;
  activation: 'relu' | 'tanh';
  /** Character ids (262: bytes, marks, padding). */
  n_characters: number;
  max_characters_per_token: number;
}

/** The LSTM stacks, as bilm-tf's options.json `lstm`. */
export interface ElmoLstmConfig {
  /** The cell size. */
  dim: number;
  /** P: the projection, the LSTM outputs' and the token embedding's width. */
  projection_dim: number;
  n_layers: number;
  cell_clip: number | null;
  proj_clip: number | null;
  /** The residual connection around every layer but the first. */
  use_skip_connections: boolean;
}

/** An ELMo biLM's configuration, as its config.json holds it (`model_type: "elmo"`). */
export interface ElmoConfig {
  /** The softmax's words: `<S>`, `</S>`, `<UNK>` then the rest by falling frequency (vocab.txt). */
  vocab_size: number;
  char_cnn: ElmoCharCnnConfig;
  lstm: ElmoLstmConfig;
  /** Dropout on every LSTM layer's input and on the softmax's (bilm-tf's 1 − keep_prob). */
  dropout: number;
  /** Training's sampled softmax: candidates per step (bilm-tf's n_negative_samples_batch); 0, or not fewer than the vocabulary, is the full softmax. */
  n_negative_samples: number;
}

/** The published filter set of the small and original models. */
const FULL_FILTERS: [number, number][] = [[1, 32], [2, 32], [3, 64], [4, 128], [5, 256], [6, 512], [7, 1024]];

function charCnn(filters: [number, number][], nHighway: number): ElmoCharCnnConfig {
  return { embedding: { dim: 16 }, filters, n_highway: nHighway, activation: 'relu', n_characters: ELMO_CHARS.count, max_characters_per_token: 50 };
}

function lstm(dim: number, projection: number): ElmoLstmConfig {
  return { dim, projection_dim: projection, n_layers: 2, cell_clip: 3, proj_clip: 3, use_skip_connections: true };
}

/**
 * The named configurations: `small` and `original` are the published ones (13.6M and 93.6M parameters without the
 * softmax); `tiny` is ours, a quarter of the filters and 512 cells with projection 64, sized to train in minutes on
 * two cores.
 */
export const ELMO_CONFIGS = {
  tiny: { char_cnn: charCnn(FULL_FILTERS.map(([w, n]) => [w, n / 4]), 1), lstm: lstm(512, 64) },
  small: { char_cnn: charCnn(FULL_FILTERS, 1), lstm: lstm(1024, 128) },
  original: { char_cnn: charCnn(FULL_FILTERS, 2), lstm: lstm(4096, 512) },
} as const satisfies Record<string, Pick<ElmoConfig, 'char_cnn' | 'lstm'>>;

export type ElmoConfigName = keyof typeof ELMO_CONFIGS;

/** A configuration: a named one (default tiny) with `overrides`, checked; `where` names the source in errors. */
export function elmoConfig(overrides: Partial<ElmoConfig> = {}, where = 'ElmoConfig', name: ElmoConfigName = 'tiny'): ElmoConfig {
  const base = ELMO_CONFIGS[name];
  const cfg: ElmoConfig = {
    vocab_size: 10000, dropout: 0.1, n_negative_samples: 0, ...overrides,
    char_cnn: { ...base.char_cnn, filters: base.char_cnn.filters.map(([w, n]) => [w, n]), ...overrides.char_cnn },
    lstm: { ...base.lstm, ...overrides.lstm },
  };
  checkSizes(where, cfg, ['vocab_size']);
  checkSizes(`${where}: char_cnn`, cfg.char_cnn, ['n_characters', 'max_characters_per_token']);
  if (!(Number.isInteger(cfg.char_cnn.n_highway) && cfg.char_cnn.n_highway >= 0)) throw new Error(`${where}: char_cnn.n_highway must be a non-negative integer, got ${cfg.char_cnn.n_highway}`);
  checkSizes(`${where}: char_cnn.embedding`, cfg.char_cnn.embedding, ['dim']);
  checkSizes(`${where}: lstm`, cfg.lstm, ['dim', 'projection_dim', 'n_layers']);
  const { filters, max_characters_per_token: maxChars, activation } = cfg.char_cnn;
  if (!Array.isArray(filters) || filters.length === 0 || !filters.every((f) => Array.isArray(f) && f.length === 2 && f.every((v) => Number.isInteger(v) && v > 0))) {
    throw new Error(`${where}: char_cnn.filters must be a list of [width, count] pairs of positive integers, got ${JSON.stringify(filters)}`);
  }
  const widest = Math.max(...filters.map(([w]) => w));
  if (widest > maxChars) throw new Error(`${where}: a filter of width ${widest} is wider than max_characters_per_token ${maxChars}`);
  if (maxChars < 3) throw new Error(`${where}: max_characters_per_token must leave room for the word marks (3 or more), got ${maxChars}`);
  if (activation !== 'relu' && activation !== 'tanh') throw new Error(`${where}: char_cnn.activation must be relu or tanh, got ${String(activation)}`);
  if (cfg.char_cnn.n_characters < ELMO_CHARS.count) throw new Error(`${where}: char_cnn.n_characters must be at least ${ELMO_CHARS.count}, got ${cfg.char_cnn.n_characters}`);
  for (const clip of ['cell_clip', 'proj_clip'] as const) {
    const v = cfg.lstm[clip];
    if (v !== null && !(v > 0)) throw new Error(`${where}: lstm.${clip} must be positive or null, got ${v}`);
  }
  if (!(cfg.dropout >= 0 && cfg.dropout < 1)) throw new Error(`${where}: dropout must be in [0, 1), got ${cfg.dropout}`);
  if (!(Number.isInteger(cfg.n_negative_samples) && cfg.n_negative_samples >= 0)) throw new Error(`${where}: n_negative_samples must be a non-negative integer, got ${cfg.n_negative_samples}`);
  return cfg;
}

const encoder = new TextEncoder();
const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;

/** What `charIds` did to a token: whether it was cut, and whether it held text that is not valid Unicode. */
export interface CharIdsReport { truncated: boolean; replaced: boolean }

/**
 * A token's character ids, as bilm-tf's UnicodeCharsVocabulary plus one: begin-of-word, its UTF-8 bytes cut to
 * `maxChars` − 2 (bilm-tf cuts the bytes, even within a character), end-of-word, padding; `<S>` and `</S>` are their
 * sentence marks between word marks. A lone surrogate (no character) is U+FFFD, Unicode's replacement character.
 */
export function charIds(token: string, maxChars = 50, out = new Int32Array(maxChars), report?: CharIdsReport): Int32Array {
  out.fill(ELMO_CHARS.pad);
  out[0] = ELMO_CHARS.bow;
  if (token === ELMO_TOKENS.bos || token === ELMO_TOKENS.eos) {
    out[1] = token === ELMO_TOKENS.bos ? ELMO_CHARS.bos : ELMO_CHARS.eos;
    out[2] = ELMO_CHARS.eow;
    return out;
  }
  const bytes = encoder.encode(token);
  const n = Math.min(bytes.length, maxChars - 2);
  for (let i = 0; i < n; i++) out[i + 1] = bytes[i]! + 1;
  out[n + 1] = ELMO_CHARS.eow;
  if (report) {
    report.truncated = bytes.length > n;
    report.replaced = LONE_SURROGATE.test(token);
  }
  return out;
}

/** The char CNN's activation. */
function activate(x: Tensor, name: 'relu' | 'tanh'): Tensor {
  return name === 'relu' ? ops.relu(x) : ops.tanh(x);
}

/** Characters to a token vector: embeddings, convolutions max-pooled over the characters, highway, projection. */
export class ElmoCharacterEncoder extends Module {
  char_embedding: Embedding;
  convolutions: Conv1d[];
  highway: Highway;
  projection: Linear;
  constructor(readonly config: ElmoConfig) {
    super();
    const { char_cnn: cnn, lstm: { projection_dim: P } } = config;
    const D = cnn.embedding.dim;
    const nFilters = cnn.filters.reduce((s, [, n]) => s + n, 0);
    // bilm-tf's initialisation: embeddings U(−1, 1), ReLU filters U(−0.05, 0.05), highway and projection N(0, 1/fan-in)
    this.char_embedding = new Embedding(cnn.n_characters, D);
    this.char_embedding.weight = uniformParam([cnn.n_characters, D], 1);
    noGrad(() => { this.char_embedding.weight = new Parameter(ops.mul(this.char_embedding.weight, rowMask(cnn.n_characters, D))); });
    this.convolutions = cnn.filters.map(([width, n]) => {
      const conv = new Conv1d(D, n, width);
      conv.weight = cnn.activation === 'relu' ? uniformParam([n, D, width], 0.05) : normalParam([n, D, width], Math.sqrt(1 / (width * D)));
      conv.bias = constantParam([n], 0);
      return conv;
    });
    this.highway = new Highway(nFilters, cnn.n_highway);
    for (const layer of this.highway.layers) {
      layer.weight = normalParam([2 * nFilters, nFilters], Math.sqrt(1 / nFilters));
      // bilm-tf's carry bias −2 (AllenNLP's gate is on the input, so +2): each layer starts close to the identity
      layer.bias = new Parameter(ops.concat([ops.zeros([nFilters]), ops.full([nFilters], 2)]));
    }
    this.projection = new Linear(nFilters, P);
    this.projection.weight = normalParam([P, nFilters], Math.sqrt(1 / nFilters));
    this.projection.bias = constantParam([P], 0);
  }

  get numFilters(): number { return this.config.char_cnn.filters.reduce((s, [, n]) => s + n, 0); }

  /** int32 character ids [N, maxChars] to token vectors [N, P]. */
  forward(chars: Tensor): Tensor {
    const x = ops.transpose(this.char_embedding.forward(chars), 1, 2); // (N, D, C)
    const act = this.config.char_cnn.activation;
    // bilm-tf pools before the activation (the same for ReLU, which is monotonic)
    const pooled = this.convolutions.map((conv) => activate(ops.maxOverTime(conv.forward(x)), act));
    const h = this.highway.forward(pooled.length === 1 ? pooled[0]! : ops.concat(pooled, -1));
    return this.projection.forward(h);
  }
}

/** U(−bound, bound). */
function uniformParam(shape: number[], bound: number): Parameter {
  return new Parameter(ops.sub(ops.mul(ops.rand(shape), 2 * bound), bound));
}

/** [rows, dim] of ones with row 0 zero: a padding token's characters embed to nothing. */
function rowMask(rows: number, dim: number): Tensor {
  const m = new Float32Array(rows * dim).fill(1);
  m.fill(0, 0, dim);
  return ops.fromArray(m, [rows, dim]);
}

/**
 * A batch for the biLM: the distinct tokens of the batch as characters, and each position's row among them (the char
 * CNN runs once per distinct token, then the rows are looked up).
 */
export interface ElmoBatch {
  /** int32 [U, maxChars]: the batch's distinct tokens. */
  chars: Tensor;
  /** int32 [B, T]: each position's row of `chars`. */
  tokens: Tensor;
  /** [B, T]: 1 for real positions, 0 for padding (only at the end of a row). */
  mask: Tensor;
  /**
   * Training and perplexity: per position (B·T, row-major), the vocabulary id the forward LM predicts there (the next
   * token's) and the backward LM (the previous token's), −1 where there is none.
   */
  targets?: { forward: Int32Array; backward: Int32Array };
}

/** What the biLM gives for a batch. */
export interface ElmoOutput {
  /** The representations [B, T, 2P], bottom up: [token; token], then [forward; backward] per LSTM layer. */
  layers: Tensor[];
  /** The token layer [B, T, P]. */
  tokenEmbedding: Tensor;
  /** With targets: the mean of the two directions' losses, and each (mean over its predicted positions). */
  loss?: Tensor;
  forwardLoss?: Tensor;
  backwardLoss?: Tensor;
}

/** The forward and backward LMs over the character encoder, with the shared softmax. */
export class ElmoBiLM extends Module {
  token_encoder: ElmoCharacterEncoder;
  forward_layers: LSTM[];
  backward_layers: LSTM[];
  /** The shared softmax: weight [vocab, P], bias [vocab]. */
  softmax: Linear;
  dropout: Dropout;
  constructor(readonly config: ElmoConfig) {
    super();
    const { dim, projection_dim: P, n_layers, cell_clip, proj_clip } = config.lstm;
    this.token_encoder = new ElmoCharacterEncoder(config);
    const stack = (reverse: boolean) => Array.from({ length: n_layers }, () => new LSTM({
      inputSize: P, hiddenSize: dim, projSize: P, cellClip: cell_clip ?? undefined, projClip: proj_clip ?? undefined, reverse,
    }));
    this.forward_layers = stack(false);
    this.backward_layers = stack(true);
    this.softmax = new Linear(P, config.vocab_size);
    this.softmax.weight = normalParam([config.vocab_size, P], 1 / Math.sqrt(P));
    this.softmax.bias = constantParam([config.vocab_size], 0);
    this.dropout = new Dropout(config.dropout);
  }

  /** The width of each representation layer: 2P. */
  get outputSize(): number { return 2 * this.config.lstm.projection_dim; }

  /** The representations (and, with targets, the losses) of a batch. */
  forward(batch: ElmoBatch): ElmoOutput {
    const mask = batch.mask;
    const table = this.token_encoder.forward(batch.chars); // (U, P)
    const tokenEmbedding = ops.mul(ops.embedding(table, batch.tokens), ops.unsqueeze(mask, -1));
    const run = (layers: LSTM[]): Tensor[] => {
      const outs: Tensor[] = [];
      let input = tokenEmbedding;
      layers.forEach((lstmLayer, l) => {
        let out = lstmLayer.forward(this.dropout.forward(input), { mask }).output;
        if (l > 0 && this.config.lstm.use_skip_connections) out = ops.add(out, input);
        outs.push(out);
        input = out;
      });
      return outs;
    };
    const fwd = run(this.forward_layers), bwd = run(this.backward_layers);
    const layers = [ops.concat([tokenEmbedding, tokenEmbedding], -1), ...fwd.map((f, l) => ops.concat([f, bwd[l]!], -1))];
    const out: ElmoOutput = { layers, tokenEmbedding };
    if (!batch.targets) return out;
    const f = this.directionLoss(fwd[fwd.length - 1]!, batch.targets.forward);
    const b = this.directionLoss(bwd[bwd.length - 1]!, batch.targets.backward);
    out.forwardLoss = f.loss;
    out.backwardLoss = b.loss;
    out.loss = ops.mul(ops.add(f.loss, b.loss), 0.5);
    return out;
  }

  /** One direction's mean loss over the positions with a target: sampled softmax in training when configured, else full. */
  private directionLoss(top: Tensor, targets: Int32Array): { loss: Tensor } {
    const P = this.config.lstm.projection_dim;
    const rows: number[] = [], ids: number[] = [];
    targets.forEach((t, i) => { if (t >= 0) { rows.push(i); ids.push(t); } });
    if (rows.length === 0) throw new Error('ElmoBiLM: a batch with targets has no position to predict (every sentence needs a token)');
    const hidden = ops.embedding(ops.reshape(this.dropout.forward(top), [-1, P]), ops.fromArray(Int32Array.from(rows), [rows.length], { dtype: 'int32' }));
    const k = this.config.n_negative_samples;
    if (this.training && k > 0 && k < this.config.vocab_size) {
      return { loss: sampledSoftmaxLoss(hidden, this.softmax.weight, this.softmax.bias, Int32Array.from(ids), { numSampled: k }) };
    }
    return { loss: ops.crossEntropy(this.softmax.forward(hidden), ops.fromArray(Int32Array.from(ids), [ids.length], { dtype: 'int32' })) };
  }

  /**
   * Each direction's summed negative log-likelihood and count over a batch with targets (full softmax, no dropout, no
   * gradient), for perplexity.
   */
  async negativeLogLikelihood(batch: ElmoBatch): Promise<{ forward: { sum: number; count: number }; backward: { sum: number; count: number } }> {
    if (!batch.targets) throw new Error('ElmoBiLM.negativeLogLikelihood: the batch has no targets');
    const wasTraining = this.training;
    this.eval();
    try {
      const { forwardLoss, backwardLoss } = noGrad(() => this.forward(batch));
      const count = (t: Int32Array) => t.reduce((n, v) => n + (v >= 0 ? 1 : 0), 0);
      const nf = count(batch.targets.forward), nb = count(batch.targets.backward);
      return {
        forward: { sum: (await forwardLoss!.item()) * nf, count: nf },
        backward: { sum: (await backwardLoss!.item()) * nb, count: nb },
      };
    } finally {
      if (wasTraining) this.train();
    }
  }
}

/** Options of Elmo's mixes, as AllenNLP's Elmo. */
export interface ElmoMixOptions {
  /** How many scalar mixes to learn (one per place a downstream model uses ELMo). Default 1. */
  numOutputRepresentations?: number;
  /** Layer-normalise each layer before mixing. */
  doLayerNorm?: boolean;
  /** Dropout on the mixed representations (AllenNLP's default 0.5). */
  dropout?: number;
  /** Keep the biLM's weights fixed (AllenNLP's requires_grad=False, the default). */
  frozen?: boolean;
}

/** AllenNLP's Elmo: a biLM's layers, mixed (γ·Σ softmax(w)_j·h_j) into one or more task representations. */
export class Elmo extends Module {
  scalar_mixes: ScalarMix[];
  dropout: Dropout;
  constructor(readonly bilm: ElmoBiLM, readonly opts: ElmoMixOptions = {}) {
    super();
    const layers = bilm.config.lstm.n_layers + 1;
    this.scalar_mixes = Array.from({ length: opts.numOutputRepresentations ?? 1 }, () => new ScalarMix(layers, { doLayerNorm: opts.doLayerNorm }));
    this.dropout = new Dropout(opts.dropout ?? 0.5);
    if (opts.frozen ?? true) bilm.requireGrad(false);
  }

  /** The mixed representations [B, T, 2P], one per output representation, zero at padding. */
  forward(batch: ElmoBatch): Tensor[] {
    const { layers } = this.bilm.forward({ ...batch, targets: undefined });
    const m = ops.unsqueeze(batch.mask, -1);
    return this.scalar_mixes.map((mix) => ops.mul(this.dropout.forward(mix.forward(layers, batch.mask)), m));
  }
}

/** The number of parameters bilm-tf counts (one bias per LSTM; ours keeps PyTorch's two), without the softmax. */
export function publishedParameterCount(model: ElmoBiLM): number {
  let n = 0;
  for (const [name, p] of model.namedParameters()) {
    if (name.startsWith('softmax.') || /\.bias_hh_l\d+$/.test(name)) continue;
    n += p.size;
  }
  return n - model.config.char_cnn.embedding.dim; // AllenNLP's padding row is not in bilm-tf's char_embed
}

/** ELMo in the model registry: config.json's `elmo` (our layout: bilm-tf's options plus the vocabulary size). */
export const elmoFamily: ModelFamily<ElmoConfig> = {
  modelType: 'elmo',
  basePrefix: 'elmo',
  architectures: [{ name: 'ElmoBiLM', model: ElmoBiLM, create: (config) => new ElmoBiLM(config), prefixed: false }],
  configFromJson: (raw, where) => {
    const fields = readConfigFields(raw, elmoConfig(), where);
    return elmoConfig(fields, where);
  },
  configToJson: (config) => ({ ...config }),
  renameKey: (key) => key,
};

/** A dataset of a bilm-tf weights file: its shape and values (row-major). */
export interface BilmTfDataset { shape: readonly number[]; data: Float32Array }

/**
 * A configuration from a bilm-tf / AllenNLP options.json (its `char_cnn` and `lstm` blocks), each missing or mistyped
 * key an error naming it. bilm-tf's 261 characters become 262 with AllenNLP's padding row.
 */
export function elmoConfigFromOptions(raw: unknown, where: string, vocabSize: number): ElmoConfig {
  const at = (path: string): unknown => path.split('.').reduce<unknown>((o, k) => (o !== null && typeof o === 'object' ? (o as Record<string, unknown>)[k] : undefined), raw);
  const need = <T>(path: string, check: (v: unknown) => boolean, what: string, fallback?: T): T => {
    const v = at(path);
    if (v === undefined && fallback !== undefined) return fallback;
    if (v === undefined) throw new Error(`${where}: missing key '${path}'`);
    if (!check(v)) throw new Error(`${where}: key '${path}' is ${JSON.stringify(v)}, expected ${what}`);
    return v as T;
  };
  const int = (v: unknown) => Number.isInteger(v) && (v as number) > 0;
  const clip = (path: string) => need<number | null>(path, (v) => v === null || (typeof v === 'number' && v > 0), 'a positive number or null', null);
  const chars = need<number>('char_cnn.n_characters', int, 'a positive integer');
  return elmoConfig({
    vocab_size: vocabSize, dropout: 0, n_negative_samples: 0,
    char_cnn: {
      embedding: { dim: need('char_cnn.embedding.dim', int, 'a positive integer') },
      filters: need('char_cnn.filters', (v) => Array.isArray(v), 'a list of [width, count] pairs'),
      n_highway: need('char_cnn.n_highway', (v) => Number.isInteger(v) && (v as number) >= 0, 'a non-negative integer'),
      activation: need('char_cnn.activation', (v) => v === 'relu' || v === 'tanh', "'relu' or 'tanh'"),
      n_characters: chars === ELMO_CHARS.count - 1 ? ELMO_CHARS.count : chars,
      max_characters_per_token: need('char_cnn.max_characters_per_token', int, 'a positive integer'),
    },
    lstm: {
      dim: need('lstm.dim', int, 'a positive integer'), projection_dim: need('lstm.projection_dim', int, 'a positive integer'),
      n_layers: need('lstm.n_layers', int, 'a positive integer'), cell_clip: clip('lstm.cell_clip'), proj_clip: clip('lstm.proj_clip'),
      use_skip_connections: need('lstm.use_skip_connections', (v) => typeof v === 'boolean', 'true or false', false),
    },
  }, where);
}

/**
 * Our state dict from a bilm-tf weights file (the layout of AllenNLP's published weights.hdf5), converted as AllenNLP
 * loads it: TensorFlow's x·W transposed to our W·x; the convolutions [1, width, dim, n] to [n, dim, width]; the
 * highway's carry gate negated (TensorFlow gates the transform, AllenNLP and we gate the input); the LSTM's packed
 * [input; state] kernel split, its gates reordered from TensorFlow's (i, j, f, o) to (i, f, g, o) and the forget
 * bias's built-in 1.0 added; the character table given its zero padding row. `read` names a dataset and must throw
 * (naming it) when the file has none. The softmax, which bilm-tf's dumps leave out, is taken when present
 * (`softmax/W` [vocab, P], `softmax/b`), else left as the model initialised it.
 */
export function elmoStateFromBilmTf(config: ElmoConfig, read: (dataset: string) => BilmTfDataset, has: (dataset: string) => boolean): Map<string, Tensor> {
  const state = new Map<string, Tensor>();
  const take = (name: string, shape: readonly number[]): Float32Array => {
    const d = read(name);
    if (d.shape.length !== shape.length || d.shape.some((n, i) => n !== shape[i])) {
      throw new Error(`dataset '${name}' has shape [${d.shape.join(', ')}], the options need [${shape.join(', ')}]`);
    }
    return d.data;
  };
  const put = (key: string, data: Float32Array, shape: number[]) => state.set(key, ops.fromArray(data, shape));
  const transpose = (x: Float32Array, rows: number, cols: number) => {
    const out = new Float32Array(rows * cols);
    for (let r = 0; r < rows; r++) for (let c = 0; c < cols; c++) out[c * rows + r] = x[r * cols + c]!;
    return out;
  };
  const { char_cnn: cnn, lstm } = config;
  const D = cnn.embedding.dim, P = lstm.projection_dim, C = lstm.dim;
  const table = new Float32Array(cnn.n_characters * D);
  table.set(take('char_embed', [cnn.n_characters - 1, D]), D);
  put('token_encoder.char_embedding.weight', table, [cnn.n_characters, D]);
  cnn.filters.forEach(([width, n], i) => {
    const w = take(`CNN/W_cnn_${i}`, [1, width, D, n]);
    const out = new Float32Array(n * D * width);
    for (let k = 0; k < width; k++) for (let d = 0; d < D; d++) for (let o = 0; o < n; o++) out[(o * D + d) * width + k] = w[(k * D + d) * n + o]!;
    put(`token_encoder.convolutions.${i}.weight`, out, [n, D, width]);
    put(`token_encoder.convolutions.${i}.bias`, take(`CNN/b_cnn_${i}`, [n]), [n]);
  });
  const F = cnn.filters.reduce((s, [, n]) => s + n, 0);
  for (let k = 0; k < cnn.n_highway; k++) {
    const weight = new Float32Array(2 * F * F), bias = new Float32Array(2 * F);
    weight.set(transpose(take(`CNN_high_${k}/W_transform`, [F, F]), F, F));
    weight.set(transpose(take(`CNN_high_${k}/W_carry`, [F, F]), F, F).map((v) => -v), F * F);
    bias.set(take(`CNN_high_${k}/b_transform`, [F]));
    bias.set(take(`CNN_high_${k}/b_carry`, [F]).map((v) => -v), F);
    put(`token_encoder.highway.layers.${k}.weight`, weight, [2 * F, F]);
    put(`token_encoder.highway.layers.${k}.bias`, bias, [2 * F]);
  }
  put('token_encoder.projection.weight', transpose(take('CNN_proj/W_proj', [F, P]), F, P), [P, F]);
  put('token_encoder.projection.bias', take('CNN_proj/b_proj', [P]), [P]);
  // TensorFlow's gate blocks (i, j, f, o) in our order (i, f, g, o): block b of ours is block TF_GATE[b] of theirs.
  const TF_GATE = [0, 2, 1, 3];
  for (let l = 0; l < lstm.n_layers; l++) {
    for (const [direction, side] of [[0, 'forward_layers'], [1, 'backward_layers']] as const) {
      const cell = `RNN_${direction}/RNN/MultiRNNCell/Cell${l}/LSTMCell`;
      const input = P;
      const kernel = take(`${cell}/W_0`, [input + P, 4 * C]); // [input + P, 4C], x·W
      const wIh = new Float32Array(4 * C * input), wHh = new Float32Array(4 * C * P);
      for (let b = 0; b < 4; b++) {
        for (let g = 0; g < C; g++) {
          const col = TF_GATE[b]! * C + g, row = b * C + g;
          for (let i = 0; i < input; i++) wIh[row * input + i] = kernel[i * 4 * C + col]!;
          for (let j = 0; j < P; j++) wHh[row * P + j] = kernel[(input + j) * 4 * C + col]!;
        }
      }
      const tfBias = take(`${cell}/B`, [4 * C]);
      const bias = new Float32Array(4 * C);
      for (let b = 0; b < 4; b++) for (let g = 0; g < C; g++) bias[b * C + g] = tfBias[TF_GATE[b]! * C + g]! + (b === 1 ? 1 : 0);
      const key = `${side}.${l}`;
      put(`${key}.weight_ih_l0`, wIh, [4 * C, input]);
      put(`${key}.weight_hh_l0`, wHh, [4 * C, P]);
      put(`${key}.bias_ih_l0`, bias, [4 * C]);
      put(`${key}.bias_hh_l0`, new Float32Array(4 * C), [4 * C]);
      put(`${key}.weight_hr_l0`, transpose(take(`${cell}/W_P_0`, [C, P]), C, P), [P, C]);
    }
  }
  if (has('softmax/W')) {
    put('softmax.weight', take('softmax/W', [config.vocab_size, P]), [config.vocab_size, P]);
    put('softmax.bias', take('softmax/b', [config.vocab_size]), [config.vocab_size]);
  }
  return state;
}

// A pretrained encoder under a task head, in one of the two ways the essay names. Fine-tuned (all layers, or all
// above the lowest K) with transformers' own head classes, so that what is saved loads in AutoModelFor…; or frozen,
// as features: the encoder's states are computed once per example and cached, and only a new top trains (ELMo's
// scalar mix of the layers, then a linear layer).
import { BiLSTMClassifier, BiLSTMTagger, Dropout, Linear, Module, ScalarMix } from '../../nn/index.js';
import { headLinear } from '../../models/heads.js';
import { noGrad } from '../../tensor/autograd.js';
import * as ops from '../../tensor/ops.js';
import type { Tensor } from '../../tensor/tensor.js';
import { padBatch, type Encoder } from './encoders.js';
import type { TokenizedInput } from './inputs.js';

/** The four kinds of task this module trains. */
export type TaskKind = 'token-classification' | 'classification' | 'pair' | 'regression';

/** How the pretrained weights start the task: all trained, all fixed (features), or fixed below layer K. */
export type TransferMode = 'finetune' | 'frozen' | { freezeBelow: number };

/** Targets of a batch: per input, the label id of each word (-100: none) for token tasks, else one label id or value. */
export type Targets = number[][] | number[];

/** Logits at the task's granularity: [B, words, labels] for token tasks, [B, labels] (or [B, 1]) for sequence tasks. */
export interface TaskOutput {
  logits: Tensor;
  loss?: Tensor;
}

/** A task model: what the fine-tuning loop trains and evaluates. */
export interface TaskModel {
  readonly kind: TaskKind;
  readonly encoder: Encoder;
  /** Every parameter the model has (frozen ones included: they are saved). */
  readonly module: Module;
  /** Asynchronous: a frozen model may first compute (and cache) its inputs' features, reading them back from the device. */
  forward(inputs: readonly TokenizedInput[], targets?: Targets): Promise<TaskOutput>;
  /** Token tasks whose head decodes whole sequences (a CRF's Viterbi): each input's best tag per word. */
  decode?(inputs: readonly TokenizedInput[]): Promise<number[][]>;
  /** Whether pairs must be tokenised in both orders (GPT similarity). */
  readonly needsBothOrders?: boolean;
}

/** The number of words each input has (the longest sets the word axis of token logits). */
function wordAxis(inputs: readonly TokenizedInput[]): number {
  return Math.max(1, ...inputs.map((x) => x.wordStarts.length));
}

/**
 * Gathers per-token states [B, T, H] at each input's word starts: [B, W, H], with a word mask [B, W] (0 for padding
 * words, words with no token in this window, and words another window scores).
 */
export function gatherWords(states: Tensor, inputs: readonly TokenizedInput[]): { words: Tensor; mask: Tensor } {
  const [B, , H] = states.shape as [number, number, number];
  const W = wordAxis(inputs);
  const index = new Int32Array(B * W), mask = new Float32Array(B * W);
  inputs.forEach((x, b) => x.wordStarts.forEach((t, w) => {
    if (t >= 0) { index[b * W + w] = t; if (x.scoredWords[w]) mask[b * W + w] = 1; }
  }));
  const idx = ops.expand(ops.reshape(ops.fromArray(index, [B, W], { dtype: 'int32' }), [B, W, 1]), [B, W, H]);
  return { words: ops.gather(states, 1, idx), mask: ops.fromArray(mask, [B, W]) };
}

/**
 * Word targets as an int32 [B, W] tensor with -100 where there is no label (or another window scores the word). A
 * CRF scores every real step, so for it (`everyWord`) all of an input's words carry their label.
 */
function wordTargets(inputs: readonly TokenizedInput[], targets: number[][], everyWord = false): Tensor {
  const W = wordAxis(inputs);
  const out = new Int32Array(inputs.length * W).fill(-100);
  inputs.forEach((x, b) => targets[b]!.forEach((label, w) => { if (everyWord || (x.scoredWords[w] && x.wordStarts[w]! >= 0)) out[b * W + w] = label; }));
  return ops.fromArray(out, [inputs.length, W], { dtype: 'int32' });
}

/** [B, W]: 1 for each input's words (padding only at the end, as recurrent heads need), 0 for padding words. */
function presenceMask(inputs: readonly TokenizedInput[]): Tensor {
  const W = wordAxis(inputs);
  const out = new Float32Array(inputs.length * W);
  inputs.forEach((x, b) => {
    if (x.scoredWords.some((s) => !s)) throw new Error('the BiLSTM heads read whole sequences: an input was cut into windows (use a longer context or the linear head)');
    out.fill(1, b * W, b * W + x.wordStarts.length);
  });
  return ops.fromArray(out, [inputs.length, W]);
}

/** Sequence targets: int32 class ids, or float32 values for regression. */
function sequenceTargets(kind: TaskKind, targets: number[]): Tensor {
  return kind === 'regression' ? ops.fromArray(Float32Array.from(targets), [targets.length]) : ops.fromArray(Int32Array.from(targets), [targets.length], { dtype: 'int32' });
}

/** A head module of transformers' (BertForSequenceClassification, GPT2ForTokenClassification, ...). */
export interface HfHead extends Module {
  forward(inputs: { inputIds: Tensor; tokenTypeIds?: Tensor; attentionMask?: Tensor; labels?: Tensor }): { logits: Tensor; loss?: Tensor; hiddenStates: Tensor[] };
}

/** Options of a fine-tuned model. */
export interface FinetuneOptions {
  /** GPT's auxiliary language-modelling loss weight λ (Radford et al. 2018: L = L_task + λ·L_LM, λ = 0.5); 0 for none. */
  lmWeight?: number;
  /** The tied output embeddings for the auxiliary loss (GPT-2's wte), when lmWeight > 0. */
  lmHead?: Tensor;
  /** GPT on similarity pairs: score both orders and add them (Radford et al. 2018, section 3.3). */
  symmetric?: boolean;
}

/**
 * A transformers head class fine-tuned on the task: token labels go on each word's first token (-100 elsewhere, as
 * transformers' run_ner does), and token logits come back at the word starts.
 */
export class FinetunedModel implements TaskModel {
  constructor(readonly kind: TaskKind, readonly head: HfHead, readonly encoder: Encoder, readonly opts: FinetuneOptions = {}) {}

  get module(): Module { return this.head; }
  get needsBothOrders(): boolean { return Boolean(this.opts.symmetric); }

  async forward(inputs: readonly TokenizedInput[], targets?: Targets): Promise<TaskOutput> {
    if (this.kind === 'token-classification') return this.tokens(inputs, targets as number[][] | undefined);
    if (this.opts.symmetric) return this.symmetric(inputs, targets as number[] | undefined);
    const batch = padBatch(inputs, this.encoder.padId);
    const labels = targets ? sequenceTargets(this.kind, targets as number[]) : undefined;
    const out = this.head.forward({ inputIds: batch.inputIds, tokenTypeIds: batch.typeIds, attentionMask: batch.mask, labels });
    return { logits: out.logits, ...(out.loss ? { loss: this.withLm(out.loss, out.hiddenStates, batch) } : {}) };
  }

  private tokens(inputs: readonly TokenizedInput[], targets?: number[][]): TaskOutput {
    const batch = padBatch(inputs, this.encoder.padId);
    const T = batch.inputIds.shape[1]!;
    let labels: Tensor | undefined;
    if (targets) {
      const flat = new Int32Array(inputs.length * T).fill(-100);
      inputs.forEach((x, b) => targets[b]!.forEach((label, w) => {
        const t = x.wordStarts[w]!;
        if (t >= 0 && x.scoredWords[w]) flat[b * T + t] = label;
      }));
      labels = ops.fromArray(flat, [inputs.length, T], { dtype: 'int32' });
    }
    const out = this.head.forward({ inputIds: batch.inputIds, tokenTypeIds: batch.typeIds, attentionMask: batch.mask, labels });
    return { logits: gatherWords(out.logits, inputs).words, ...(out.loss ? { loss: this.withLm(out.loss, out.hiddenStates, batch) } : {}) };
  }

  /** Each pair scored in both orders, the logits added: the head is linear, so this adds the two final states first. */
  private symmetric(inputs: readonly TokenizedInput[], targets?: number[]): TaskOutput {
    const swapped = inputs.map((x) => swapPair(x, this.encoder));
    const a = this.forwardPlain(inputs), b = this.forwardPlain(swapped);
    const logits = ops.add(a.logits, b.logits);
    if (!targets) return { logits };
    const labels = sequenceTargets(this.kind, targets);
    const loss = this.kind === 'regression' ? ops.mseLoss(ops.reshape(logits, [-1]), labels) : ops.crossEntropy(logits, labels);
    return { logits, loss: this.withLm(loss, a.hiddenStates, a.batch) };
  }

  private forwardPlain(inputs: readonly TokenizedInput[]) {
    const batch = padBatch(inputs, this.encoder.padId);
    const out = this.head.forward({ inputIds: batch.inputIds, tokenTypeIds: batch.typeIds, attentionMask: batch.mask });
    return { logits: out.logits, hiddenStates: out.hiddenStates, batch };
  }

  /** L_task + λ·L_LM, the LM loss over the input's real tokens predicting the next (GPT's auxiliary objective). */
  private withLm(taskLoss: Tensor, hiddenStates: Tensor[], batch: ReturnType<typeof padBatch>): Tensor {
    const λ = this.opts.lmWeight ?? 0;
    if (λ === 0 || !this.opts.lmHead) return taskLoss;
    const top = hiddenStates[hiddenStates.length - 1]!; // (B, T, C), after ln_f
    const [B, T] = batch.inputIds.shape as [number, number];
    if (T < 2) return taskLoss;
    const logits = ops.matmul(ops.slice(top, 1, 0, T - 1), ops.transpose(this.opts.lmHead)); // (B, T-1, V)
    const next = noGrad(() => ops.where(ops.gt(ops.slice(batch.mask, 1, 1, T), 0), ops.slice(batch.inputIds, 1, 1, T), -100));
    const lm = ops.crossEntropy(ops.reshape(logits, [B * (T - 1), -1]), ops.reshape(next, [-1]));
    return ops.add(taskLoss, ops.mul(lm, λ));
  }
}

/** The same pair with its two sequences swapped (the template rebuilt around them). */
function swapPair(x: TokenizedInput, encoder: Encoder): TokenizedInput {
  if (x.swapped) return x.swapped;
  throw new Error(`symmetric pairs need both orders tokenised (example ${x.example}): tokenise with bothOrders (${encoder.kind})`);
}

/** Options of a frozen-feature model. */
export interface FeatureModelOptions {
  /** A learned scalar mix of all the encoder's states (ELMo), or one state by index (-1: the top). Default 'mix'. */
  layer?: 'mix' | number;
  /** AllenNLP's do_layer_norm for the mix. */
  layerNorm?: boolean;
  /** Dropout before the classifier. Default 0.1. */
  dropout?: number;
  /** Keep the encoder fixed and cache its states per input (frozen mode). Default true; false trains it too. */
  frozen?: boolean;
  /**
   * A sequence's feature for sequence tasks: the mean of its words' states (default: SentEval-style, and what static
   * vectors can give), or the state of the encoder's sequence token (BERT's [CLS], GPT's last token).
   */
  pooling?: 'mean' | 'token';
  /**
   * The top over the (mixed) word features: a linear layer (default), or the ELMo-era downstream models: a BiLSTM
   * tagger or classifier (max-pooled), for tagging optionally with a CRF (Lample et al. 2016).
   */
  head?: 'linear' | 'bilstm' | 'bilstm-crf';
  /** The BiLSTM's hidden size per direction (default 128). */
  lstmHidden?: number;
  /** The CRF's allowed (from, to) transitions (crf.ts's allowedTransitions); only with head 'bilstm-crf'. */
  constraints?: readonly (readonly [number, number])[];
}

/** The new top of a feature model: the scalar mix and the classifier (the only parameters a frozen run trains). */
export class FeatureHead extends Module {
  scalar_mix: ScalarMix | null;
  dropout: Dropout;
  /** The linear head, or (head 'bilstm'/'bilstm-crf') the BiLSTM tagger or classifier. */
  classifier: Linear | null;
  tagger: BiLSTMTagger | null;
  sequence: BiLSTMClassifier | null;
  constructor(states: number, hidden: number, outputs: number, token: boolean, readonly opts: FeatureModelOptions) {
    super();
    this.scalar_mix = (opts.layer ?? 'mix') === 'mix' && states > 1 ? new ScalarMix(states, { doLayerNorm: opts.layerNorm }) : null;
    this.dropout = new Dropout(opts.dropout ?? 0.1);
    const head = opts.head ?? 'linear';
    const lstm = { inputSize: hidden, hiddenSize: opts.lstmHidden ?? 128, dropout: opts.dropout ?? 0.1 };
    if (head === 'bilstm-crf' && !token) throw new Error('a CRF head is for tagging (token-classification) only');
    this.classifier = head === 'linear' ? headLinear(hidden, outputs, 0.02) : null;
    this.tagger = head !== 'linear' && token ? new BiLSTMTagger({ ...lstm, numTags: outputs, crf: head === 'bilstm-crf', ...(head === 'bilstm-crf' && opts.constraints ? { constraints: opts.constraints } : {}) }) : null;
    this.sequence = head === 'bilstm' && !token ? new BiLSTMClassifier({ ...lstm, numClasses: outputs, pooling: 'max' }) : null;
  }
  /** One feature tensor per state to the one the classifier reads. */
  combine(states: readonly Tensor[], mask?: Tensor): Tensor {
    if (this.scalar_mix) return this.scalar_mix.forward(states, mask);
    const layer = typeof this.opts.layer === 'number' ? this.opts.layer : -1;
    return states[layer < 0 ? states.length + layer : layer]!;
  }
}

/** A module holding the head and, when the encoder trains, the encoder's layers (so that both are optimised and saved). */
class FeatureModule extends Module {
  constructor(readonly head: FeatureHead, readonly encoderLayers: Module[] | null) {
    super();
  }
}

interface CachedFeatures {
  /** Per state: [W, H] word states. */
  words: Float32Array[];
  /** Per state: [H], the sequence's state (its first or last token, or the mean of its words for static vectors). */
  sequence: Float32Array[];
}

/**
 * An encoder's states as features under a new top. Frozen, the encoder runs once per input under noGrad and its
 * word and sequence states are cached, so later epochs run only the head: no backward pass reaches the encoder.
 */
export class FeatureModel implements TaskModel {
  readonly head: FeatureHead;
  readonly module: Module;
  private readonly cache = new WeakMap<TokenizedInput, CachedFeatures>();
  /** Inputs run through the encoder so far (each once when frozen). */
  encoderRuns = 0;
  constructor(readonly kind: TaskKind, readonly encoder: Encoder, outputs: number, readonly opts: FeatureModelOptions = {}) {
    this.head = new FeatureHead(encoder.numStates, encoder.hiddenSize, outputs, kind === 'token-classification', opts);
    this.module = new FeatureModule(this.head, this.frozen ? null : [...encoder.layers]);
    if (this.frozen) for (const m of encoder.layers) m.requireGrad(false).eval();
  }

  get frozen(): boolean { return this.opts.frozen ?? true; }

  /** Word and sequence states of a batch, per encoder state: from the cache, or by running the encoder. */
  private async features(inputs: readonly TokenizedInput[]): Promise<{ words: Tensor[]; wordMask: Tensor; sequence: Tensor[] }> {
    const S = this.encoder.numStates, H = this.encoder.hiddenSize, B = inputs.length, W = wordAxis(inputs);
    if (!this.frozen) {
      const { words, sequence, wordMask } = this.run(inputs);
      return { words, sequence, wordMask };
    }
    const missing = inputs.filter((x) => !this.cache.has(x));
    if (missing.length > 0) await this.fill(missing);
    const words = Array.from({ length: S }, () => new Float32Array(B * W * H));
    const sequence = Array.from({ length: S }, () => new Float32Array(B * H));
    const mask = new Float32Array(B * W);
    inputs.forEach((x, b) => {
      const c = this.cache.get(x)!;
      for (let s = 0; s < S; s++) {
        words[s]!.set(c.words[s]!, b * W * H);
        sequence[s]!.set(c.sequence[s]!, b * H);
      }
      x.wordStarts.forEach((t, w) => { if (t >= 0 && x.scoredWords[w]) mask[b * W + w] = 1; });
    });
    return {
      words: words.map((d) => ops.fromArray(d, [B, W, H])), sequence: sequence.map((d) => ops.fromArray(d, [B, H])), wordMask: ops.fromArray(mask, [B, W]),
    };
  }

  /** Runs the encoder on inputs: per state, word states [B, W, H] and sequence states [B, H]. */
  private run(inputs: readonly TokenizedInput[]): { words: Tensor[]; sequence: Tensor[]; wordMask: Tensor } {
    this.encoderRuns += inputs.length;
    const batch = padBatch(inputs, this.encoder.padId);
    const states = this.encoder.forward(batch);
    const gathered = states.map((h) => gatherWords(h, inputs));
    const wordMask = gathered[0]!.mask;
    const sequence = states.map((h, s) => this.sequenceState(h, gathered[s]!.words, inputs, batch.lengths));
    return { words: gathered.map((g) => g.words), sequence, wordMask };
  }

  /** A sequence's state: the mean of its words' states, or its sequence token's (first or last real token). */
  private sequenceState(states: Tensor, words: Tensor, inputs: readonly TokenizedInput[], lengths: number[]): Tensor {
    const [B, , H] = states.shape as [number, number, number];
    if ((this.opts.pooling ?? 'mean') === 'mean' || this.encoder.kind === 'static') {
      const present = ops.fromArray(Float32Array.from(inputs.flatMap((x) => {
        const W = words.shape[1]!;
        return Array.from({ length: W }, (_, w) => (w < x.wordStarts.length && x.wordStarts[w]! >= 0 ? 1 : 0));
      })), [B, words.shape[1]!, 1]);
      return ops.div(ops.sum(ops.mul(words, present), 1), ops.maximum(ops.sum(present, 1), 1));
    }
    const at = inputs.map((_, b) => (this.encoder.sequenceToken === 'first' ? 0 : lengths[b]! - 1));
    const idx = ops.expand(ops.reshape(ops.fromArray(Int32Array.from(at), [B], { dtype: 'int32' }), [B, 1, 1]), [B, 1, H]);
    return ops.reshape(ops.gather(states, 1, idx), [B, H]);
  }

  /** Computes and caches the features of inputs not seen yet, without gradients, in batches of 32. */
  private async fill(inputs: readonly TokenizedInput[]): Promise<void> {
    const H = this.encoder.hiddenSize;
    for (let start = 0; start < inputs.length; start += 32) {
      const chunk = inputs.slice(start, start + 32);
      const { words, sequence } = noGrad(() => this.run(chunk));
      const W = words[0]!.shape[1]!;
      const wordData = (await Promise.all(words.map((t) => t.data()))) as Float32Array[];
      const seqData = (await Promise.all(sequence.map((t) => t.data()))) as Float32Array[];
      chunk.forEach((x, b) => {
        const n = x.wordStarts.length;
        this.cache.set(x, {
          words: wordData.map((d) => d.slice(b * W * H, b * W * H + n * H)),
          sequence: seqData.map((d) => d.slice(b * H, (b + 1) * H)),
        });
      });
    }
  }

  async forward(inputs: readonly TokenizedInput[], targets?: Targets): Promise<TaskOutput> {
    const f = await this.features(inputs);
    const h = this.head;
    const token = this.kind === 'token-classification';
    if (h.tagger || h.sequence) {
      // The BiLSTM reads each input's words in order: padding only at the end (see presenceMask).
      const features = h.combine(f.words, f.wordMask), mask = presenceMask(inputs);
      if (h.tagger) {
        const labels = targets ? wordTargets(inputs, targets as number[][], true) : undefined;
        return h.tagger.forward({ features, mask, labels });
      }
      const labels = targets ? sequenceTargets(this.kind, targets as number[]) : undefined;
      return h.sequence!.forward({ features, mask, labels });
    }
    if (token) {
      const mixed = h.combine(f.words, f.wordMask);
      const logits = h.classifier!.forward(h.dropout.forward(mixed)); // (B, W, labels)
      if (!targets) return { logits };
      const K = logits.shape[2]!;
      return { logits, loss: ops.crossEntropy(ops.reshape(logits, [-1, K]), ops.reshape(wordTargets(inputs, targets as number[][]), [-1])) };
    }
    const logits = h.classifier!.forward(h.dropout.forward(h.combine(f.sequence))); // (B, labels)
    if (!targets) return { logits };
    const labels = sequenceTargets(this.kind, targets as number[]);
    return { logits, loss: this.kind === 'regression' ? ops.mseLoss(ops.reshape(logits, [-1]), labels) : ops.crossEntropy(logits, labels) };
  }

  /** Viterbi tags per word when the head has a CRF (else undefined: argmax of the logits). */
  get decode(): ((inputs: readonly TokenizedInput[]) => Promise<number[][]>) | undefined {
    const tagger = this.head.tagger;
    if (!tagger?.config.crf) return undefined;
    return async (inputs) => {
      const f = await this.features(inputs);
      return tagger.decode({ features: this.head.combine(f.words, f.wordMask), mask: presenceMask(inputs) });
    };
  }
}

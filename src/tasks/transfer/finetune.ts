// Fine-tuning as a training task: labelled examples tokenised once for the encoder, batches padded to their longest
// row (dynamic padding) and drawn from length buckets, evaluation on a dev set with the task's metrics, and
// predictions merged back from windows to examples and from tokens to words.
import type { Module } from '../../nn/module.js';
import type { Generator } from '../../tensor/random.js';
import type { Tensor } from '../../tensor/tensor.js';
import { noGradAsync } from '../../tensor/autograd.js';
import { AdamW, weightDecayGroups, type DecayGroup } from '../../optim/index.js';
import { accuracy, binaryF1, entityScores, macroF1, matthewsCorrcoef, pearsonr, spearmanr } from '../metrics.js';
import { LOOP_DEFAULTS, type TrainConfig, type TrainTask } from '../trainer.js';

/**
 * Fine-tuning's recipe, transformers' run_glue/run_ner defaults: AdamW at 5e-5 (BERT's paper tried 2e-5 to 5e-5),
 * betas (0.9, 0.999), eps 1e-8, no weight decay, no warmup, linear decay to 0, gradient clipping at 1. The number
 * of steps (epochs × batches) and the evaluation interval (once an epoch) come from the data.
 */
export const FINETUNE: TrainConfig = {
  ...LOOP_DEFAULTS, maxSteps: 1000, lr: 5e-5, minLrRate: 0, warmupSteps: 0, schedule: 'linear', weightDecay: 0,
  beta1: 0.9, beta2: 0.999, eps: 1e-8, evalEvery: 0, checkpointEvery: 0,
};

/** A parameter group with its own learning rate (the schedule scales each). */
export type RateGroup = DecayGroup & { lr: number };

/**
 * ULMFiT's discriminative fine-tuning (Howard & Ruder 2018, η^(l-1) = η^l / 2.6): the head and the top encoder layer
 * learn at `lr`, each layer below at the rate of the one above divided by `decay`, the embeddings last; each split
 * into weight-decayed matrices and undecayed biases and norms. Frozen parameters are left out. Head first, so the
 * logged learning rate is the base one.
 */
export function layerwiseLrGroups(model: TaskModel, lr: number, decay: number, weightDecay: number): RateGroup[] {
  if (!(decay >= 1 && Number.isFinite(decay))) throw new RangeError(`layerwiseLrGroups: decay must be >= 1, got ${decay}`);
  const layers = model.encoder.layers;
  const depth = new Map<Tensor, number>();
  layers.forEach((m, i) => { for (const p of m.parameters()) depth.set(p, layers.length - 1 - i); });
  const byDepth: [string, Tensor][][] = Array.from({ length: layers.length }, () => []);
  const head: [string, Tensor][] = [];
  for (const [name, p] of model.module.namedParameters()) {
    if (!p.requiresGrad) continue;
    const d = depth.get(p);
    (d === undefined ? head : byDepth[d]!).push([name, p]);
  }
  const groups = [head, ...byDepth].flatMap((params, k) => weightDecayGroups(params, weightDecay).map((g) => ({ ...g, lr: lr / decay ** Math.max(0, k - 1) })));
  return groups.filter((g) => g.params.length > 0);
}

/** AdamW over layerwiseLrGroups with a config's betas and eps: what `pretrain finetune --layer-lr-decay` trains with. */
export function layerwiseOptimizer(model: TaskModel, config: TrainConfig, decay: number): AdamW {
  return new AdamW(layerwiseLrGroups(model, config.lr, decay, config.weightDecay), { lr: config.lr, betas: [config.beta1, config.beta2], eps: config.eps, weightDecay: config.weightDecay });
}

/**
 * ULMFiT's gradual unfreezing (Howard & Ruder 2018), as a `beforeStep` hook for `train`: the encoder starts fixed under
 * the trainable head, and every `stepsPerLayer` steps the next layer down starts training (the top encoder layer
 * first, the embeddings last) until all do. What trains follows from the step alone, so a resumed run agrees. The
 * optimizer must be built before the first step, while every parameter still requires its gradient: the fixed ones
 * get none and are skipped.
 */
export function gradualUnfreezing(model: TaskModel, stepsPerLayer: number): (step: number) => void {
  if (!(Number.isInteger(stepsPerLayer) && stepsPerLayer >= 1)) throw new RangeError(`gradualUnfreezing: stepsPerLayer must be a positive integer, got ${stepsPerLayer}`);
  const layers = model.encoder.layers; // the embeddings first, the top layer last
  let training = -1;
  return (step) => {
    const n = Math.min(layers.length, Math.floor(step / stepsPerLayer));
    if (n === training) return;
    training = n;
    layers.forEach((m, i) => m.requireGrad(i >= layers.length - n));
  };
}

/**
 * A new top over features or word vectors, frozen or fine-tuned with it: the same, at 1e-3 (AllenNLP's ELMo and GloVe
 * taggers' rate; at 5e-5 a BiLSTM top from random weights barely moves in a few hundred steps).
 */
export const FROZEN: TrainConfig = { ...FINETUNE, lr: 1e-3 };
import type { TokenizedInput, TokenizeReport, WordsInput } from './inputs.js';
import type { TaskKind, TaskModel } from './task-model.js';

/** A labelled example: words (and a second sequence for pairs) with word labels, a class, or a value. */
export interface LabelledExample {
  input: WordsInput;
  /** Token tasks: one label per word (of both sequences, for pairs); classification: the class; regression: the value. */
  target: readonly string[] | string | number;
}

/** A task's data: its kind, the label names in id order (none for regression), and its examples. */
export interface TransferData {
  kind: TaskKind;
  labels: readonly string[];
  train: readonly LabelledExample[];
  dev: readonly LabelledExample[];
}

/** Options of a fine-tuning task. */
export interface FinetuneTaskOptions {
  batchSize: number;
  /** Batches per evaluation pass (default: batchSize × 2 examples a batch). */
  evalBatchSize?: number;
  /**
   * Draw batches from buckets of similar length (examples sorted by length within chunks of 50 batches, the batches
   * shuffled), so padding wastes little; default true.
   */
  bucketing?: boolean;
  /** Writes what a checkpoint needs besides the weights (tokenizer, transfer config). */
  saveExtras?: (dir: string) => Promise<void>;
  /** Pairs: tokenise them in both orders too (GPT similarity); set by the task model where it needs them. */
  bothOrders?: boolean;
  /** Tokens per input, special tokens included (capped by the model's context); longer sequences become windows. */
  maxLength?: number;
}

/** One prediction per example: word labels, a class, or a value. */
export type Prediction = string[] | string | number;

/** The label id of each target, checking that labels are known (an unknown label is an error naming it). */
function targetIds(kind: TaskKind, labels: readonly string[], examples: readonly LabelledExample[], where: string): (number[] | number)[] {
  const ids = new Map(labels.map((l, i) => [l, i]));
  const id = (label: string, at: string) => {
    const k = ids.get(label);
    if (k === undefined) throw new Error(`${where}: example ${at} has the label "${label}", which is not in the label set (${labels.join(', ')})`);
    return k;
  };
  return examples.map((ex, i) => {
    if (kind === 'regression') {
      if (typeof ex.target !== 'number') throw new Error(`${where}: example ${i} has no numeric target for regression`);
      return ex.target;
    }
    if (kind === 'token-classification') {
      const t = ex.target as readonly string[];
      const n = ex.input.words.length + (ex.input.pair?.length ?? 0);
      if (!Array.isArray(t) || t.length !== n) throw new Error(`${where}: example ${i} has ${Array.isArray(t) ? t.length : 0} labels for ${n} words`);
      return t.map((l, w) => id(l, `${i} word ${w}`));
    }
    return id(String(ex.target), String(i));
  });
}

/** Tokenised examples with each input's targets. */
interface Prepared {
  inputs: TokenizedInput[];
  targets: (number[] | number)[];
  report: TokenizeReport;
}

/** The fine-tuning loop's task: training batches from length buckets, dev metrics, predictions. */
export class FinetuneTask implements TrainTask {
  readonly model: Module;
  readonly train: Prepared;
  readonly dev: Prepared;
  private order: number[] = [];
  private position = 0;
  private epoch = 0;

  constructor(readonly taskModel: TaskModel, readonly data: TransferData, readonly opts: FinetuneTaskOptions) {
    if (!(Number.isInteger(opts.batchSize) && opts.batchSize > 0)) throw new RangeError(`FinetuneTask: batchSize must be a positive integer, got ${opts.batchSize}`);
    if (data.train.length === 0) throw new Error('FinetuneTask: no training examples');
    this.model = taskModel.module;
    this.train = this.prepare(data.train, 'train');
    this.dev = this.prepare(data.dev, 'dev');
  }

  private prepare(examples: readonly LabelledExample[], where: string): Prepared {
    const targets = targetIds(this.data.kind, this.data.labels, examples, where);
    const encoder = this.taskModel.encoder;
    const maxTokens = Math.min(encoder.maxTokens, this.opts.maxLength ?? Infinity);
    const bothOrders = this.opts.bothOrders ?? this.taskModel.needsBothOrders ?? false;
    const { inputs, report } = encoder.tokenize(examples.map((e) => e.input), { bothOrders, ...(Number.isFinite(maxTokens) ? { maxTokens } : {}) });
    return { inputs, targets: inputs.map((x) => targets[x.example]!), report };
  }

  /** The next epoch's batches: shuffled, and (bucketing) sorted by length within chunks so rows in a batch are alike. */
  private newEpoch(rng: Generator): void {
    const n = this.train.inputs.length;
    const order = Array.from({ length: n }, (_, i) => i);
    for (let i = n - 1; i > 0; i--) { const j = Math.floor(rng.random() * (i + 1)); [order[i], order[j]] = [order[j]!, order[i]!]; }
    if (this.opts.bucketing ?? true) {
      const B = this.opts.batchSize, chunk = 50 * B;
      const len = (i: number) => this.train.inputs[i]!.ids.length;
      const batches: number[][] = [];
      for (let c = 0; c < n; c += chunk) {
        const part = order.slice(c, c + chunk).sort((a, b) => len(a) - len(b));
        for (let b = 0; b < part.length; b += B) batches.push(part.slice(b, b + B));
      }
      for (let i = batches.length - 1; i > 0; i--) { const j = Math.floor(rng.random() * (i + 1)); [batches[i], batches[j]] = [batches[j]!, batches[i]!]; }
      this.order = batches.flat();
    } else this.order = order;
    this.position = 0;
  }

  async trainLoss(rng: Generator): Promise<{ loss: Tensor; tokens: number }> {
    if (this.position >= this.order.length) { if (this.order.length) this.epoch++; this.newEpoch(rng); }
    const rows = this.order.slice(this.position, this.position + this.opts.batchSize);
    this.position += rows.length;
    const inputs = rows.map((i) => this.train.inputs[i]!);
    const targets = rows.map((i) => this.train.targets[i]!) as number[][] | number[];
    const { loss } = await this.taskModel.forward(inputs, targets);
    return { loss: loss!, tokens: inputs.reduce((s, x) => s + x.ids.length, 0) };
  }

  /** Examples' predictions, in example order: windows merged (words from the window that scores them; logits averaged). */
  async predict(prepared: Prepared, examples: readonly LabelledExample[]): Promise<Prediction[]> {
    const { kind } = this.data;
    const size = this.opts.evalBatchSize ?? 2 * this.opts.batchSize;
    const sums = new Map<number, { logits: Float64Array; windows: number }>();
    const words = new Map<number, number[]>();
    const decode = kind === 'token-classification' ? this.taskModel.decode : undefined;
    for (let start = 0; start < prepared.inputs.length; start += size) {
      const inputs = prepared.inputs.slice(start, start + size);
      if (decode) {
        // a CRF: the best whole sequence per input, not the best tag of each word on its own
        (await decode(inputs)).forEach((path, b) => words.set(inputs[b]!.example, path.slice(0, inputs[b]!.wordStarts.length)));
        continue;
      }
      const out = await this.taskModel.forward(inputs);
      const logits = (await out.logits.data()) as Float32Array;
      if (kind === 'token-classification') {
        const [, W, K] = out.logits.shape as [number, number, number];
        inputs.forEach((x, b) => {
          const tags = words.get(x.example) ?? new Array<number>(x.wordStarts.length).fill(-1);
          x.wordStarts.forEach((t, w) => {
            if (t < 0 || !x.scoredWords[w]) return;
            let best = 0;
            for (let k = 1; k < K; k++) if (logits[(b * W + w) * K + k]! > logits[(b * W + w) * K + best]!) best = k;
            tags[w] = best;
          });
          words.set(x.example, tags);
        });
      } else {
        const K = out.logits.shape[1]!;
        inputs.forEach((x, b) => {
          const s = sums.get(x.example) ?? { logits: new Float64Array(K), windows: 0 };
          for (let k = 0; k < K; k++) s.logits[k]! += logits[b * K + k]!;
          s.windows++;
          sums.set(x.example, s);
        });
      }
    }
    return examples.map((_, i) => {
      if (kind === 'token-classification') return (words.get(i) ?? []).map((k) => (k < 0 ? this.outsideLabel() : this.data.labels[k]!));
      const s = sums.get(i)!;
      if (kind === 'regression') return s.logits[0]! / s.windows;
      let best = 0;
      for (let k = 1; k < s.logits.length; k++) if (s.logits[k]! > s.logits[best]!) best = k;
      return this.data.labels[best]!;
    });
  }

  /** The label a word with no token gets ('O' when the label set has it, else the first label). */
  private outsideLabel(): string {
    return this.data.labels.includes('O') ? 'O' : this.data.labels[0]!;
  }

  async evaluate(): Promise<Record<string, number>> {
    if (this.data.dev.length === 0) return {};
    const predictions = await noGradAsync(() => this.predict(this.dev, this.data.dev));
    return scoreTask(this.data, this.data.dev, predictions);
  }

  dataState(): unknown { return { epoch: this.epoch, position: this.position, order: this.order }; }
  restoreDataState(state: unknown): void {
    const s = state as { epoch: number; position: number; order: number[] };
    this.epoch = s.epoch; this.position = s.position; this.order = s.order;
  }
  saveExtras(dir: string): Promise<void> { return this.opts.saveExtras ? this.opts.saveExtras(dir) : Promise.resolve(); }
}

/** Whether a label set is a chunk tagging scheme (B-/I- prefixes), so entity F1 applies. */
function isChunkScheme(labels: readonly string[]): boolean {
  return labels.some((l) => /^[BIES]-/.test(l)) && labels.every((l) => l === 'O' || /^[BIES]-/.test(l));
}

/**
 * The task's dev metrics: accuracy, macro-F1 and MCC for classes (binary F1 of the second label too, when there are
 * two, as GLUE's MRPC and QQP report); Pearson and Spearman for regression; entity precision, recall and F1 (conlleval)
 * and token accuracy for chunk tags; token accuracy for other tags (POS).
 */
export function scoreTask(data: Pick<TransferData, 'kind' | 'labels'>, examples: readonly LabelledExample[], predictions: readonly Prediction[]): Record<string, number> {
  if (data.kind === 'regression') {
    const gold = examples.map((e) => e.target as number), pred = predictions as number[];
    const pearson = pearsonr(pred, gold), spearman = spearmanr(pred, gold);
    return { pearson, spearman, corr: (pearson + spearman) / 2 };
  }
  if (data.kind === 'token-classification') {
    const gold = examples.map((e) => [...(e.target as readonly string[])]), pred = predictions as string[][];
    if (isChunkScheme(data.labels)) {
      const s = entityScores(gold, pred);
      return { f1: s.f1, precision: s.precision, recall: s.recall, token_accuracy: s.tokenAccuracy };
    }
    return { accuracy: accuracy(gold.flat(), pred.flat()) };
  }
  const gold = examples.map((e) => String(e.target)), pred = predictions as string[];
  const out: Record<string, number> = { accuracy: accuracy(gold, pred), macro_f1: macroF1(gold, pred), mcc: matthewsCorrcoef(gold, pred) };
  if (data.labels.length === 2) out.f1 = binaryF1(gold, pred, { posLabel: data.labels[1]! });
  return out;
}

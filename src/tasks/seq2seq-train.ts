// Training a seq2seq model (encoder-decoder or GPT, seq2seq.ts) on parallel text as a TrainTask: teacher forcing on
// batches bucketed by length and seeded per epoch (so a resumed run draws the same batches), the loss on the target's
// tokens only, and evaluation by held-out loss and by BLEU and chrF (sacrebleu's semantics) and ROUGE (rouge-score's)
// of decoded translations against the raw references.
import { Generator, hash32 } from '../tensor/random.js';
import type { Tensor } from '../tensor/tensor.js';
import { corpusBleu, type BleuScore } from './bleu.js';
import { corpusChrf, type ChrfScore } from './chrf.js';
import { corpusRouge, type CorpusRougeOptions, type RougeCorpusScore } from './rouge.js';
import type { Seq2SeqGenerateOptions } from './seq2seq-generate.js';
import type { EncodedPair, Seq2Seq } from './seq2seq.js';
import { LOOP_DEFAULTS, type TrainConfig, type TrainTask } from './trainer.js';

/**
 * Seq2seq training's recipe: AdamW at 5e-4 with beta2 0.98 (Vaswani et al.'s), 200 warmup steps and cosine decay to
 * a tenth, weight decay 0.01, clipping at norm 1, 2,000 steps; evaluation and checkpoints every 500.
 */
export const SEQ2SEQ_TRAIN: TrainConfig = {
  ...LOOP_DEFAULTS, maxSteps: 2000, lr: 5e-4, minLrRate: 0.1, warmupSteps: 200, schedule: 'cosine', weightDecay: 0.01,
  beta1: 0.9, beta2: 0.98, eps: 1e-8, clipNorm: 1, evalEvery: 500, checkpointEvery: 500,
};

/** BLEU, chrF and chrF++ of translations, with sacrebleu's defaults, and ROUGE with rouge-score's. */
export interface TranslationScores {
  bleu: BleuScore;
  chrf: ChrfScore;
  /** chrF++: word order 2. */
  chrfpp: ChrfScore;
  /** rouge1, rouge2 and rougeL (rouge-score's default tokenizer, unstemmed unless asked; in [0, 1]), the mean over the sentences. */
  rouge: RougeCorpusScore;
}

/**
 * Corpus BLEU, chrF, chrF++ and ROUGE of hypotheses against reference streams (each parallel to the hypotheses);
 * `rouge` adds to or overrides the ROUGE options (its bootstrap interval, say).
 */
export function scoreTranslations(hypotheses: readonly string[], references: readonly (readonly (string | null)[])[], rouge: CorpusRougeOptions = {}): TranslationScores {
  return {
    bleu: corpusBleu(hypotheses, references), chrf: corpusChrf(hypotheses, references), chrfpp: corpusChrf(hypotheses, references, { wordOrder: 2 }),
    rouge: corpusRouge(hypotheses, references, { rougeTypes: ['rouge1', 'rouge2', 'rougeL'], ...rouge }),
  };
}

/**
 * One epoch's batches of `lengths.length` examples: a shuffle seeded by (seed, epoch), sorted by length within
 * chunks of 50 batches (so a batch pads little), the batches shuffled.
 */
export function bucketedBatches(lengths: readonly number[], batchSize: number, seed: number, epoch: number): number[][] {
  const rng = new Generator(hash32(seed, epoch));
  const shuffle = <T>(xs: T[]) => {
    for (let i = xs.length - 1; i > 0; i--) { const j = Math.floor(rng.random() * (i + 1)); [xs[i], xs[j]] = [xs[j]!, xs[i]!]; }
    return xs;
  };
  const idx = shuffle(lengths.map((_, i) => i));
  const batches: number[][] = [];
  for (let c = 0; c < idx.length; c += 50 * batchSize) {
    const part = idx.slice(c, c + 50 * batchSize).sort((a, b) => lengths[a]! - lengths[b]!);
    for (let b = 0; b < part.length; b += batchSize) batches.push(part.slice(b, b + batchSize));
  }
  return shuffle(batches);
}

/** Options of seq2seq training. */
export interface Seq2SeqTaskOptions {
  batchSize: number;
  /** Validation pairs translated for BLEU and chrF at each evaluation (the first this many; the loss is over all). */
  evalPairs: number;
  /** Seeds each epoch's order (with the epoch's number). */
  seed: number;
  /** How evaluation decodes (default greedy). */
  generate?: Seq2SeqGenerateOptions;
}

/** Teacher forcing on bucketed batches; validation loss, perplexity, BLEU and chrF. */
export class Seq2SeqTrainTask implements TrainTask {
  private order: number[][] = [];
  private epoch = 0;
  private position = 0;
  private readonly lengths: number[];
  /** The last evaluation's scores and translations (of the first evalPairs validation pairs). */
  last: { scores: TranslationScores; hypotheses: string[] } | null = null;

  constructor(readonly seq2seq: Seq2Seq, private readonly train: readonly EncodedPair[], private readonly val: readonly EncodedPair[],
    private readonly references: readonly string[], readonly opts: Seq2SeqTaskOptions) {
    for (const name of ['batchSize', 'evalPairs'] as const) {
      if (!(Number.isInteger(opts[name]) && opts[name] > 0)) throw new RangeError(`Seq2SeqTrainTask: ${name} must be a positive integer, got ${opts[name]}`);
    }
    if (train.length === 0) throw new Error('Seq2SeqTrainTask: no training pairs');
    if (val.length === 0) throw new Error('Seq2SeqTrainTask: no validation pairs');
    if (references.length !== val.length) throw new Error(`Seq2SeqTrainTask: ${references.length} references for ${val.length} validation pairs`);
    this.lengths = train.map((p) => p.source.length * 1000 + p.target.length);
    this.order = bucketedBatches(this.lengths, opts.batchSize, opts.seed, 0);
  }

  get model() { return this.seq2seq.model; }

  async trainLoss(): Promise<{ loss: Tensor; tokens: number }> {
    if (this.position >= this.order.length) {
      this.epoch++;
      this.position = 0;
      this.order = bucketedBatches(this.lengths, this.opts.batchSize, this.opts.seed, this.epoch);
    }
    const batch = this.seq2seq.batch(this.order[this.position++]!.map((i) => this.train[i]!));
    return { loss: batch.loss(), tokens: batch.tokens };
  }

  /** Mean loss per target token over the validation pairs, by teacher forcing. */
  async validationLoss(): Promise<number> {
    const byLength = this.val.map((_, i) => i).sort((a, b) => this.val[a]!.source.length - this.val[b]!.source.length);
    let sum = 0, count = 0;
    for (let s = 0; s < byLength.length; s += this.opts.batchSize) {
      const batch = this.seq2seq.batch(byLength.slice(s, s + this.opts.batchSize).map((i) => this.val[i]!));
      sum += (await batch.loss().item()) * batch.tokens;
      count += batch.tokens;
    }
    return sum / count;
  }

  async evaluate(): Promise<Record<string, number>> {
    const loss = await this.validationLoss();
    const n = Math.min(this.opts.evalPairs, this.val.length);
    const hypotheses = await this.seq2seq.translateIds(this.val.slice(0, n).map((p) => p.source), { batchSize: this.opts.batchSize, ...this.opts.generate });
    const scores = scoreTranslations(hypotheses, [this.references.slice(0, n)]);
    this.last = { scores, hypotheses };
    return { val_loss: loss, perplexity: Math.exp(loss), bleu: scores.bleu.score, chrf: scores.chrf.score };
  }

  dataState(): unknown { return { epoch: this.epoch, position: this.position }; }
  restoreDataState(state: unknown): void {
    const s = state as { epoch: number; position: number };
    this.epoch = s.epoch;
    this.order = bucketedBatches(this.lengths, this.opts.batchSize, this.opts.seed, this.epoch);
    this.position = s.position;
  }

  saveExtras(dir: string): Promise<void> {
    return this.seq2seq.saveExtras(dir);
  }
}

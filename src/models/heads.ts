// What every task head shares, whichever model it sits on: the label fields of transformers' PretrainedConfig
// (id2label, label2id, problem_type), the head's initialisation, the loss that problem_type chooses, and the output
// a head returns. Heads themselves are composition, in each model's file: the base model plus one layer.
import { Linear, constantParam, normalParam } from '../nn/index.js';
import * as ops from '../tensor/ops.js';
import type { Tensor } from '../tensor/tensor.js';

/** How a classification head's loss is computed (transformers' `problem_type`). */
export type ProblemType = 'regression' | 'single_label_classification' | 'multi_label_classification';

/** The label fields of a model's config, with transformers' names and defaults (two labels, LABEL_0 and LABEL_1). */
export interface LabelConfig {
  /** Label names by index (JSON object keys are strings, as config.json stores them). */
  id2label: Record<string, string>;
  label2id: Record<string, number>;
  /** null: inferred at the first loss, as transformers does (1 label: regression; int32 labels: single-label). */
  problem_type: ProblemType | null;
}

/** The config fields of `labels` names, or of `n` labels named LABEL_0...: id2label and label2id. */
export function labelConfig(labels: number | readonly string[]): Pick<LabelConfig, 'id2label' | 'label2id'> {
  const names = typeof labels === 'number' ? Array.from({ length: labels }, (_, i) => `LABEL_${i}`) : labels;
  if (names.length === 0) throw new Error('a head needs at least one label');
  if (new Set(names).size !== names.length) throw new Error(`label names repeat: ${names.join(', ')}`);
  return { id2label: Object.fromEntries(names.map((n, i) => [String(i), n])), label2id: Object.fromEntries(names.map((n, i) => [n, i])) };
}

/** transformers' defaults: two labels and no problem type yet. */
export const DEFAULT_LABELS: LabelConfig = { ...labelConfig(2), problem_type: null };

const PROBLEM_TYPES: readonly ProblemType[] = ['regression', 'single_label_classification', 'multi_label_classification'];

/** Throws unless the label fields are well formed: id2label maps 0..n-1 to names, label2id is its inverse, problem_type known. */
export function checkLabels(cfg: LabelConfig, where: string): void {
  const ids = Object.keys(cfg.id2label);
  if (ids.length === 0 || ids.some((k, i) => k !== String(i)) || Object.values(cfg.id2label).some((v) => typeof v !== 'string')) {
    throw new Error(`${where}: id2label must map "0".."n-1" to label names, got ${JSON.stringify(cfg.id2label)}`);
  }
  if (ids.some((k) => cfg.label2id[cfg.id2label[k]!] !== Number(k))) {
    throw new Error(`${where}: label2id ${JSON.stringify(cfg.label2id)} is not the inverse of id2label ${JSON.stringify(cfg.id2label)}`);
  }
  if (cfg.problem_type !== null && !PROBLEM_TYPES.includes(cfg.problem_type)) {
    throw new Error(`${where}: problem_type '${String(cfg.problem_type)}' is not one of ${PROBLEM_TYPES.join(', ')}`);
  }
}

/** The number of labels of a config (transformers' `num_labels`: the size of id2label). */
export function numLabels(cfg: Pick<LabelConfig, 'id2label'>): number {
  return Object.keys(cfg.id2label).length;
}

/** Whether a config's labels are transformers' defaults, which config.json leaves out. */
export function hasDefaultLabels(cfg: LabelConfig): boolean {
  return JSON.stringify(cfg.id2label) === JSON.stringify(DEFAULT_LABELS.id2label) && cfg.problem_type === null;
}

/** A head's Linear layer with transformers' _init_weights: weights N(0, initializer_range), bias 0. */
export function headLinear(inFeatures: number, outFeatures: number, initializerRange: number, bias = true): Linear {
  const layer = new Linear(inFeatures, outFeatures, bias);
  layer.weight = normalParam([outFeatures, inFeatures], initializerRange);
  if (bias) layer.bias = constantParam([outFeatures], 0);
  return layer;
}

/**
 * The loss of a sequence-classification head as transformers computes it: MSE for regression (labels float32 [B]),
 * cross-entropy for single-label classification (int32 class ids [B]), binary cross-entropy with logits for
 * multi-label (float32 [B, N] of 0/1). An unset problem_type is inferred and written into the config, as there.
 */
export function classificationLoss(logits: Tensor, labels: Tensor, cfg: LabelConfig): Tensor {
  const n = logits.shape[logits.rank - 1]!;
  cfg.problem_type ??= n === 1 ? 'regression' : labels.dtype === 'int32' ? 'single_label_classification' : 'multi_label_classification';
  switch (cfg.problem_type) {
    case 'regression':
      return n === 1 ? ops.mseLoss(ops.reshape(logits, [-1]), ops.reshape(labels.cast(logits.dtype), [-1])) : ops.mseLoss(logits, labels.cast(logits.dtype));
    case 'single_label_classification':
      if (labels.dtype !== 'int32') throw new Error(`single-label classification needs int32 class ids as labels, got ${labels.dtype}`);
      return ops.crossEntropy(ops.reshape(logits, [-1, n]), ops.reshape(labels, [-1]));
    case 'multi_label_classification':
      return ops.binaryCrossEntropyWithLogits(logits, labels.cast(logits.dtype));
  }
}

/** What a task head returns (transformers' SequenceClassifierOutput / TokenClassifierOutput / MultipleChoiceModelOutput). */
export interface ClassifierOutput {
  /** [B, N] (sequence), [B, T, N] (token) or [B, choices] (multiple choice). */
  logits: Tensor;
  /** The loss, when labels were given. */
  loss?: Tensor;
  /** The base model's hidden states: the embeddings' output and every layer's, [B, T, H] each. */
  hiddenStates: Tensor[];
}

/** Something applied position by position (a layer, or dropout). */
interface Layer {
  forward(x: Tensor): Tensor;
}

/**
 * A sequence head's output: logits = classifier(dropout(pooled)) [B, labels], with the problem_type loss when labels
 * are given (`dropout` null where the head has none, as GPT-2's score).
 */
export function sequenceClassifierOutput(pooled: Tensor, hiddenStates: Tensor[], dropout: Layer | null, classifier: Layer, cfg: LabelConfig, labels?: Tensor): ClassifierOutput {
  const logits = classifier.forward(dropout ? dropout.forward(pooled) : pooled);
  return { logits, hiddenStates, ...(labels ? { loss: classificationLoss(logits, labels, cfg) } : {}) };
}

/** A token head's output: logits = classifier(dropout(states)) [B, T, labels], cross-entropy over labels with -100 skipped. */
export function tokenClassifierOutput(states: Tensor, hiddenStates: Tensor[], dropout: Layer, classifier: Layer, labels?: Tensor): ClassifierOutput {
  const logits = classifier.forward(dropout.forward(states));
  const n = logits.shape[logits.rank - 1]!;
  return { logits, hiddenStates, ...(labels ? { loss: ops.crossEntropy(ops.reshape(logits, [-1, n]), ops.reshape(labels, [-1])) } : {}) };
}

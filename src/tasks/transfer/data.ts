// Task data sets as read (src/data/tasks) to the examples fine-tuning takes: words for the encoder, a target each.
import type { TaskDataset } from '../../data/tasks/types.js';
import type { LabelledExample, TransferData } from './finetune.js';
import type { TaskKind } from './task-model.js';

/** Whitespace-separated words: how a text becomes the encoder's input words (subword tokenizers split them further). */
export function whitespaceWords(text: string): string[] {
  return text.split(/\s+/).filter((w) => w.length > 0);
}

/** The task kind a data set is: tagging, classification, pairs, or regression (pairs with numeric labels). */
export function kindOf(data: TaskDataset): TaskKind {
  if (data.kind === 'sequence') return 'token-classification';
  if (data.kind === 'pair') return data.regression ? 'regression' : 'pair';
  return 'classification';
}

/** A data set's examples as fine-tuning examples; `split` turns a text into words (default: whitespace). */
export function labelledExamples(data: TaskDataset, split: (text: string) => string[] = whitespaceWords): LabelledExample[] {
  if (data.kind === 'sequence') return data.examples.map((e) => ({ input: { words: e.words }, target: e.labels }));
  if (data.kind === 'pair') return data.examples.map((e) => ({ input: { words: split(e.a), pair: split(e.b) }, target: e.label }));
  return data.examples.map((e) => ({ input: { words: split(e.text) }, target: e.label }));
}

/** Train and dev sets as one task: the training set's kind and labels (dev is read against them). */
export function transferData(train: TaskDataset, dev: TaskDataset | null, split?: (text: string) => string[]): TransferData {
  const kind = kindOf(train);
  if (dev && kindOf(dev) !== kind) throw new Error(`${dev.file}: a ${kindOf(dev)} data set, but ${train.file} is ${kind}`);
  return { kind, labels: kind === 'regression' ? [] : train.labels, train: labelledExamples(train, split), dev: dev ? labelledExamples(dev, split) : [] };
}

// Task data readers for transfer: sequence labelling (CoNLL, CoNLL-U, character BIO), classification and sentence
// pairs (TSV, CSV, JSON lines, MRPC, SICK), each with its label set, counts and invalid UTF-8 counts; readTask dispatches.
export * from './char-bio.js';
export * from './conll.js';
export * from './conllu.js';
export * from './jsonl.js';
export { detectScheme, sortLabels, toIob2 } from './labels.js';
export * from './pairs.js';
export * from './read.js';
export { sampleIndices } from './sample.js';
export { readTaskLines, type SequenceReadOptions, type TaskLines } from './source.js';
export * from './table.js';
export * from './types.js';

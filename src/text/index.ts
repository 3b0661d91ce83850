// Text: corpora on disk (files, folders, .gz; invalid UTF-8 replaced and counted), sentence splitting,
// normalisation, pre-tokenisation, WordPiece / byte-level BPE / word-level tokenizers, trainers, and Hugging Face's
// tokenizer.json, vocab.txt and vocab.json + merges.txt formats.
export * from './corpus.js';
export * from './sentences.js';
export * from './utf8.js';
export * from './char-vocab.js';
export * from './unicode.js';
export * from './pretokenize.js';
export * from './models.js';
export * from './tokenizer.js';
export * from './train.js';
export * from './word-lm.js';

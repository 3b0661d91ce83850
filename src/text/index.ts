// Text: normalisation, pre-tokenisation, WordPiece / byte-level BPE / word-level tokenizers, trainers, and
// Hugging Face's tokenizer.json, vocab.txt and vocab.json + merges.txt formats.
export * from './char-vocab.js';
export * from './unicode.js';
export * from './pretokenize.js';
export * from './models.js';
export * from './tokenizer.js';
export * from './train.js';

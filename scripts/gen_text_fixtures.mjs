// Regenerates test/fixtures/text/*.json: tokenizer.json files saved by Hugging Face tokenizers (the npm binding),
// trained on the first part of corpus.txt so that the rest of it exercises unknown words and subword splits.
// Usage: node scripts/gen_text_fixtures.mjs
import { createRequire } from 'node:module';
import { readFileSync, writeFileSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const hf = createRequire(import.meta.url)('tokenizers');
const dir = new URL('../test/fixtures/text/', import.meta.url).pathname;
const tmp = mkdtempSync(join(tmpdir(), 'text-fixtures-'));
const lines = readFileSync(join(dir, 'corpus.txt'), 'utf8').split('\n');
const train = join(tmp, 'train.txt');
writeFileSync(train, lines.slice(0, 60).join('\n') + '\n' + lines.filter((l) => /[\u4e00-\u9fff]/.test(l)).slice(0, 3).join('\n'));
const SPECIALS = ['[PAD]', '[UNK]', '[CLS]', '[SEP]', '[MASK]'];

function bert(name, normalizer) {
  const tok = new hf.Tokenizer(hf.WordPiece.empty());
  tok.setNormalizer(normalizer);
  tok.setPreTokenizer(hf.bertPreTokenizer());
  tok.train([train]);
  // The binding's trainer takes no special tokens: rebuild the model with them first, as BERT's vocab.txt has them.
  const learnt = Object.entries(tok.getVocab()).sort((a, b) => a[1] - b[1]).map(([t]) => t);
  const vocab = Object.fromEntries([...SPECIALS, ...learnt.filter((t) => !SPECIALS.includes(t))].map((t, i) => [t, i]));
  const out = new hf.Tokenizer(hf.WordPiece.init(vocab, { unkToken: '[UNK]' }));
  out.setNormalizer(normalizer);
  out.setPreTokenizer(hf.bertPreTokenizer());
  out.addSpecialTokens(SPECIALS);
  out.setPostProcessor(hf.templateProcessing('[CLS] $A [SEP]', '[CLS] $A [SEP] $B:1 [SEP]:1', [['[CLS]', 2], ['[SEP]', 3]]));
  out.setDecoder(hf.wordPieceDecoder('##', true));
  out.save(join(dir, name), true);
}

bert('bert-uncased.json', hf.bertNormalizer({ lowercase: true }));
bert('bert-cased.json', hf.bertNormalizer({ lowercase: false }));
bert('bert-chinese.json', hf.bertNormalizer({ lowercase: false, stripAccents: false, handleChineseChars: true }));

// GPT-2 style: byte-level BPE with every byte character in the vocabulary, then the learnt merges.
const bpe = new hf.Tokenizer(hf.BPE.empty());
bpe.setPreTokenizer(hf.byteLevelPreTokenizer(false, true));
bpe.train([train]);
bpe.save(join(tmp, 'bpe.json'), false);
const merges = JSON.parse(readFileSync(join(tmp, 'bpe.json'), 'utf8')).model.merges.map((m) => (typeof m === 'string' ? m.split(' ') : m));
const tokens = [...hf.byteLevelAlphabet().sort((a, b) => a.codePointAt(0) - b.codePointAt(0)), '<|endoftext|>'];
for (const [a, b] of merges) if (!tokens.includes(a + b)) tokens.push(a + b);
const gpt = new hf.Tokenizer(hf.BPE.init(Object.fromEntries(tokens.map((t, i) => [t, i])), merges.slice(0, 600)));
gpt.setPreTokenizer(hf.byteLevelPreTokenizer(false, true));
gpt.setPostProcessor(hf.byteLevelProcessing(false));
gpt.addSpecialTokens(['<|endoftext|>']);
// The binding has no byte-level decoder constructor; tokenizer.json does, so it is added to the saved file.
const path = join(dir, "gpt2.json");
gpt.save(path, true);
const json = JSON.parse(readFileSync(path, "utf8"));
json.decoder = { type: "ByteLevel", add_prefix_space: true, trim_offsets: true, use_regex: true };
writeFileSync(path, JSON.stringify(json, null, 2));
hf.Tokenizer.fromFile(path);

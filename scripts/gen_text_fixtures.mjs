// Regenerates test/fixtures/text/*.json: tokenizer.json files saved by Hugging Face tokenizers (the npm binding),
// trained on the first part of corpus.txt so that the rest of it exercises unknown words and subword splits.
//  - parity: bert-uncased/-cased/-chinese.json and gpt2.json, rebuilt so that every special token and every byte
//    is in the model's vocabulary; hf-parity.test.ts compares them with the binding live.
//  - hf-trained: hf-trained-*.json, the models exactly as the binding's own trainer leaves them with its default
//    settings (no special tokens, only the characters / bytes seen), and hf-trained-encodings.json, the binding's
//    encodings of test texts after loading each file (ids, tokens, offsets, ... or the error it raised).
// Usage: node --import tsx scripts/gen_text_fixtures.mjs [parity] [hf-trained]   (default: both)
// (tsx: the test texts are test/text/corpus.ts's. The binding's WordPiece trainer numbers the ## alphabet in hash
// map order, so every run gives other ids: regenerate only the part you change.)
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
const parts = process.argv.slice(2);
const want = (part) => parts.length === 0 || parts.includes(part);

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

if (want('parity')) {
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
}

// What HF's own trainer gives with its default settings (the binding's `train` takes no options): a WordPiece model
// whose vocabulary has no [UNK] (the special tokens are only added tokens) and a byte-level BPE (and a word-level
// model) knowing only the characters / bytes of its corpus. Hugging Face loads these files; encoding fails for a
// word that needs the missing unknown token, and drops the bytes that have no token.
if (want('hf-trained')) {
  const { CORPUS } = await import('../test/text/corpus.ts');
  const small = join(tmp, 'small.txt');
  writeFileSync(small, lines.slice(0, 40).join('\n') + '\n'); // English prose only: no digits, accents, CJK, emoji
  const save = (tok, name, patch) => {
    const path = join(dir, name);
    tok.save(path, true);
    if (patch) { const json = JSON.parse(readFileSync(path, 'utf8')); patch(json); writeFileSync(path, JSON.stringify(json, null, 2) + '\n'); }
    return path;
  };
  const bertLike = () => {
    const tok = new hf.Tokenizer(hf.WordPiece.empty());
    tok.setNormalizer(hf.bertNormalizer({ lowercase: true }));
    tok.setPreTokenizer(hf.bertPreTokenizer());
    tok.setDecoder(hf.wordPieceDecoder('##', true));
    return tok;
  };
  const bertTemplate = (tok) => hf.templateProcessing('[CLS] $A [SEP]', '[CLS] $A [SEP] $B:1 [SEP]:1', [['[CLS]', tok.tokenToId('[CLS]')], ['[SEP]', tok.tokenToId('[SEP]')]]);
  const files = {};
  // BERT's special tokens added after training: they get the ids after the model's.
  {
    const tok = bertLike();
    tok.train([small]);
    tok.addSpecialTokens(SPECIALS);
    tok.setPostProcessor(bertTemplate(tok));
    files['hf-trained-wordpiece.json'] = save(tok, 'hf-trained-wordpiece.json');
  }
  // Added before training: the file keeps ids 0-4 (the model's first tokens), which HF renumbers on loading; the
  // template was made with the ids the tokenizer had in memory (0-4), and HF emits those.
  {
    const tok = bertLike();
    tok.addSpecialTokens(SPECIALS);
    tok.train([small]);
    tok.setPostProcessor(bertTemplate(tok));
    files['hf-trained-wordpiece-specials-first.json'] = save(tok, 'hf-trained-wordpiece-specials-first.json');
  }
  // Byte-level BPE as GPT-2 is set up (the decoder added to the file: the binding has no constructor for it).
  {
    const tok = new hf.Tokenizer(hf.BPE.empty());
    tok.setPreTokenizer(hf.byteLevelPreTokenizer(false, true));
    tok.train([small]);
    tok.setPostProcessor(hf.byteLevelProcessing());
    tok.addSpecialTokens(['<|endoftext|>']);
    files['hf-trained-bpe.json'] = save(tok, 'hf-trained-bpe.json', (json) => { json.decoder = { type: 'ByteLevel', add_prefix_space: true, trim_offsets: true, use_regex: true }; });
  }
  {
    const tok = new hf.Tokenizer(hf.WordLevel.empty());
    tok.setPreTokenizer(hf.whitespacePreTokenizer());
    tok.train([small]);
    files['hf-trained-wordlevel.json'] = save(tok, 'hf-trained-wordlevel.json');
  }

  // Partly covered words: a byte or character the model lacks between known ones.
  const crafted = ['Zürich', 'x€y', 'a\u0001b', 'naïve café', 'the sisters', ' leading space', 'Quiz 2024!', '[UNK] and [MASK] typed'];
  // The rest of corpus.txt: every line with a non-ASCII character, and every fourth line of the others.
  const rest = lines.slice(40).filter((l, i) => l.length > 0 && (/[^\x00-\x7f]/.test(l) || i % 4 === 0));
  const texts = [...CORPUS, ...crafted, ...rest];
  const short = CORPUS.length + crafted.length; // the BPE variants encode these only
  const pairs = texts.map((_, i) => [i, (i + 1) % texts.length]).filter((_, i) => i % 4 === 0);
  const encode = async (tok, a, b) => {
    let e;
    try { e = await tok.encode(a, b); } catch (err) { return { error: err.message }; }
    return {
      ids: e.getIds(), tokens: e.getTokens(), offsets: e.getOffsets(), typeIds: e.getTypeIds(),
      specialTokensMask: e.getSpecialTokensMask(), wordIds: e.getWordIds().map((w) => w ?? null),
      decoded: await tok.decode(e.getIds(), true),
    };
  };
  const encodeAll = async (tok, n = texts.length, withPairs = true) => {
    const single = [];
    for (const t of texts.slice(0, n)) single.push(await encode(tok, t, null));
    const pair = [];
    if (withPairs) for (const [i, j] of pairs) pair.push(await encode(tok, texts[i], texts[j]));
    return { single, pair };
  };
  const out = { texts, pairs, tokenizers: {}, bpeVariants: {} };
  for (const [name, path] of Object.entries(files)) out.tokenizers[name] = await encodeAll(hf.Tokenizer.fromFile(path));
  // The trained BPE with an unknown token set: one per missing byte, fused runs, or one not in the vocabulary.
  const base = JSON.parse(readFileSync(files['hf-trained-bpe.json'], 'utf8'));
  const unkId = Math.max(...Object.values(base.model.vocab)) + 1;
  const variants = {
    unk: { unk_token: '<unk>', fuse_unk: false, vocab: { '<unk>': unkId } },
    'fused-unk': { unk_token: '<unk>', fuse_unk: true, vocab: { '<unk>': unkId } },
    'unk-not-in-vocab': { unk_token: '<unk>', fuse_unk: false, vocab: {} },
  };
  for (const [name, model] of Object.entries(variants)) {
    const json = { ...base, model: { ...base.model, ...model, vocab: { ...base.model.vocab, ...model.vocab } } };
    out.bpeVariants[name] = { model, ...(await encodeAll(hf.Tokenizer.fromString(JSON.stringify(json)), short, false)) };
  }
  writeFileSync(join(dir, 'hf-trained-encodings.json'), JSON.stringify(out) + '\n');
}

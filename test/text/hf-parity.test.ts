// Encodings (ids, tokens, offsets, type ids, word ids) equal to Hugging Face tokenizers' on a mixed-script corpus,
// for BERT uncased / cased / Chinese-style WordPiece and GPT-2-style byte-level BPE, loaded from files HF saved;
// and, against HF's recorded encodings and errors, files as HF's own trainer leaves them (no [UNK], missing bytes).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createRequire } from 'node:module';
import { readFileSync } from 'node:fs';
import { Tokenizer } from '../../src/text/index.js';
import { CORPUS } from './corpus.js';

const hf = createRequire(import.meta.url)('tokenizers') as typeof import('tokenizers');
const fixture = (name: string) => new URL(`../fixtures/text/${name}`, import.meta.url).pathname;


const texts = (): string[] => {
  const extra = readFileSync(fixture('corpus.txt'), 'utf8').split('\n').filter((l) => l.length > 0);
  return [...CORPUS, ...extra];
};

async function compare(file: string, pairs = false): Promise<void> {
  const ours = Tokenizer.fromFile(file);
  const theirs = hf.Tokenizer.fromFile(file);
  const all = texts();
  for (let i = 0; i < all.length; i++) {
    const a = all[i]!;
    const b = pairs ? all[(i + 1) % all.length]! : null;
    const e = ours.encode(a, b);
    const h = await theirs.encode(a, b);
    const what = `${file} on ${JSON.stringify(a).slice(0, 60)}`;
    assert.deepEqual(e.tokens, h.getTokens(), `tokens: ${what}`);
    assert.deepEqual(e.ids, h.getIds(), `ids: ${what}`);
    assert.deepEqual(e.offsets, h.getOffsets(), `offsets: ${what}`);
    assert.deepEqual(e.typeIds, h.getTypeIds(), `type ids: ${what}`);
    assert.deepEqual(e.specialTokensMask, h.getSpecialTokensMask(), `special mask: ${what}`);
    assert.deepEqual(e.wordIds, h.getWordIds().map((w) => w ?? null), `word ids: ${what}`);
    assert.equal(ours.decode(e.ids), await theirs.decode(h.getIds(), true), `decode: ${what}`);
  }
}

for (const name of ['bert-uncased.json', 'bert-cased.json', 'bert-chinese.json', 'gpt2.json']) {
  test(`${name}: encodings equal Hugging Face's`, () => compare(fixture(name)));
  test(`${name}: pair encodings equal Hugging Face's`, () => compare(fixture(name), true));
}

// Files as Hugging Face's own trainer leaves them with its default settings (scripts/gen_text_fixtures.mjs,
// hf-trained): a WordPiece whose [UNK] is only an added token, a byte-level BPE lacking most of the 256 bytes, a
// word-level model without its unknown token. HF loads them; its encodings (or the error it raised) after loading
// each file are committed in hf-trained-encodings.json.
interface HfEncoding { ids: number[]; tokens: string[]; offsets: [number, number][]; typeIds: number[]; specialTokensMask: number[]; wordIds: (number | null)[]; decoded: string }
type HfResult = HfEncoding | { error: string };
interface HfRun { single: HfResult[]; pair: HfResult[] }
const trained = JSON.parse(readFileSync(fixture('hf-trained-encodings.json'), 'utf8')) as {
  texts: string[]; pairs: [number, number][]; tokenizers: Record<string, HfRun>; bpeVariants: Record<string, HfRun & { model: Record<string, unknown> }>;
};

function sameAsRecorded(ours: Tokenizer, run: HfRun, what: string): void {
  const check = (h: HfResult, a: string, b: string | null) => {
    const where = `${what} on ${JSON.stringify(a).slice(0, 60)}${b === null ? '' : ' + pair'}`;
    if ('error' in h) {
      // Ours fails too, with Hugging Face's reason in the message.
      assert.throws(() => ours.encode(a, b), (e: Error) => e.message.includes(h.error), `error: ${where}`);
      return;
    }
    const e = ours.encode(a, b);
    assert.deepEqual(e.tokens, h.tokens, `tokens: ${where}`);
    assert.deepEqual(e.ids, h.ids, `ids: ${where}`);
    assert.deepEqual(e.offsets, h.offsets, `offsets: ${where}`);
    assert.deepEqual(e.typeIds, h.typeIds, `type ids: ${where}`);
    assert.deepEqual(e.specialTokensMask, h.specialTokensMask, `special mask: ${where}`);
    assert.deepEqual(e.wordIds, h.wordIds, `word ids: ${where}`);
    assert.equal(ours.decode(e.ids), h.decoded, `decode: ${where}`);
  };
  run.single.forEach((h, i) => check(h, trained.texts[i]!, null));
  run.pair.forEach((h, k) => { const [i, j] = trained.pairs[k]!; check(h, trained.texts[i]!, trained.texts[j]!); });
}

for (const [name, run] of Object.entries(trained.tokenizers)) {
  test(`${name} (HF's trainer, default settings) loads; encodings equal HF's, and fail where HF's fail`, () => {
    sameAsRecorded(Tokenizer.fromFile(fixture(name)), run, name);
  });
}

for (const [name, run] of Object.entries(trained.bpeVariants)) {
  test(`hf-trained-bpe.json with model ${JSON.stringify(run.model)}: encodings equal HF's`, () => {
    const base = JSON.parse(readFileSync(fixture('hf-trained-bpe.json'), 'utf8'));
    const model = { ...base.model, ...run.model, vocab: { ...base.model.vocab, ...(run.model.vocab as object) } };
    sameAsRecorded(Tokenizer.fromJSON({ ...base, model }), run, name);
  });
}

test('the recorded runs cover what they are for', () => {
  const errors = (run: HfRun) => run.single.filter((h) => 'error' in h).length;
  const wp = trained.tokenizers['hf-trained-wordpiece.json']!;
  assert.ok(errors(wp) > 0 && errors(wp) < wp.single.length, 'some WordPiece texts need [UNK], some do not');
  const vocab = JSON.parse(readFileSync(fixture('hf-trained-wordpiece.json'), 'utf8')).model.vocab;
  assert.equal(vocab['[UNK]'], undefined);
  const bpe = JSON.parse(readFileSync(fixture('hf-trained-bpe.json'), 'utf8')).model.vocab;
  assert.ok(Object.keys(bpe).filter((t) => [...t].length === 1).length < 128, 'most bytes have no token');
  // A dropped byte shifts the offsets after it within its word, as in HF: "Zürich" without Z and ü.
  const z = trained.tokenizers['hf-trained-bpe.json']!.single[trained.texts.indexOf('Zürich')] as HfEncoding;
  assert.deepEqual(z.tokens, ['r', 'ich']);
});

test('a word that needs the missing [UNK] fails to encode, naming the word', () => {
  const wp = Tokenizer.fromFile(fixture('hf-trained-wordpiece.json'));
  assert.deepEqual(wp.encode('the sisters').tokens, ['[CLS]', 'the', 'sisters', '[SEP]']);
  assert.throws(() => wp.encode('the 😀 sisters'), /WordPiece: .*"😀".*\[UNK\].*not in the model's vocabulary/);
  const wl = Tokenizer.fromFile(fixture('hf-trained-wordlevel.json'));
  assert.throws(() => wl.encode('the zebra'), /WordLevel: .*"zebra".*<unk>/);
});

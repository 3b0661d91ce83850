// Truncation (pair strategies, both directions) and padding against Hugging Face tokenizers; templates (BERT
// segment ids, GPT's start/delimiter/extract); the offset units; vocab.txt and vocab.json + merges.txt round trips.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createRequire } from 'node:module';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gptTemplate, splitAscii, Tokenizer, type TruncationOptions } from '../../src/text/index.js';
import { CORPUS } from './corpus.js';

const hf = createRequire(import.meta.url)('tokenizers') as typeof import('tokenizers');
const fixture = (name: string) => new URL(`../fixtures/text/${name}`, import.meta.url).pathname;
const tmp = mkdtempSync(join(tmpdir(), 'text-tok-'));

test('truncation strategies and directions equal Hugging Face, for singles and pairs', async () => {
  const ours = Tokenizer.fromFile(fixture('bert-uncased.json'));
  const theirs = hf.Tokenizer.fromFile(fixture('bert-uncased.json'));
  const hfStrategy = { longest_first: 'LongestFirst', only_first: 'OnlyFirst', only_second: 'OnlySecond' } as const;
  for (const strategy of ['longest_first', 'only_first', 'only_second'] as const) {
    for (const direction of ['right', 'left'] as const) {
      for (const maxLength of [7, 12, 25]) {
        const opts: TruncationOptions = { maxLength, strategy, direction };
        ours.truncation = opts;
        theirs.setTruncation(maxLength, { strategy: hfStrategy[strategy] as never, direction: direction });
        for (let i = 0; i < 6; i++) {
          const [a, b] = [CORPUS[i]!, CORPUS[i + 10]!];
          for (const pair of strategy === 'longest_first' ? [null, b] : [b]) {
            let h: import('tokenizers').Encoding | Error;
            try { h = await theirs.encode(a, pair); } catch (e) { h = e as Error; }
            if (h instanceof Error) { assert.throws(() => ours.encode(a, pair), /not long enough/); continue; }
            const e = ours.encode(a, pair);
            assert.deepEqual(e.ids, h.getIds(), `${strategy} ${direction} ${maxLength} ${a}`);
            assert.deepEqual(e.offsets, h.getOffsets());
            assert.deepEqual(e.typeIds, h.getTypeIds());
          }
        }
      }
    }
  }
});

test('padding to the longest, to a fixed length, to a multiple, left and right, equals Hugging Face', async () => {
  const ours = Tokenizer.fromFile(fixture('bert-uncased.json'));
  const theirs = hf.Tokenizer.fromFile(fixture('bert-uncased.json'));
  const pad = theirs.tokenToId('[PAD]')!;
  const batch = CORPUS.slice(0, 5);
  for (const [length, multiple, direction] of [['longest', undefined, 'right'], [40, undefined, 'left'], ['longest', 8, 'right']] as const) {
    ours.padding = { length, padToMultipleOf: multiple, direction, padToken: '[PAD]' };
    theirs.setPadding({ maxLength: length === 'longest' ? undefined : length, padToMultipleOf: multiple, direction: direction, padId: pad, padToken: '[PAD]' });
    const hs = await theirs.encodeBatch(batch);
    const es = ours.encodeBatch(batch);
    es.forEach((e, i) => {
      const h = hs[i]!;
      assert.deepEqual(e.ids, h.getIds());
      assert.deepEqual(e.attentionMask, h.getAttentionMask());
      assert.deepEqual(e.specialTokensMask, h.getSpecialTokensMask());
      assert.deepEqual(e.offsets, h.getOffsets());
      assert.deepEqual(e.wordIds, h.getWordIds().map((w) => w ?? null));
    });
  }
});

test('BERT pair template: [CLS] A [SEP] B [SEP] with segment ids 0 then 1; addSpecialTokens false leaves them out', () => {
  const tok = Tokenizer.fromFile(fixture('bert-uncased.json'));
  const e = tok.encode('the sisters', 'were happy');
  assert.equal(e.tokens[0], '[CLS]');
  assert.deepEqual(e.tokens.filter((t) => t === '[SEP]').length, 2);
  const sep = e.tokens.indexOf('[SEP]');
  assert.deepEqual(e.typeIds, e.tokens.map((_, i) => (i <= sep ? 0 : 1)));
  assert.deepEqual(e.sequenceIds, e.tokens.map((t, i) => (t === '[CLS]' || t === '[SEP]' ? null : i < sep ? 0 : 1)));
  const bare = tok.encode('the sisters', null, { addSpecialTokens: false });
  assert.deepEqual(bare.tokens, e.tokens.slice(1, sep));
});

test("GPT's start / delimiter / extract template", () => {
  const base = Tokenizer.fromFile(fixture('gpt2.json'));
  const tok = new Tokenizer({ ...base.config, template: gptTemplate('<|endoftext|>', '<|endoftext|>', '<|endoftext|>') });
  const e = tok.encode('Hello', 'world');
  const eot = tok.tokenToId('<|endoftext|>');
  assert.equal(e.ids[0], eot);
  assert.equal(e.ids[e.ids.length - 1], eot);
  assert.equal(e.ids.filter((i) => i === eot).length, 3);
  assert.equal(tok.decode(e.ids), 'Helloworld');
});

test("offsets: code points by default (Hugging Face's), UTF-16 indices on request", () => {
  const tok = Tokenizer.fromFile(fixture('gpt2.json'));
  const text = '😀 ok 😀';
  const chars = tok.encode(text).offsets;
  tok.offsetUnit = 'utf16';
  const units = tok.encode(text).offsets;
  // Code points count the emoji as 1, UTF-16 as 2: spans after it differ by one.
  assert.deepEqual(chars.slice(4, -4), units.slice(4, -4).map(([s, e]) => [s - 1, e - 1]));
  assert.deepEqual(chars.at(-1), [5, 6]);
  assert.deepEqual(units.at(-1), [6, 8]);
  // The four byte tokens of an emoji each span the whole emoji.
  assert.equal([...new Set(units.map(([s, e]) => `${s}:${text.slice(s, e)}`))].map((x) => x.split(':')[1]).join(''), text);
});

test('vocab.txt and vocab.json + merges.txt round trips encode as the tokenizer.json they came from', () => {
  const bert = Tokenizer.fromFile(fixture('bert-uncased.json'));
  bert.saveVocabTxt(join(tmp, 'vocab.txt'));
  const fromTxt = Tokenizer.fromFile(join(tmp, 'vocab.txt'));
  const gpt = Tokenizer.fromFile(fixture('gpt2.json'));
  gpt.saveVocabMerges(tmp);
  const fromMerges = Tokenizer.fromFile(join(tmp, 'vocab.json'));
  for (const t of CORPUS) {
    assert.deepEqual(fromTxt.encode(t).ids, bert.encode(t).ids);
    assert.deepEqual(fromMerges.encode(t, null, { addSpecialTokens: false }).ids, gpt.encode(t).ids);
  }
});

test('bad files: errors name the file and the problem', () => {
  writeFileSync(join(tmp, 'bad.json'), '{"model": {"type": "Unigram", "vocab": []}}');
  assert.throws(() => Tokenizer.fromFile(join(tmp, 'bad.json')), /bad\.json: tokenizer\.json: model of type "Unigram" is not supported/);
  writeFileSync(join(tmp, 'broken.json'), '{"model": ');
  assert.throws(() => Tokenizer.fromFile(join(tmp, 'broken.json')), /broken\.json: not JSON/);
  // A vocabulary without its unknown token loads (Hugging Face's does); only a word that needs it fails.
  writeFileSync(join(tmp, 'nounk.json'), JSON.stringify({ model: { type: 'WordPiece', vocab: { a: 0, '##b': 1 }, unk_token: '[UNK]' } }));
  const nounk = Tokenizer.fromFile(join(tmp, 'nounk.json'));
  assert.deepEqual(nounk.encode('ab a').ids, [0, 1, 0]);
  assert.throws(() => nounk.encode('a ba'), /WordPiece: cannot encode the word "ba": it needs the unknown token \[UNK\], which is not in the model's vocabulary/);
});

test('valid JSON of the wrong shape: the error says what a tokenizer.json is and what the file has', () => {
  const wrong = (name: string, json: unknown) => { writeFileSync(join(tmp, name), JSON.stringify(json)); return () => Tokenizer.fromFile(join(tmp, name)); };
  const expected = /expected an object with "model": \{"type": "WordPiece" \| "BPE" \| "WordLevel", "vocab": \{\.\.\.\}, \.\.\.\}/;
  for (const [name, json, found] of [
    ['array.json', [1, 2, 3], /found an array of 3 items/],
    ['string.json', 'tokenizer', /found a string \("tokenizer"\)/],
    ['null.json', null, /found null/],
    ['keys.json', { version: '1.0', vocab_size: 3, tokens: ['a'] }, /found an object with keys "version", "vocab_size", "tokens"/],
  ] as const) {
    assert.throws(wrong(name, json), (e: Error) => e.message.startsWith(`${join(tmp, name)}: not a tokenizer.json: `) && expected.test(e.message) && found.test(e.message), name);
    assert.throws(wrong(name, json), (e: Error) => !/merges\.txt/.test(e.message), name);
  }
  // A token -> id object with no merges.txt beside it says so.
  const lone = mkdtempSync(join(tmpdir(), 'text-tok-lone-'));
  writeFileSync(join(lone, 'tokens.json'), JSON.stringify({ a: 0, b: 1 }));
  assert.throws(() => Tokenizer.fromFile(join(lone, 'tokens.json')), /tokens\.json: not a tokenizer\.json: .*found an object with keys "a", "b" \(it looks like a vocab\.json, token -> id, but there is no merges\.txt beside it\)/);
  writeFileSync(join(lone, 'vocab.json'), JSON.stringify({ model: {} }));
  assert.throws(() => Tokenizer.fromFile(join(lone, 'vocab.json')), /vocab\.json: a vocab\.json should be an object of token -> id; found an object with keys "model"/);
  // The model part: not an object, no type and no fields to tell it by, a type we do not read, a vocab not a map.
  assert.throws(wrong('m1.json', { model: 'BPE' }), /m1\.json: tokenizer\.json: expected "model": \{"type": .*found "model": a string \("BPE"\)/);
  assert.throws(wrong('m2.json', { model: { vocab: {} } }), /m2\.json: tokenizer\.json: expected "model": .*found a "model" with no "type": an object with keys "vocab"/);
  assert.throws(wrong('m3.json', { model: { type: 'Unigram', vocab: [] } }), /model of type "Unigram" is not supported \(expected "WordPiece", "BPE" or "WordLevel"\)/);
  assert.throws(wrong('m4.json', { model: { type: 'WordLevel', vocab: ['a'], unk_token: 'a' } }), /the WordLevel model's "vocab" should be an object of token -> id; found an array of 1 items/);
  assert.throws(wrong('m5.json', { model: { type: 'BPE', vocab: { a: 0 } } }), /the BPE model's "merges" should be an array; found nothing \(no such key\)/);
});

test('a model with no "type" (files from before tokenizers 0.9) is told by its fields, as Hugging Face does', async () => {
  const base = JSON.parse(readFileSync(fixture('bert-uncased.json'), 'utf8'));
  const { type, ...model } = base.model;
  assert.equal(type, 'WordPiece');
  const path = join(tmp, 'untyped.json');
  writeFileSync(path, JSON.stringify({ ...base, model }));
  const [ours, theirs] = [Tokenizer.fromFile(path), hf.Tokenizer.fromFile(path)];
  assert.equal(ours.model.type, 'WordPiece');
  for (const t of CORPUS) assert.deepEqual(ours.encode(t).ids, (await theirs.encode(t)).getIds(), t);
  const gpt = JSON.parse(readFileSync(fixture('gpt2.json'), 'utf8'));
  const { type: _, ...bpe } = gpt.model;
  assert.equal(Tokenizer.fromJSON({ ...gpt, model: bpe }).model.type, 'BPE');
  assert.equal(Tokenizer.fromJSON({ model: { vocab: { '[UNK]': 0 }, unk_token: '[UNK]' } }).model.type, 'WordLevel');
});

test('files from HF\'s trainer saved by us load back with the same encodings (unknown token, ids, template ids, trimming)', () => {
  const recorded = JSON.parse(readFileSync(fixture('hf-trained-encodings.json'), 'utf8'));
  for (const name of Object.keys(recorded.tokenizers)) {
    const tok = Tokenizer.fromFile(fixture(name));
    const path = join(tmp, `resaved-${name}`);
    tok.save(path);
    const again = Tokenizer.fromFile(path);
    recorded.texts.forEach((text: string, i: number) => {
      const h = recorded.tokenizers[name].single[i];
      if ('error' in h) { assert.throws(() => again.encode(text)); return; }
      const e = again.encode(text);
      assert.deepEqual([e.ids, e.offsets], [h.ids, h.offsets], `${name} on ${text}`);
    });
  }
});

test("the byte-level split's ASCII scanner equals Hugging Face's regex split on random ASCII", () => {
  const pre = hf.byteLevelPreTokenizer(false, true);
  const alphabet = "aZ09 '\t\n\r.,!sStTdmlrve-_\x01\x7f";
  let seed = 7;
  const rand = () => { seed = (seed * 1103515245 + 12345) % 2147483648; return seed / 2147483648; };
  for (let k = 0; k < 500; k++) {
    const text = Array.from({ length: 1 + Math.floor(rand() * 30) }, () => alphabet[Math.floor(rand() * alphabet.length)]).join('');
    const ours: [number, number][] = [];
    splitAscii(text, (w, at) => ours.push([at, at + w.length]));
    assert.deepEqual(ours, pre.preTokenizeString(text).map(([, o]) => o), JSON.stringify(text));
  }
});

test("RoBERTa's post-processor (<s> A </s></s> B </s>, trimmed offsets) loads and encodes as Hugging Face", async () => {
  const base = hf.Tokenizer.fromFile(fixture('gpt2.json'));
  base.addSpecialTokens(['<s>', '</s>']);
  base.setPostProcessor(hf.robertaProcessing(['</s>', base.tokenToId('</s>')!], ['<s>', base.tokenToId('<s>')!], true, false));
  const path = join(tmp, 'roberta.json');
  base.save(path);
  const ours = Tokenizer.fromFile(path);
  for (let i = 0; i < CORPUS.length; i++) {
    const [a, b] = [CORPUS[i]!, CORPUS[(i + 3) % CORPUS.length]!];
    const h = await base.encode(a, b);
    const e = ours.encode(a, b);
    assert.deepEqual(e.ids, h.getIds());
    assert.deepEqual(e.offsets, h.getOffsets(), a);
    assert.deepEqual(e.typeIds, h.getTypeIds());
  }
});

test('added tokens with lstrip, rstrip and single_word match as in Hugging Face', async () => {
  const base = hf.Tokenizer.fromFile(fixture('gpt2.json'));
  base.addAddedTokens([
    new hf.AddedToken('<mask>', true, { leftStrip: true }),
    new hf.AddedToken('[X]', true, { rightStrip: true }),
    new hf.AddedToken('zz', false, { singleWord: true }),
  ]);
  const path = join(tmp, 'added.json');
  base.save(path);
  const ours = Tokenizer.fromFile(path);
  for (const text of ['The capital is  <mask>.', 'a<mask> b', '[X]   next [X]', 'zz fizz zz_ zz.', 'end <mask>', '  <mask>  [X]']) {
    const h = await base.encode(text, null);
    const e = ours.encode(text);
    // Hugging Face's token string is the matched text, stripped whitespace included; ours is the token itself.
    assert.deepEqual(e.tokens, h.getTokens().map((x) => x.trim()), text);
    assert.deepEqual(e.ids, h.getIds(), text);
    assert.deepEqual(e.offsets, h.getOffsets(), text);
  }
});

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { Corpus, joinWrapped, listCorpusFiles } from '../../src/text/corpus.js';
import { splitSentences } from '../../src/text/sentences.js';
import { Utf8Counter } from '../../src/text/utf8.js';

const FIXTURES = join(import.meta.dirname, '..', 'fixtures', 'data');

/** Replacement characters TextDecoder produces for `bytes`, less the U+FFFD (EF BF BD) that were in the source. */
function decoderReplacements(bytes: Uint8Array): number {
  const text = new TextDecoder().decode(bytes);
  let out = 0, literal = 0;
  for (const ch of text) if (ch === '\ufffd') out++;
  for (let i = 0; i + 2 < bytes.length; i++) if (bytes[i] === 0xef && bytes[i + 1] === 0xbf && bytes[i + 2] === 0xbd) literal++;
  return out - literal;
}

test('Utf8Counter counts exactly the replacements TextDecoder makes, whatever the chunking', () => {
  let seed = 7;
  const rand = () => { seed = (Math.imul(seed, 1103515245) + 12345) >>> 0; return seed / 2 ** 32; };
  const pieces = [[0x61], [0xc3, 0xa9], [0xe4, 0xb8, 0xad], [0xf0, 0x9f, 0x98, 0x80], [0xef, 0xbf, 0xbd], [0x80], [0xff], [0xc0, 0xaf], [0xe0, 0x80], [0xed, 0xa0, 0x80], [0xf4, 0x90], [0xe2, 0x82], [0xf0, 0x9f]];
  for (let trial = 0; trial < 300; trial++) {
    const bytes: number[] = [];
    for (let k = 0; k < 40; k++) bytes.push(...pieces[Math.floor(rand() * pieces.length)]!);
    if (rand() < 0.3) bytes.push(0xe2); // cut off at the end
    const buf = Uint8Array.from(bytes);
    const counter = new Utf8Counter();
    for (let at = 0; at < buf.length;) {
      const n = 1 + Math.floor(rand() * 5);
      counter.push(buf.subarray(at, at + n));
      at += n;
    }
    counter.end();
    assert.equal(counter.invalidSequences, decoderReplacements(buf), `trial ${trial}: ${Array.from(buf, (b) => b.toString(16)).join(' ')}`);
  }
});

test('invalid UTF-8 in a corpus is replaced and counted per file, never a crash; a literal U+FFFD is not counted', async () => {
  const path = join(FIXTURES, 'invalid-utf8.txt');
  const bytes = readFileSync(path);
  for (const chunkBytes of [1, 3, 65536]) {
    const corpus = await Corpus.open(path, { chunkBytes });
    const lines: string[] = [];
    for await (const l of corpus.lines()) lines.push(l);
    assert.equal(lines.length, 8);
    assert.equal(lines[1], 'This is the hope and the promise of completing what man\ufffd\ufffds genius has begun.');
    assert.equal(lines[7], 'The file ends inside a sequence \ufffd');
    assert.equal(corpus.stats.invalidSequences, 10, `chunk ${chunkBytes}`);
    assert.equal(corpus.stats.invalidBytes, 11);
    assert.equal(corpus.stats.invalidSequences, decoderReplacements(bytes));
    assert.deepEqual(corpus.stats.invalidFiles, [{ path, sequences: 10, bytes: 11 }]);
    assert.equal(corpus.stats.bytesRead, bytes.length);
  }
});

test('folders are read recursively in sorted order, .gz decompressed, CRLF and BOM handled, notes skipped', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'corpus-'));
  mkdirSync(join(dir, 'b-sub'));
  writeFileSync(join(dir, 'c.txt'), 'third\r\nfile\r\n');
  writeFileSync(join(dir, 'a.txt'), '\ufeffFirst line.\nSecond line.\n\nNew doc.');
  writeFileSync(join(dir, 'b-sub', 'x.txt.gz'), gzipSync(Buffer.from('gz one\ngz two\n')));
  writeFileSync(join(dir, 'README.md'), 'not corpus text');
  writeFileSync(join(dir, '.hidden'), 'hidden');
  const files = await listCorpusFiles(dir);
  assert.deepEqual(files.map((f) => f.path.slice(dir.length + 1)), ['a.txt', 'b-sub/x.txt.gz', 'c.txt']);
  const corpus = await Corpus.open([dir]);
  const lines: string[] = [];
  for await (const l of corpus.lines()) lines.push(l);
  assert.deepEqual(lines, ['First line.', 'Second line.', '', 'New doc.', 'gz one', 'gz two', 'third', 'file']);
  const docs: string[][] = [];
  for await (const d of corpus.documents()) docs.push(d);
  // A blank line and every file boundary end a document.
  assert.deepEqual(docs, [['First line.', 'Second line.'], ['New doc.'], ['gz one', 'gz two'], ['third', 'file']]);
  assert.equal(corpus.stats.documents, 4);
  assert.equal(corpus.stats.sentences, 7);
  assert.equal(corpus.stats.files, 3);
  assert.equal(corpus.stats.invalidSequences, 0);
  await assert.rejects(Corpus.open(join(dir, 'missing')), /missing: no such file or folder/);
  writeFileSync(join(dir, 'bad.gz'), 'not gzip');
  const bad = await Corpus.open(join(dir, 'bad.gz'));
  await assert.rejects(async () => { for await (const _ of bad.lines()) { /* drain */ } }, /bad\.gz: incorrect header check/);
});

test('the prose layout joins wrapped lines and splits paragraphs into sentences; documents per file or paragraph; raw keeps the text', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'prose-'));
  writeFileSync(join(dir, 'book.txt'), 'It was Mr. Darcy who spoke. He said\nnothing more.\n\n“Is it so?” asked she. It was.\n');
  writeFileSync(join(dir, 'zh.txt'), '话说天下大势，分久必合，合久必分。周末七国分争，\n并入于秦。他说：“走吧！”众人皆应。\n');
  const perFile = await Corpus.open(dir, { layout: 'prose' });
  const docs: string[][] = [];
  for await (const d of perFile.documents()) docs.push(d);
  assert.deepEqual(docs, [
    ['It was Mr. Darcy who spoke.', 'He said nothing more.', '“Is it so?” asked she.', 'It was.'],
    ['话说天下大势，分久必合，合久必分。', '周末七国分争，并入于秦。', '他说：“走吧！”', '众人皆应。'],
  ]);
  const raw = await Corpus.open(join(dir, 'book.txt'), { layout: 'raw' });
  const rawDocs: string[][] = [];
  for await (const d of raw.documents()) rawDocs.push(d);
  assert.deepEqual(rawDocs.map((d) => d.join('\n')), [readFileSync(join(dir, 'book.txt'), 'utf8').replace(/\n$/, '')], 'raw: the file text unchanged');
  const perParagraph = await Corpus.open(join(dir, 'book.txt'), { layout: 'prose', proseDocuments: 'paragraph' });
  const paras: string[][] = [];
  for await (const d of perParagraph.documents()) paras.push(d);
  assert.equal(paras.length, 2);
});

test('English sentence splitting: titles, Latin abbreviations, initials, acronyms, quotes, numbers', () => {
  const cases: [string, string[]][] = [
    ['Mr. Smith met Dr. Jones. They talked.', ['Mr. Smith met Dr. Jones.', 'They talked.']],
    ['Use tools, e.g. hammers. Then stop.', ['Use tools, e.g. hammers.', 'Then stop.']],
    ['I read J. R. R. Tolkien today. It was good.', ['I read J. R. R. Tolkien today.', 'It was good.']],
    ['He moved to the U.S. in 1990. Pi is 3.14 exactly.', ['He moved to the U.S. in 1990.', 'Pi is 3.14 exactly.']],
    ['"Stop!" she cried. "Why?" he asked.', ['"Stop!" she cried.', '"Why?" he asked.']],
    ['He left. "Come back," she said.', ['He left.', '"Come back," she said.']],
    ['Wait... What happened?! Nothing.', ['Wait...', 'What happened?!', 'Nothing.']],
    ['It cost 5 dollars. 3 were left.', ['It cost 5 dollars.', '3 were left.']],
    ['No terminal punctuation', ['No terminal punctuation']],
    ['', []],
  ];
  for (const [text, expected] of cases) assert.deepEqual(splitSentences(text), expected, text);
});

test('Chinese sentence splitting at 。！？ with closing quotes; wrapped CJK lines join without spaces', () => {
  assert.deepEqual(splitSentences('他笑道：「好！」我们走吧。真的吗？是的'), ['他笑道：「好！」', '我们走吧。', '真的吗？', '是的']);
  assert.deepEqual(splitSentences('“你来了。”他说。'), ['“你来了。”', '他说。']);
  assert.equal(joinWrapped(['第一行', '第二行']), '第一行第二行');
  assert.equal(joinWrapped(['first line', 'second line']), 'first line second line');
});

test('the committed pretraining corpus is multi-document, one sentence a line', async () => {
  const corpus = await Corpus.open(join(FIXTURES, 'pretrain-corpus.txt'));
  let docs = 0, sentences = 0;
  for await (const d of corpus.documents()) { docs++; sentences += d.length; }
  assert.ok(docs >= 15, `${docs} documents`);
  assert.ok(sentences >= 500, `${sentences} sentences`);
});

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { BERT_DATA_DEFAULTS, createTrainingInstances, instancesToBatch, tokenizeDocuments } from '../../src/data/bert.js';
import { Corpus } from '../../src/text/corpus.js';
import { bertVocab } from '../../src/data/encoder.js';
import { prepareBertData, prepareLmData, type PrepareProgress } from '../../src/data/prepare.js';
import { Rng } from '../../src/data/random.js';
import { BertShardSource, loadBertExamples, readManifest, readShards, ShardWriter } from '../../src/data/shards.js';
import { readSafetensors } from '../../src/io/safetensors.js';
import { selectRows } from '../../src/data/batches.js';
import { testEncoder, words } from './helpers.js';

const CORPUS = join(import.meta.dirname, '..', 'fixtures', 'data', 'pretrain-corpus.txt');

test('prepareBertData writes the documented shard layout; shards read back stream by stream equal the examples made in memory', async () => {
  const out = mkdtempSync(join(tmpdir(), 'bert-data-'));
  const enc = testEncoder(readFileSync(CORPUS, 'utf8'));
  const phases = new Set<string>();
  const opts = { maxSeqLength: 64, maxPredictionsPerSeq: 10, dupeFactor: 2, seed: 11, wholeWordMask: true };
  const { manifest, summary } = await prepareBertData({ input: CORPUS, out, encoder: enc, examplesPerShard: 300, ...opts, onProgress: (p: PrepareProgress) => phases.add(p.phase) });
  assert.deepEqual([...phases].sort(), ['examples', 'read', 'write']);
  assert.equal(manifest.kind, 'bert');
  assert.equal(manifest.examples, summary.examples);
  assert.equal(manifest.shards.length, Math.ceil(summary.examples / 300));
  assert.deepEqual(readdirSync(out).sort(), ['manifest.json', ...manifest.shards.map((s) => s.file)].sort());
  assert.ok(summary.documents >= 15 && summary.tokens > 20_000 && summary.invalidSequences === 0);
  // Each shard is a plain safetensors file with the documented tensors.
  const first = await readSafetensors(join(out, manifest.shards[0]!.file));
  assert.deepEqual([...first.tensors.keys()].sort(), ['attention_mask', 'input_ids', 'masked_lm_ids', 'masked_lm_positions', 'masked_lm_weights', 'next_sentence_labels', 'token_type_ids']);
  assert.deepEqual(first.tensors.get('input_ids')!.shape, [300, 64]);
  assert.equal(first.tensors.get('masked_lm_weights')!.dtype, 'F32');
  assert.deepEqual(first.tensors.get('next_sentence_labels')!.shape, [300]);
  assert.equal(first.metadata.kind, 'bert');
  // The same run in memory.
  const docs = await tokenizeDocuments((await Corpus.open(CORPUS)).documents(), enc);
  const vocab = bertVocab(enc);
  const expected = instancesToBatch(createTrainingInstances(docs, vocab, { ...BERT_DATA_DEFAULTS, ...opts }, new Rng(11)).slice(0), 64, 10, vocab.pad);
  assert.deepEqual(await loadBertExamples(out), expected);
  // Streaming across shard boundaries, wrapping at the end, resumable.
  const source = await BertShardSource.open(out);
  assert.equal(source.length, expected.size);
  const b1 = await source.next(250);
  assert.deepEqual(b1, selectRows(expected, Array.from({ length: 250 }, (_, i) => i)));
  const saved = source.state();
  const b2 = await source.next(400); // crosses into the second shard
  assert.deepEqual(b2, selectRows(expected, Array.from({ length: 400 }, (_, i) => 250 + i)));
  source.restore(saved);
  assert.deepEqual(await source.next(400), b2);
  const n = expected.size;
  const wrap = await (await BertShardSource.open(out)).next(n + 5);
  assert.deepEqual(selectRows(wrap, [n, n + 4]), selectRows(expected, [0, 4]));
  assert.throws(() => source.restore({ shard: 99, row: 0 }), /cannot restore data position/);
});

test('shard folders are checked: a column that disagrees with the manifest, a version mismatch, a missing manifest', async () => {
  const out = mkdtempSync(join(tmpdir(), 'shards-'));
  const writer = await ShardWriter.create(out, 'lm', { input_ids: { dtype: 'I32', width: 4 } }, 2);
  await writer.append({ input_ids: Int32Array.from([1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12]) }, 3);
  await assert.rejects(writer.append({ input_ids: Int32Array.from([1, 2, 3]) }, 1), /3 values for 1 examples of width 4/);
  writeFileSync(join(out, 'shard-00007.safetensors'), 'left by an earlier run');
  const manifest = await writer.finish({ note: 'x' });
  assert.deepEqual(readdirSync(out).sort(), ['manifest.json', 'shard-00000.safetensors', 'shard-00001.safetensors']);
  assert.deepEqual(manifest.shards, [{ file: 'shard-00000.safetensors', examples: 2 }, { file: 'shard-00001.safetensors', examples: 1 }]);
  const rows: number[][] = [];
  for await (const shard of readShards(out, 'lm')) rows.push(Array.from(shard.columns.input_ids!));
  assert.deepEqual(rows, [[1, 2, 3, 4, 5, 6, 7, 8], [9, 10, 11, 12]]);
  const path = join(out, 'manifest.json');
  const bad = JSON.parse(readFileSync(path, 'utf8'));
  bad.columns.input_ids.width = 5;
  writeFileSync(path, JSON.stringify(bad));
  await assert.rejects(async () => { for await (const _ of readShards(out)) { /* drain */ } }, /shard-00000\.safetensors: column 'input_ids' is I32 \[2, 4\], the manifest says I32 \[2, 5\]/);
  writeFileSync(path, JSON.stringify({ ...bad, version: 99 }));
  await assert.rejects(readManifest(out), /layout version 99, this build reads version 1/);
  await assert.rejects(readManifest(join(out, 'nowhere')), /manifest\.json: cannot read the shard manifest/);
  await assert.rejects(BertShardSource.open(mkdtempSync(join(tmpdir(), 'empty-'))), /cannot read the shard manifest/);
});

test('prepareLmData cuts the token stream into blocks with a separator between documents', async () => {
  const out = mkdtempSync(join(tmpdir(), 'lm-data-'));
  const text = readFileSync(CORPUS, 'utf8');
  const enc = testEncoder(text);
  const { manifest, summary } = await prepareLmData({ input: CORPUS, out, encoder: enc, blockSize: 32, examplesPerShard: 100 });
  const sep = enc.tokenToId('[SEP]')!;
  assert.equal(summary.separator, sep);
  // The stream is every document's ids then [SEP]; blocks are its consecutive slices.
  const stream: number[] = [];
  for await (const doc of (await Corpus.open(CORPUS)).documents()) stream.push(...(enc.encode(doc.join('\n')).ids as number[]), sep);
  assert.equal(summary.tokens + summary.documents, stream.length);
  assert.equal(manifest.examples, Math.floor(stream.length / 32));
  assert.equal(summary.droppedTokens, stream.length % 32);
  const got: number[] = [];
  for await (const shard of readShards(out, 'lm')) got.push(...shard.columns.input_ids!);
  assert.deepEqual(got, stream.slice(0, manifest.examples * 32));
  assert.ok(words(text).length > 0);
});

// `pretrain word2vec` and `pretrain vectors`: the output folder's files and the commands' JSON.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { readWord2Vec, readVocab } from '../../src/io/word2vec-format.js';

const cli = (args: string[]) => spawnSync(process.execPath, ['--import', 'tsx', 'src/cli/main.ts', ...args], { encoding: 'utf8' });

test('word2vec trains into --out; vectors eval/neighbors/analogy read it', () => {
  const dir = mkdtempSync(join(tmpdir(), 'w2v-cli-'));
  const lines = Array.from({ length: 300 }, (_, i) => (i % 2 ? 'The cat and the dog chase a cow' : 'Red green and blue paint a white wall'));
  writeFileSync(join(dir, 'corpus.txt'), lines.join('\n'));
  const out = join(dir, 'out');
  const r = cli(['word2vec', '--corpus', join(dir, 'corpus.txt'), '--out', out, '--model', 'skipgram', '--dim', '8', '--min-count', '1', '--epochs', '1', '--json']);
  assert.equal(r.status, 0, r.stderr);
  const summary = JSON.parse(r.stdout);
  assert.equal(summary.vocab, 13);
  return Promise.all([readWord2Vec(join(out, 'vectors.bin')), readWord2Vec(join(out, 'vectors.txt')), readVocab(join(out, 'vocab.txt'))]).then(([bin, txt, vocab]) => {
    assert.deepEqual(bin.vectors, txt.vectors);
    assert.deepEqual(vocab.words, bin.words);
    assert.equal(vocab.counts[vocab.words.indexOf('and')], 300);
    assert.equal(JSON.parse(readFileSync(join(out, 'config.json'), 'utf8')).model, 'skipgram');
    writeFileSync(join(dir, 'pairs.txt'), 'cat\tdog\t9\r\ncat\tred\t1\r\nred\tblue\t8\r\ncat\tzebra\t5');
    writeFileSync(join(dir, 'q.txt'), ': x\ncat dog red blue\ncat dog zebra blue\n');
    const e = cli(['vectors', 'eval', '--vectors', join(out, 'vectors.bin'), '--pairs', join(dir, 'pairs.txt'), '--analogies', join(dir, 'q.txt'), '--json']);
    assert.equal(e.status, 0, e.stderr);
    const j = JSON.parse(e.stdout);
    assert.equal(j.analogy_answered, 1);
    assert.equal(j.pairs['pairs.txt'].oov_percent, 25);
    const n = cli(['vectors', 'neighbors', '--vectors', join(out, 'vectors.txt'), 'cat', '--topn', '3', '--json']);
    assert.equal(JSON.parse(n.stdout).length, 3);
    const a = cli(['vectors', 'analogy', '--vectors', join(out, 'vectors.bin'), 'cat', 'dog', 'red', '--json']);
    assert.equal(JSON.parse(a.stdout).length, 1);
    const bad = cli(['vectors', 'neighbors', '--vectors', join(dir, 'pairs.txt'), 'cat']);
    assert.notEqual(bad.status, 0);
    assert.match(bad.stderr, /pairs\.txt/);
  });
});

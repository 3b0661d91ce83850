// `pretrain tokenizer train|encode` end to end: a trained tokenizer.json, a JSON summary, and JSON lines equal to
// the library's encodings.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { Tokenizer } from '../../src/text/index.js';

const run = promisify(execFile);
const ROOT = join(import.meta.dirname, '..', '..');
const CORPUS = join(ROOT, 'test', 'fixtures', 'text', 'corpus.txt');
const cli = (...args: string[]) => run(process.execPath, ['--import', 'tsx', join(ROOT, 'src', 'cli', 'main.ts'), ...args], { cwd: ROOT });

test('pretrain tokenizer train then encode --json', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'tok-cli-'));
  for (const type of ['wordpiece', 'bpe', 'word']) {
    const out = join(dir, `${type}.json`);
    const { stdout } = await cli('tokenizer', 'train', '--type', type, '--input', CORPUS, '--vocab-size', '800', '--out', out, '--json');
    const summary = JSON.parse(stdout);
    assert.equal(summary.vocabSize, 800, type);
    assert.equal(summary.lines, readFileSync(CORPUS, 'utf8').split('\n').length - 1);
    const tok = Tokenizer.fromFile(out);
    const enc = await cli('tokenizer', 'encode', '--tokenizer', out, '--input', CORPUS, '--json');
    const lines = enc.stdout.trimEnd().split('\n').map((l) => JSON.parse(l));
    const texts = readFileSync(CORPUS, 'utf8').split('\n').slice(0, -1);
    assert.equal(lines.length, texts.length);
    for (let i = 0; i < texts.length; i += 17) {
      const e = tok.encode(texts[i]!);
      assert.deepEqual(lines[i], { ids: e.ids, tokens: e.tokens, offsets: e.offsets });
    }
    assert.match(enc.stderr, /encoded \d+ lines, [\d,]+ tokens/);
  }
  await assert.rejects(cli('tokenizer', 'train', '--type', 'wordpiece', '--input', join(dir, 'missing.txt'), '--out', join(dir, 'x.json')), /missing\.txt: no such file or folder/);
  assert.match((await cli('tokenizer', 'encode', '--help')).stdout, /--tokenizer <file>/);
});

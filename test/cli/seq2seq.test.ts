// `pretrain seq2seq`: train on a tiny made-up English→German set (an encoder-decoder from scratch, GPT on
// "source [SEP] target", a BERT made here warm-starting both sides), resume, translate and evaluate to the scores
// training reported, and the errors and counts of bad input.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import * as T from '../../src/tensor/index.js';
import { BertForPreTraining, bertConfig } from '../../src/models/bert.js';
import { savePretrained } from '../../src/models/pretrained.js';
import { trainWordPiece } from '../../src/text/train.js';

const CLI = fileURLToPath(new URL('../../src/cli/main.ts', import.meta.url));
const run = (...args: string[]) => spawnSync(process.execPath, ['--import', 'tsx', CLI, ...args], { encoding: 'utf8' });
const json = (r: ReturnType<typeof run>) => JSON.parse(r.stdout.trim().split('\n').pop()!) as Record<string, unknown>;

// word for word, so a small model learns it in a few hundred steps
const LEXICON: Record<string, string> = { a: 'ein', big: 'großer', small: 'kleiner', red: 'roter', dog: 'Hund', man: 'Mann', runs: 'rennt', sits: 'sitzt', sleeps: 'schläft' };
function pairs(n: number, seed: number): [string, string][] {
  let s = seed;
  const pick = (xs: string[]) => { s = (s * 1103515245 + 12345) % 2147483648; return xs[(s >>> 16) % xs.length]!; };
  return Array.from({ length: n }, () => {
    const en = ['a', pick(['big', 'small', 'red']), pick(['dog', 'man']), pick(['runs', 'sits', 'sleeps'])];
    return [`${en.join(' ')}.`, `${en.map((w) => LEXICON[w]).join(' ')}.`] as [string, string];
  });
}

function dataset(dir: string, extra: { train?: [string, string][] } = {}): void {
  for (const [split, n, seed] of [['train', 200, 1], ['val', 12, 2]] as const) {
    const p = [...pairs(n, seed), ...(split === 'train' ? extra.train ?? [] : [])];
    writeFileSync(join(dir, `${split}.en`), p.map(([en]) => `${en}\n`).join(''));
    writeFileSync(join(dir, `${split}.de`), p.map(([, de]) => `${de}\n`).join(''));
  }
}

const SMALL = ['--layers', '1', '--dim', '32', '--heads', '2', '--ffn', '64', '--positions', '24', '--vocab-size', '60', '--batch', '16', '--lr', '3e-3',
  '--warmup', '5', '--dropout', '0', '--eval-pairs', '12', '--seed', '3'];

test('pretrain seq2seq train (encoder-decoder), resume, translate and evaluate', () => {
  const dir = mkdtempSync(join(tmpdir(), 'seq2seq-cli-'));
  try {
    dataset(dir);
    const out = join(dir, 'run');
    const first = run('seq2seq', 'train', '--data', dir, ...SMALL, '--steps', '150', '--eval-every', '150', '--out', out, '--json');
    assert.equal(first.status, 0, first.stderr);
    const resumed = run('seq2seq', 'train', '--data', dir, ...SMALL, '--steps', '300', '--eval-every', '150', '--out', out, '--resume');
    assert.equal(resumed.status, 0, resumed.stderr);
    assert.match(resumed.stderr, /resuming from step 150/);
    assert.match(resumed.stdout, /BLEU\|nrefs:1\|case:mixed\|eff:no\|tok:13a\|smooth:exp\|version:2\.6\.0 = /);
    assert.match(resumed.stdout, /chrF2\|nrefs:1\|case:mixed\|eff:yes\|nc:6\|nw:0\|space:no\|version:2\.6\.0 = /);
    assert.match(resumed.stdout, /source\s+translation\s+reference/);
    const summary = json(run('seq2seq', 'train', '--data', dir, ...SMALL, '--steps', '300', '--eval-every', '150', '--out', out, '--resume', '--json'));
    assert.ok((summary.bleu as number) > 90 && (summary.chrf as number) > 90, `learnt the lexicon: BLEU ${summary.bleu}, chrF ${summary.chrf}`);
    assert.equal(summary.decoding, 'beam 4');
    for (const f of ['config.json', 'model.safetensors', 'tokenizer.json', 'target_tokenizer.json', 'generation_config.json']) assert.ok(existsSync(join(out, 'checkpoint', f)), f);
    const config = JSON.parse(readFileSync(join(out, 'checkpoint', 'config.json'), 'utf8'));
    assert.deepEqual([config.model_type, config.decoder.is_decoder, config.decoder.add_cross_attention], ['encoder-decoder', true, true]);
    // evaluate translates the validation set as the run's final evaluation did, to the same scores
    const evaluated = json(run('seq2seq', 'evaluate', '--model', join(out, 'checkpoint'), '--source', join(dir, 'val.en'), '--references', join(dir, 'val.de'), '--json'));
    assert.equal((evaluated.bleu as { score: number }).score, summary.bleu);
    assert.equal((evaluated.chrf as { score: number }).score, summary.chrf);
    writeFileSync(join(dir, 'in.en'), 'a big dog runs.\n\na red man sleeps.\n');
    const translated = run('seq2seq', 'translate', '--model', join(out, 'checkpoint'), '--input', join(dir, 'in.en'), '--beams', '1');
    assert.equal(translated.status, 0, translated.stderr);
    assert.equal(translated.stdout, 'ein großer Hund rennt.\n\nein roter Mann schläft.\n');
    assert.match(translated.stderr, /1 empty line\(s\) left empty/);
    const help = run('seq2seq', 'translate', '--help');
    assert.match(help.stdout, /--length-penalty/);
    assert.match(help.stdout, /--block-repeat-ngram/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('pretrain seq2seq train --model gpt: GPT on "source [SEP] target" learns the lexicon', () => {
  const dir = mkdtempSync(join(tmpdir(), 'seq2seq-gpt-'));
  try {
    dataset(dir);
    const summary = json(run('seq2seq', 'train', '--data', dir, '--model', 'gpt', ...SMALL, '--layers', '2', '--positions', '32', '--steps', '300', '--eval-every', '300', '--out', join(dir, 'run'), '--json'));
    assert.ok((summary.bleu as number) > 90, `BLEU ${summary.bleu}`);
    const gen = JSON.parse(readFileSync(join(dir, 'run', 'checkpoint', 'generation_config.json'), 'utf8'));
    assert.ok(Number.isInteger(gen.sep_token_id) && gen.sep_token_id !== gen.eos_token_id);
    assert.ok(!existsSync(join(dir, 'run', 'checkpoint', 'target_tokenizer.json')), 'one vocabulary for both sides');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('warm start from a BERT made here: its tokenizer on both sides, the cross-attention initialised and said once', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'seq2seq-warm-'));
  try {
    dataset(dir);
    const texts = [...pairs(200, 1).flat()];
    const tok = await trainWordPiece(texts, { vocabSize: 80, lowercase: false });
    T.manualSeed(0);
    const bert = new BertForPreTraining(bertConfig({ vocab_size: tok.vocabSize, hidden_size: 32, num_hidden_layers: 2, num_attention_heads: 2, intermediate_size: 64, max_position_embeddings: 24 }));
    const bertDir = join(dir, 'bert');
    await savePretrained(bert, bertDir);
    tok.save(join(bertDir, 'tokenizer.json'));
    const r = run('seq2seq', 'train', '--data', dir, '--encoder', bertDir, '--decoder', bertDir, '--steps', '20', '--eval-every', '20', '--batch', '16', '--eval-pairs', '4', '--beams', '1', '--out', join(dir, 'run'));
    assert.equal(r.status, 0, r.stderr);
    const said = r.stderr.match(/its checkpoint has no cross-attention; 20 cross-attention parameters in 2 layers initialised new/g) ?? [];
    assert.equal(said.length, 1, r.stderr);
    assert.match(r.stderr, /encoder \(.*\): 7 checkpoint tensors unused \(its pretraining heads\)/);
    assert.ok(!r.stderr.includes('tokenizers trained here'), 'the BERT\'s tokenizer reads and writes');
    assert.ok(!existsSync(join(dir, 'run', 'checkpoint', 'target_tokenizer.json')), 'one tokenizer for both sides');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('bad input: mismatched line counts name both files; empty lines are skipped and counted; long sources stop or are cut and counted', () => {
  const dir = mkdtempSync(join(tmpdir(), 'seq2seq-bad-'));
  try {
    const long = `a ${Array.from({ length: 30 }, () => 'big').join(' ')} dog runs.`;
    dataset(dir, { train: [['', 'ein Hund.'], ['a dog.', '  '], [long, 'ein Hund rennt.']] });
    const train = ['seq2seq', 'train', '--data', dir, ...SMALL, '--steps', '2', '--eval-every', '2', '--beams', '1', '--samples', '0'];
    const tooLong = run(...train, '--out', join(dir, 'a'));
    assert.equal(tooLong.status, 1);
    assert.match(tooLong.stderr, new RegExp(`${join(dir, 'train.en').replace(/[.]/g, '\\.')}, line 203: the source has \\d+ tokens, more than the encoder's 24 positions; give --truncate`));
    assert.match(tooLong.stderr, /train: 2 line pair\(s\) with an empty side skipped/);
    const cut = run(...train, '--truncate', '--out', join(dir, 'b'), '--json');
    assert.equal(cut.status, 0, cut.stderr);
    assert.deepEqual([json(cut).truncated_pairs, json(cut).skipped_empty], [1, 2]);
    writeFileSync(join(dir, 'val.de'), 'ein Hund.\n');
    const mismatch = run(...train, '--out', join(dir, 'c'));
    assert.equal(mismatch.status, 1);
    assert.match(mismatch.stderr, new RegExp(`${join(dir, 'val.en').replace(/[.]/g, '\\.')} has 12 lines but ${join(dir, 'val.de').replace(/[.]/g, '\\.')} has 1`));
    const badRefs = run('seq2seq', 'evaluate', '--model', join(dir, 'b', 'checkpoint'), '--source', join(dir, 'train.en'), '--references', join(dir, 'val.de'));
    assert.equal(badRefs.status, 1);
    assert.match(badRefs.stderr, /val\.de has 1 lines but .*train\.en has 203/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

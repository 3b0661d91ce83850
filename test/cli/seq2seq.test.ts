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
    // --num-return-sequences: N lines per input line (an empty one gives N empty lines), beam search's best first
    const model = ['seq2seq', 'translate', '--model', join(out, 'checkpoint'), '--input', join(dir, 'in.en')];
    const best = run(...model, '--beams', '3').stdout.split('\n');
    const three = run(...model, '--beams', '3', '--num-return-sequences', '3');
    assert.equal(three.status, 0, three.stderr);
    const lines = three.stdout.split('\n');
    assert.equal(lines.length, 3 * 3 + 1);
    assert.deepEqual([lines[0], lines[6]], [best[0], best[2]], "each input's first line is the one-sequence translation");
    assert.deepEqual(lines.slice(3, 6), ['', '', '']);
    assert.equal(new Set(lines.slice(0, 3)).size, 3, 'three different hypotheses');
    const asJson = json(run(...model, '--beams', '3', '--num-return-sequences', '3', '--json'));
    assert.equal(asJson.num_return_sequences, 3);
    assert.deepEqual(asJson.translations, [lines.slice(0, 3), ['', '', ''], lines.slice(6, 9)]);
    const sampled = run(...model, '--sample', '--temperature', '3', '--seed', '4', '--num-return-sequences', '2');
    assert.equal(sampled.status, 0, sampled.stderr);
    assert.equal(sampled.stdout.split('\n').length, 3 * 2 + 1);
    assert.equal(run(...model, '--sample', '--temperature', '3', '--seed', '4', '--num-return-sequences', '2').stdout, sampled.stdout, 'seeded samples repeat');
    const greedyTwo = run(...model, '--beams', '1', '--num-return-sequences', '2');
    assert.equal(greedyTwo.status, 1);
    assert.match(greedyTwo.stderr, /--num-return-sequences 2 needs beam search \(--beams 2 or more\) or --sample/);
    const tooMany = run(...model, '--num-return-sequences', '5');
    assert.equal(tooMany.status, 1);
    assert.match(tooMany.stderr, /--num-return-sequences 5 is more than --beams 4/);
    const help = run('seq2seq', 'translate', '--help');
    assert.match(help.stdout, /--length-penalty/);
    assert.match(help.stdout, /--block-repeat-ngram/);
    assert.match(help.stdout, /--num-return-sequences/);
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

test('warm start from a BERT made here: its tokenizer on both sides, the cross-attention initialised and said once; a wider decoder gets enc_to_dec_proj', async () => {
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
    // the BERT (32 wide) as the encoder of a scratch decoder 48 wide: enc_to_dec_proj between them, said once
    const wider = run('seq2seq', 'train', '--data', dir, '--encoder', bertDir, '--layers', '1', '--dim', '48', '--heads', '2', '--ffn', '64', '--positions', '24', '--vocab-size', '60',
      '--steps', '2', '--eval-every', '2', '--batch', '16', '--eval-pairs', '4', '--beams', '1', '--samples', '0', '--out', join(dir, 'wider'));
    assert.equal(wider.status, 0, wider.stderr);
    assert.equal((wider.stderr.match(/enc_to_dec_proj \(the encoder's 32-wide states to the decoder's width, 48\): initialised new \(train it\)/g) ?? []).length, 1, wider.stderr);
    const config = JSON.parse(readFileSync(join(dir, 'wider', 'checkpoint', 'config.json'), 'utf8'));
    assert.deepEqual([config.encoder.hidden_size, config.decoder.hidden_size], [32, 48]);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('pretrain seq2seq evaluate --hypotheses: ROUGE-1, ROUGE-2 and ROUGE-L beside BLEU and chrF, with and without the stemmer', () => {
  const dir = mkdtempSync(join(tmpdir(), 'seq2seq-rouge-'));
  try {
    writeFileSync(join(dir, 'src.txt'), 'one\n\ntwo\nthree\n');
    writeFileSync(join(dir, 'ref.txt'), 'the cat sat on the mat\n\na dog barked\nthe dogs were running\n');
    writeFileSync(join(dir, 'hyp.txt'), 'the cat sat on a mat\n\na dog\nthe dog was running\n');
    const args = ['seq2seq', 'evaluate', '--model', join(dir, 'unused'), '--source', join(dir, 'src.txt'), '--references', join(dir, 'ref.txt'), '--hypotheses', join(dir, 'hyp.txt')];
    type Rouge = { mean: Record<string, { precision: number; recall: number; fmeasure: number }>; bootstrap: Record<string, { low: { fmeasure: number }; mid: { fmeasure: number }; high: { fmeasure: number } }>; pairs: number; useStemmer: boolean };
    const close = (a: number, b: number, what: string) => assert.ok(Math.abs(a - b) < 1e-12, `${what}: ${a} vs ${b}`);
    // per pair (the empty line left out): rouge1 F 5/6, 4/5, 1/2; rouge2 3/5, 2/3, 0; rougeL as rouge1
    const plain = json(run(...args, '--json')) as { sentences: number; rouge: Rouge };
    assert.equal(plain.sentences, 3);
    assert.deepEqual([plain.rouge.pairs, plain.rouge.useStemmer, Object.keys(plain.rouge.mean)], [3, false, ['rouge1', 'rouge2', 'rougeL']]);
    close(plain.rouge.mean.rouge1!.fmeasure, (5 / 6 + 4 / 5 + 1 / 2) / 3, 'rouge1');
    close(plain.rouge.mean.rouge2!.fmeasure, (3 / 5 + 2 / 3 + 0) / 3, 'rouge2');
    close(plain.rouge.mean.rougeL!.fmeasure, (5 / 6 + 4 / 5 + 1 / 2) / 3, 'rougeL');
    const b = plain.rouge.bootstrap.rougeL!;
    assert.ok(b.low.fmeasure <= b.mid.fmeasure && b.mid.fmeasure <= b.high.fmeasure, 'bootstrap interval');
    // stemmed, 'dogs' meets 'dog' ('were' stays, 'was' is too short to stem): the third pair's F 3/4, 1/3, 3/4
    const stemmed = json(run(...args, '--rouge-stemmer', '--json')) as { rouge: Rouge };
    assert.equal(stemmed.rouge.useStemmer, true);
    close(stemmed.rouge.mean.rouge1!.fmeasure, (5 / 6 + 4 / 5 + 3 / 4) / 3, 'stemmed rouge1');
    close(stemmed.rouge.mean.rouge2!.fmeasure, (3 / 5 + 2 / 3 + 1 / 3) / 3, 'stemmed rouge2');
    const table = run(...args);
    assert.equal(table.status, 0, table.stderr);
    assert.match(table.stdout, /BLEU\|nrefs:1\|case:mixed\|eff:no\|tok:13a\|smooth:exp\|version:2\.6\.0 = /);
    assert.match(table.stdout, /ROUGE-1\s+71\.11/);
    assert.match(table.stdout, /ROUGE-2\s+42\.22/);
    assert.match(table.stdout, /ROUGE-L\s+71\.11/);
    assert.match(table.stdout, /^ROUGE \(rouge-score, no stemmer, mean F of 3 pairs x 100\): rouge1 71\.11 rouge2 42\.22 rougeL 71\.11$/m);
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

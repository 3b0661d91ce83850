// `pretrain cove`: train on a tiny made-up English→German set (GloVe trained first on its English side), resume the
// run, translate the validation set to the BLEU the training reported, embed sentences as safetensors, and the
// errors of bad input.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { readSafetensors } from '../../src/io/safetensors.js';

const CLI = fileURLToPath(new URL('../../src/cli/main.ts', import.meta.url));
const run = (...args: string[]) => spawnSync(process.execPath, ['--import', 'tsx', CLI, ...args], { encoding: 'utf8' });
const json = (r: ReturnType<typeof run>) => JSON.parse(r.stdout.trim().split('\n').pop()!) as Record<string, unknown>;

// word for word, so a small model learns it in a few dozen steps
const LEXICON: Record<string, string> = { a: 'ein', big: 'großer', small: 'kleiner', red: 'roter', dog: 'Hund', man: 'Mann', runs: 'rennt', sits: 'sitzt', sleeps: 'schläft' };
function pairs(n: number, seed: number): [string, string][] {
  let s = seed;
  const pick = (xs: string[]) => { s = (s * 1103515245 + 12345) % 2147483648; return xs[(s >>> 16) % xs.length]!; };
  return Array.from({ length: n }, () => {
    const en = ['a', pick(['big', 'small', 'red']), pick(['dog', 'man']), pick(['runs', 'sits', 'sleeps'])];
    return [`${en.join(' ')}.`, `${en.map((w) => LEXICON[w]).join(' ')}.`] as [string, string];
  });
}

/**
 * The split files, and vectors of our own: GloVe trained on this text cannot tell big, small and red apart (they
 * share every context), so the learning check reads random vectors of distinct words instead.
 */
function dataset(dir: string): void {
  for (const [split, n, seed] of [['train', 160, 1], ['val', 12, 2]] as const) {
    const p = pairs(n, seed);
    writeFileSync(join(dir, `${split}.en`), p.map(([en]) => `${en}\n`).join(''));
    writeFileSync(join(dir, `${split}.de`), p.map(([, de]) => `${de}\n`).join(''));
  }
  let s = 7;
  const r = () => { s = (s * 1103515245 + 12345) % 2147483648; return (2 * ((s >>> 8) / 8388608 - 0.5)).toFixed(4); };
  const words = [...Object.keys(LEXICON), '.'];
  writeFileSync(join(dir, 'vectors.vec'), `${words.length} 8\n${words.map((w) => `${w} ${Array.from({ length: 8 }, r).join(' ')}\n`).join('')}`);
}

const TRAIN = ['--glove-dim', '8', '--glove-epochs', '5', '--glove-min-count', '1', '--hidden-size', '16', '--target-embedding-size', '12', '--min-count', '1',
  '--batch', '16', '--lr', '0.01', '--warmup', '5', '--eval-every', '25', '--dropout', '0', '--seed', '2'];

test('pretrain cove train, resume, translate --bleu and embed', () => {
  const dir = mkdtempSync(join(tmpdir(), 'cove-cli-'));
  try {
    dataset(dir);
    const out = join(dir, 'run');
    // GloVe trained first on the English side; the resumed run takes the vocabularies and GloVe from the checkpoint
    const first = run('cove', 'train', '--data', dir, ...TRAIN, '--steps', '25', '--out', out, '--json');
    assert.equal(first.status, 0, first.stderr);
    const resumed = run('cove', 'train', '--data', dir, ...TRAIN, '--steps', '50', '--out', out, '--resume');
    assert.equal(resumed.status, 0, resumed.stderr);
    assert.match(resumed.stderr, /resuming from step 25/);
    assert.match(resumed.stdout, /BLEU\|nrefs:1\|case:mixed\|eff:no\|tok:13a\|smooth:exp\|version:2\.6\.0 = /);
    const again = run('cove', 'train', '--data', dir, ...TRAIN, '--steps', '50', '--out', out);
    assert.equal(again.status, 1);
    assert.match(again.stderr, /already holds a run \(checkpoint at step 50\); continue it with --resume/);
    const trained = run('cove', 'train', '--data', dir, ...TRAIN, '--vectors', join(dir, 'vectors.vec'), '--steps', '150', '--out', out, '--overwrite', '--json');
    assert.equal(trained.status, 0, trained.stderr);
    const summary = json(trained);
    assert.equal(summary.steps, 150);
    assert.ok((summary.best_bleu as number) > 50, `best BLEU ${summary.best_bleu}`);
    for (const f of ['config.json', 'model.safetensors', 'source_vocab.txt', 'target_vocab.txt']) assert.ok(existsSync(join(out, 'best', f)), f);

    // translating the validation set with the best model gives the BLEU training recorded for it
    const translated = run('cove', 'translate', '--model', join(out, 'best'), '--input', join(dir, 'val.en'), '--bleu', join(dir, 'val.de'), '--json');
    assert.equal(translated.status, 0, translated.stderr);
    const t = json(translated) as { sentences: number; translations: string[]; bleu: { score: number; signature: string }; rouge: { mean: Record<string, { fmeasure: number }>; pairs: number } };
    assert.equal(t.sentences, 12);
    assert.equal(t.bleu.score, summary.best_bleu);
    assert.deepEqual(Object.keys(t.rouge.mean), ['rouge1', 'rouge2', 'rougeL']);
    assert.equal(t.rouge.pairs, 12);
    assert.ok(t.rouge.mean.rougeL!.fmeasure > 0.5 && t.rouge.mean.rougeL!.fmeasure <= 1, `ROUGE-L ${t.rouge.mean.rougeL!.fmeasure}`);
    assert.ok(t.translations.some((s) => /^ein (großer|kleiner|roter) (Hund|Mann) (rennt|sitzt|schläft)\.$/.test(s)), t.translations.join(' | '));
    const plain = run('cove', 'translate', '--model', join(out, 'best'), '--input', join(dir, 'val.en'), '--bleu', join(dir, 'val.de'), join(dir, 'val.de'));
    assert.equal(plain.status, 0, plain.stderr);
    assert.equal(plain.stdout.trim().split('\n').length, 12);
    assert.match(plain.stderr, /BLEU\|nrefs:2\|/);
    assert.match(plain.stderr, /ROUGE \(rouge-score, no stemmer, mean F of 12 pairs x 100\): rouge1 \d+\.\d\d rouge2 \d+\.\d\d rougeL \d+\.\d\d/);

    // embed: three states of GloVe (8) + 2 x 16 per token; the empty line is skipped and counted
    writeFileSync(join(dir, 'embed.txt'), 'a big dog runs.\n\na man sleeps\n');
    const embedded = run('cove', 'embed', '--model', join(out, 'best'), '--input', join(dir, 'embed.txt'), '--out', join(dir, 'x.safetensors'), '--json');
    assert.equal(embedded.status, 0, embedded.stderr);
    assert.deepEqual(json(embedded), { sentences: 2, empty_lines: 1, tokens: 8, layers: 'all', out: join(dir, 'x.safetensors') });
    const st = readSafetensors(join(dir, 'x.safetensors'));
    return st.then(({ tensors, metadata }) => {
      assert.deepEqual(tensors.get('0')!.shape, [3, 5, 40]);
      assert.deepEqual(tensors.get('1')!.shape, [3, 3, 40]);
      assert.deepEqual(JSON.parse(metadata.sentence_to_index!), { 'a big dog runs .': 0, 'a man sleeps': 1 });
    });
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('pretrain cove: --help everywhere; a missing data folder, mismatched line counts and references are errors naming the files', () => {
  for (const sub of ['train', 'translate', 'embed']) {
    const help = run('cove', sub, '--help');
    assert.equal(help.status, 0);
    assert.match(help.stdout, /--json/);
  }
  const dir = mkdtempSync(join(tmpdir(), 'cove-bad-'));
  try {
    const missing = run('cove', 'train', '--data', join(dir, 'nothing'));
    assert.equal(missing.status, 1);
    assert.match(missing.stderr, /nothing: no train\.en or train\.en\.gz/);
    writeFileSync(join(dir, 'train.en'), 'one\ntwo\n');
    writeFileSync(join(dir, 'train.de'), 'eins\n');
    const mismatched = run('cove', 'train', '--data', dir);
    assert.equal(mismatched.status, 1);
    assert.match(mismatched.stderr, /train\.en has 2 lines but .*train\.de has 1/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

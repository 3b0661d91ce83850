// `npm run bench -- finetune`: transfer, measured. Two parts, both written to bench/results/finetune.json.
//
// Speed (--part speed): BERT-mini fine-tuning steps (bench/finetune-speed.ts, each workload in its own child process
// so its peak RSS is its own) next to the PyTorch CPU peer with the same architecture, head, batches and AdamW
// (bench/peers/torch_finetune.py): SST-2-shaped classification (seq 64) and CoNLL-shaped tagging (seq 48), batch 32;
// and the frozen path's examples/s (first epoch: the encoder runs once per example; later epochs: only the top).
//
// Quality (--part quality): dev scores of task models built by `pretrain finetune` from
//   scratch        the BERT architecture with random weights (fine-tuned);
//   w2v-frozen     skip-gram vectors (English) under a BiLSTM top, vectors fixed; w2v-finetune, vectors trained too;
//   bert-frozen    BERT pretrained here, frozen, a scalar mix of its layers under a linear top; bert-finetune;
//   gpt-frozen     GPT pretrained here, the same; gpt-finetune;
// at --sizes training labels (a nested, seeded sample; 'all' is the whole training set), over --seeds. The
// pretrained models are made here, English on ../shared/data/gutenberg and Chinese on chinese-classics, at the
// budgets of the flags below, and cached in bench/cache/finetune (PRETRAIN_BENCH_CACHE) under a key of their
// settings, so a rerun pretrains only what changed. Each run trains max(3 epochs, --min-steps) steps, at most
// --max-steps, evaluates 8 times and reports its best dev score (model selection on dev, as GLUE dev figures are).
// Transformer fine-tuning runs at --ft-lr 3e-4 (Turc et al. 2019 searched 1e-4 to 5e-4 for the small BERTs); frozen
// tops and word vectors (fine-tuned or not, under a new BiLSTM) at the CLI's 1e-3.
// For the convergence claim, each pretrained run also reports the steps it took to reach the best dev score of the
// scratch run at the same size (null if it never did). Tasks without a dev split (MRPC, MSRA, ChnSentiCorp) hold
// out a seeded, stratified 10% of their training file, and the rows say so.
//
//   npm run bench -- finetune [--part speed|quality|all] [--tasks sst2,conll2003,...] [--configs scratch,bert-finetune,...]
//                             [--sizes 100,1000,all] [--seeds 1] [--bert-steps 2000] [--gpt-steps 2000]
//                             [--w2v-epochs 5] [--dupe-factor 2] [--min-steps 150] [--max-steps 1500] [--ft-lr 3e-4]
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { readTask } from '../src/data/tasks/read.js';
import { sampleIndices } from '../src/data/tasks/sample.js';
import { FINETUNE_SHAPES } from './finetune-speed.js';
import { cachedDir, pretrain } from './cli-runs.js';
import { SHARED_DATA, runPython } from './peer.js';
import { figure, throughput, writeResults, type BenchRow } from './results.js';

const HERE = fileURLToPath(new URL('.', import.meta.url));
const CACHE = process.env.PRETRAIN_BENCH_CACHE ?? join(HERE, 'cache', 'finetune');

function flag(args: string[], name: string, fallback: string): string {
  const i = args.indexOf(`--${name}`);
  return i >= 0 && args[i + 1] !== undefined ? args[i + 1]! : fallback;
}

// ---- speed ----

function oursSpeed(what: 'classification' | 'tokens' | 'frozen', steps: number): Record<string, number> | null {
  const script = fileURLToPath(new URL('./finetune-speed.ts', import.meta.url));
  const res = spawnSync(process.execPath, ['--import', 'tsx', script, what, String(steps), '2'], { encoding: 'utf8', env: { ...process.env, PRETRAIN_THREADS: '2' } });
  if (res.status !== 0) { console.error(`ours ${what} failed:\n${res.stderr}`); return null; }
  return JSON.parse(res.stdout.trim().split('\n').pop()!) as Record<string, number>;
}

async function speed(args: string[]): Promise<BenchRow[]> {
  const steps = Number(flag(args, 'steps', '8'));
  const rows: BenchRow[] = [];
  const m = FINETUNE_SHAPES.model;
  for (const kind of ['classification', 'tokens'] as const) {
    const s = FINETUNE_SHAPES[kind];
    const ours = oursSpeed(kind, steps);
    const peer = runPython(join(HERE, 'peers', 'torch_finetune.py'), ['--task', kind, '--seq', String(s.seq), '--batch', String(s.batch), '--labels', String(s.labels),
      '--layers', String(m.layers), '--dim', String(m.dim), '--heads', String(m.heads), '--ffn', String(m.ffn), '--vocab', String(m.vocab), '--steps', String(Math.max(steps, 5))])?.[0];
    const name = peer ? `torch-cpu ${String(peer['torch'])} (2 threads)` : null;
    if (!ours) continue;
    rows.push(throughput(`bert-mini-finetune-${kind}`, ours['tokensPerSec']!, 'tokens/s', name, (peer?.['tokens_per_s'] as number | undefined) ?? null));
    rows.push(figure(`bert-mini-finetune-${kind}-peak-rss`, ours['maxRssMb']!, 'MB', name, (peer?.['max_rss_mb'] as number | undefined) ?? null));
  }
  const frozen = oursSpeed('frozen', steps);
  const finetuneExamples = rows.find((r) => r.name === 'bert-mini-finetune-classification');
  if (frozen && finetuneExamples) {
    // the frozen path against fine-tuning the same encoder on the same batches (examples/s)
    const ftPerSec = finetuneExamples.value / FINETUNE_SHAPES.classification.seq;
    rows.push(throughput('bert-mini-frozen-first-epoch', frozen['firstEpochExamplesPerSec']!, 'examples/s', 'bert-mini fine-tuning (ours)', ftPerSec));
    rows.push(throughput('bert-mini-frozen-later-epochs', frozen['laterEpochExamplesPerSec']!, 'examples/s', 'bert-mini fine-tuning (ours)', ftPerSec));
    rows.push(figure('bert-mini-frozen-peak-rss', frozen['maxRssMb']!, 'MB'));
  }
  return rows;
}

// ---- quality ----

type Lang = 'en' | 'zh';

/** A directory of the cache made once by `build` (see cli-runs.ts). */
const cached = (name: string, key: unknown, build: (dir: string) => void | Promise<void>) => cachedDir(CACHE, name, key, build);

/** The pretraining corpora: every file of a folder (gzipped text). */
const CORPUS: Record<Lang, string> = { en: join(SHARED_DATA, 'gutenberg', 'books'), zh: join(SHARED_DATA, 'chinese-classics') };

interface Budgets { bertSteps: number; gptSteps: number; w2vEpochs: number; dupeFactor: number }

/** The BERT-mini shape of both pretrained models (and of scratch). */
const MINI = { layers: 4, hidden: 256, heads: 4, intermediate: 1024 };

function corpusFiles(lang: Lang): string[] {
  const dir = CORPUS[lang];
  if (!existsSync(dir)) throw new Error(`bench finetune needs ${dir} to pretrain the ${lang} models; it is missing`);
  return readdirSync(dir).filter((f) => f.endsWith('.txt.gz')).map((f) => join(dir, f));
}

/** BERT pretrained on a language's corpus; the checkpoint directory (tokenizer.json inside). */
async function bertModel(lang: Lang, b: Budgets): Promise<string> {
  const files = corpusFiles(lang);
  const key = { lang, files: files.length, ...MINI, steps: b.bertSteps, dupe: b.dupeFactor, vocab: 8000, seq: 128 };
  return join(await cached(`bert-${lang}`, key, (dir) => {
    pretrain(['tokenizer', 'train', '--type', 'wordpiece', '--input', ...files, '--vocab-size', '8000', '--out', join(dir, 'tokenizer.json')]);
    pretrain(['data', 'bert', '--tokenizer', join(dir, 'tokenizer.json'), '--input', ...files, '--layout', 'prose', '--dupe-factor', String(b.dupeFactor), '--out', join(dir, 'shards')]);
    pretrain(['bert', 'train', '--data', join(dir, 'shards'), '--tokenizer', join(dir, 'tokenizer.json'), '--steps', String(b.bertSteps), '--layers', String(MINI.layers),
      '--hidden', String(MINI.hidden), '--heads', String(MINI.heads), '--intermediate', String(MINI.intermediate), '--eval-every', '0', '--out', join(dir, 'run')]);
    rmSync(join(dir, 'shards'), { recursive: true });
  }), 'run', 'checkpoint');
}

/** GPT (the same shape, context 128) pretrained on a language's corpus with a byte-level BPE tokenizer. */
async function gptModel(lang: Lang, b: Budgets): Promise<string> {
  const files = corpusFiles(lang);
  const key = { lang, files: files.length, ...MINI, steps: b.gptSteps, vocab: 8000, block: 128, batch: 32 };
  return join(await cached(`gpt-${lang}`, key, (dir) => {
    pretrain(['tokenizer', 'train', '--type', 'bpe', '--input', ...files, '--vocab-size', '8000', '--out', join(dir, 'tokenizer.json')]);
    pretrain(['data', 'lm', '--tokenizer', join(dir, 'tokenizer.json'), '--input', ...files, '--block-size', '128', '--out', join(dir, 'shards')]);
    pretrain(['gpt', 'train', '--data', join(dir, 'shards'), '--tokenizer', join(dir, 'tokenizer.json'), '--steps', String(b.gptSteps), '--layers', String(MINI.layers),
      '--dim', String(MINI.hidden), '--heads', String(MINI.heads), '--block', '128', '--batch', '32', '--dropout', '0.1', '--out', join(dir, 'run')]);
    rmSync(join(dir, 'shards'), { recursive: true });
  }), 'run', 'checkpoint');
}

/** Skip-gram vectors (English), as bench/word2vec.ts trains them. */
async function w2vVectors(b: Budgets): Promise<string> {
  const files = corpusFiles('en');
  const key = { files: files.length, model: 'skipgram', dim: 100, epochs: b.w2vEpochs };
  return join(await cached('w2v-en', key, (dir) => {
    pretrain(['word2vec', '--corpus', CORPUS.en, '--model', 'skipgram', '--dim', '100', '--epochs', String(b.w2vEpochs), '--threads', '2', '--out', dir]);
  }), 'vectors.bin');
}

interface TaskSpec {
  lang: Lang;
  /** Training and dev files, or one training file of which a seeded 10% is held out. */
  train: string;
  dev?: string;
  args: string[];
  metric: string;
  /** Other metrics worth a row (MRPC: accuracy beside F1). */
  also?: string[];
}

const D = (...p: string[]) => join(SHARED_DATA, ...p);
const TASKS: Record<string, TaskSpec> = {
  sst2: { lang: 'en', train: D('sst-2', 'train.tsv.gz'), dev: D('sst-2', 'dev.tsv'), args: [], metric: 'accuracy' },
  conll2003: { lang: 'en', train: D('conll2003-ner', 'train.txt.gz'), dev: D('conll2003-ner', 'valid.txt'), args: [], metric: 'f1' },
  mrpc: { lang: 'en', train: D('mrpc', 'msr_paraphrase_train.txt'), args: [], metric: 'f1', also: ['accuracy'] },
  sick: { lang: 'en', train: D('sick2014', 'SICK_train.txt'), dev: D('sick2014', 'SICK_trial.txt'), args: ['--label-column', 'relatedness', '--task', 'regression'], metric: 'pearson', also: ['spearman'] },
  msra: { lang: 'zh', train: D('chinese-ner-msra', 'train.txt.gz'), args: [], metric: 'f1' },
  chnsenticorp: { lang: 'zh', train: D('chnsenticorp-htl', 'ChnSentiCorp_htl_all.csv.gz'), args: ['--text-columns', 'review', '--label-column', 'label'], metric: 'accuracy' },
  afqmc: { lang: 'zh', train: D('afqmc', 'train.csv.gz'), dev: D('afqmc', 'dev.csv'), args: [], metric: 'accuracy' },
};

/** The published anchors (pretrained on 3.3B words) quoted beside our rows. */
const ANCHORS: Record<string, string> = {
  sst2: "Google's BERT-Mini 85.9, BERT-base 93.5 (accuracy, all labels)",
  mrpc: "Google's BERT-Mini F1 81.1",
  conll2003: 'BERT-base F1 92.4',
};

/** A task's train and dev files: as given, or a held-out 10% of the training file written as JSON lines. */
async function taskFiles(name: string, t: TaskSpec): Promise<{ train: string; dev: string; args: string[]; heldOut: boolean }> {
  if (!existsSync(t.train)) throw new Error(`bench finetune: ${t.train} is missing`);
  if (t.dev) return { train: t.train, dev: t.dev, args: t.args, heldOut: false };
  const dir = await cached(`split-${name}`, { file: t.train, dev: 0.1, seed: 0 }, async (out) => {
    const columns = t.args.includes('--text-columns') ? [t.args[t.args.indexOf('--text-columns') + 1]!] : undefined;
    const label = t.args.includes('--label-column') ? t.args[t.args.indexOf('--label-column') + 1] : undefined;
    const data = await readTask(t.train, { textColumns: columns, labelColumn: label });
    const examples = data.examples as unknown as Record<string, unknown>[];
    const strata = 'words' in examples[0]! ? undefined : examples.map((e) => String(e['label']));
    const held = new Set(sampleIndices(examples.length, Math.round(examples.length / 10), 0, strata));
    const line = (e: Record<string, unknown>) => JSON.stringify('words' in e ? { words: e['words'], tags: e['labels'] } : 'a' in e ? { sentence1: e['a'], sentence2: e['b'], label: e['label'] } : { text: e['text'], label: e['label'] });
    writeFileSync(join(out, 'train.jsonl'), examples.filter((_, i) => !held.has(i)).map(line).join('\n') + '\n');
    writeFileSync(join(out, 'dev.jsonl'), examples.filter((_, i) => held.has(i)).map(line).join('\n') + '\n');
  });
  const train = join(dir, 'train.jsonl'), dev = join(dir, 'dev.jsonl');
  return { train, dev, args: [], heldOut: true };
}

/** The configurations: the model source and the finetune flags. */
async function configArgs(config: string, lang: Lang, b: Budgets, tagging: boolean): Promise<string[] | null> {
  switch (config) {
    case 'scratch': return ['--model', `scratch:${await bertModel(lang, b)}`];
    case 'bert-frozen': return ['--model', await bertModel(lang, b), '--mode', 'frozen'];
    case 'bert-finetune': return ['--model', await bertModel(lang, b)];
    case 'gpt-frozen': return ['--model', await gptModel(lang, b), '--mode', 'frozen'];
    case 'gpt-finetune': return ['--model', await gptModel(lang, b)];
    // static vectors need words: English only (the Chinese tasks' texts are unsegmented)
    case 'w2v-frozen': return lang === 'en' ? ['--model', await w2vVectors(b), '--mode', 'frozen', '--head', tagging ? 'bilstm-crf' : 'bilstm'] : null;
    case 'w2v-finetune': return lang === 'en' ? ['--model', await w2vVectors(b), '--mode', 'finetune', '--head', tagging ? 'bilstm-crf' : 'bilstm'] : null;
    default: throw new Error(`bench finetune: unknown config ${config}`);
  }
}

/** The dev evaluations of a run's log (the records that carry the task's metric). */
function evaluations(out: string, metric: string): Record<string, number>[] {
  const path = join(out, 'log.jsonl');
  if (!existsSync(path)) return [];
  return readFileSync(path, 'utf8').split('\n').filter(Boolean).map((l) => JSON.parse(l) as Record<string, number>).filter((r) => typeof r[metric] === 'number');
}

const mean = (xs: number[]) => xs.reduce((a, x) => a + x, 0) / xs.length;

async function quality(args: string[], save: (rows: BenchRow[]) => void): Promise<BenchRow[]> {
  const budgets: Budgets = {
    bertSteps: Number(flag(args, 'bert-steps', '2000')), gptSteps: Number(flag(args, 'gpt-steps', '2000')),
    w2vEpochs: Number(flag(args, 'w2v-epochs', '5')), dupeFactor: Number(flag(args, 'dupe-factor', '2')),
  };
  const tasks = flag(args, 'tasks', Object.keys(TASKS).join(',')).split(',');
  // scratch first: the pretrained runs are timed against its best dev score
  const configs = flag(args, 'configs', 'scratch,w2v-frozen,w2v-finetune,bert-frozen,bert-finetune,gpt-frozen,gpt-finetune').split(',')
    .sort((a, b) => Number(b === 'scratch') - Number(a === 'scratch'));
  const sizes = flag(args, 'sizes', '100,1000,all').split(',');
  const seeds = Number(flag(args, 'seeds', '1'));
  const minSteps = Number(flag(args, 'min-steps', '150')), maxSteps = Number(flag(args, 'max-steps', '1500'));
  // fine-tuning's rate: transformers' 5e-5 leaves models this small at the majority class; frozen tops keep 1e-3
  const ftLr = flag(args, 'ft-lr', '3e-4');
  const batch = 32;
  const rows: BenchRow[] = [];
  const runs = join(CACHE, 'runs');
  for (const name of tasks) {
    const t = TASKS[name];
    if (!t) throw new Error(`bench finetune: unknown task ${name} (${Object.keys(TASKS).join(', ')})`);
    const files = await taskFiles(name, t);
    const trainCount = (await readTask(files.train, {})).examples.length;
    const tagging = name === 'conll2003' || name === 'msra';
    for (const size of sizes) {
      const n = size === 'all' ? trainCount : Math.min(Number(size), trainCount);
      const steps = Math.min(maxSteps, Math.max(minSteps, 3 * Math.ceil(n / batch)));
      let scratchBest: number | undefined;
      for (const config of configs) {
        const model = await configArgs(config, t.lang, budgets, tagging);
        if (!model) continue;
        const best: Record<string, number[]> = {};
        const reach: (number | null)[] = [];
        for (let seed = 1; seed <= seeds; seed++) {
          const out = join(runs, `${name}-${config}-${size}-${seed}`);
          // word vectors take the CLI's rate for a new top (1e-3), fine-tuned or not
          const lr = config === 'scratch' || (config.endsWith('-finetune') && !config.startsWith('w2v')) ? ['--lr', ftLr] : [];
          const summary = pretrain(['finetune', ...model, ...lr, '--train', files.train, '--dev', files.dev, ...files.args, ...(size === 'all' ? [] : ['--train-size', String(n)]),
            '--steps', String(steps), '--eval-every', String(Math.max(1, Math.round(steps / 8))), '--batch', String(batch), '--seed', String(seed), '--out', out, '--overwrite']);
          const evals = evaluations(out, t.metric);
          // the dev scores of the best checkpoint (by the task's metric), from its evaluation in the log
          const atBest = evals.find((r) => r['step'] === Number(summary['best_step']));
          for (const m of [t.metric, ...(t.also ?? [])]) (best[m] ??= []).push(atBest?.[m] ?? Number(summary[m]));
          if (config === 'scratch') scratchBest = Math.max(scratchBest ?? -Infinity, ...evals.map((r) => r[t.metric]!));
          else if (scratchBest !== undefined) reach.push(evals.find((r) => r[t.metric]! >= scratchBest!)?.step ?? null);
          rmSync(join(out, 'checkpoint'), { recursive: true, force: true });
          rmSync(join(out, 'best'), { recursive: true, force: true });
        }
        const note = `${t.lang === 'en' ? 'English' : 'Chinese'}, ${n} labels, ${steps} steps, ${seeds} seed(s)${files.heldOut ? ', dev = a held-out 10% of train' : ''}`;
        for (const [m, values] of Object.entries(best)) {
          rows.push(figure(`${name}-${config}-${size}-${m}`, mean(values), m, ANCHORS[name] && m === t.metric ? `anchor: ${ANCHORS[name]}; ${note}` : note, null));
        }
        if (config !== 'scratch' && scratchBest !== undefined) {
          const reached = reach.filter((r): r is number => r !== null);
          rows.push(figure(`${name}-${config}-${size}-steps-to-scratch-best`, reached.length === reach.length ? mean(reached) : NaN, 'steps',
            `scratch's best dev ${t.metric} ${scratchBest.toFixed(4)}; reached in ${reached.length} of ${reach.length} seeds`, null));
        }
        console.error(rows.slice(-3).map((r) => `${r.name}: ${r.value}`).join('\n'));
        // written after every configuration, so that a long grid stopped part-way keeps the rows it finished
        save(rows);
      }
    }
  }
  return rows;
}

export default async function finetune(args: string[]): Promise<void> {
  const part = flag(args, 'part', 'all');
  if (!['speed', 'quality', 'all'].includes(part)) throw new Error(`--part must be speed, quality or all, got ${part}`);
  const path = fileURLToPath(new URL('./results/finetune.json', import.meta.url));
  // a part run alone keeps the other part's rows from the last run
  const previous = existsSync(path) ? (JSON.parse(readFileSync(path, 'utf8')) as { results: BenchRow[] }).results : [];
  const isSpeed = (r: BenchRow) => r.name.startsWith('bert-mini-');
  const speedRows = part === 'quality' ? previous.filter(isSpeed) : await speed(args);
  // quality rows of tasks, sizes or configs not rerun stay from the last run; a rerun row replaces its namesake
  const merged = (qualityRows: BenchRow[]) => {
    const rerun = new Set(qualityRows.map((r) => r.name));
    return [...speedRows, ...previous.filter((r) => !isSpeed(r) && !rerun.has(r.name)), ...qualityRows];
  };
  const qualityRows = part === 'speed' ? [] : await quality(args, (so) => writeResults('finetune', merged(so)));
  const rows = merged(qualityRows);
  console.table(rows.map(({ name, value, unit, peer_value, ratio }) => ({ name, value, unit, peer_value, ratio })));
  console.log(`wrote ${writeResults('finetune', rows)}`);
}

// `npm run bench -- probes`: the essay's claims about what each model's layers hold, measured with `pretrain probe`
// and written to bench/results/probes.json.
//
// Every model is pretrained here on the same text: the Gutenberg books of ../shared/data/gutenberg in name order,
// the first ones up to --mb megabytes (uncompressed), at the small budgets of the flags below (from an empty cache
// the suite took 55 minutes on 2 shared cores, CoVe's translation training 23 of them), and cached in bench/cache/probes (PRETRAIN_BENCH_CACHE) under a key of their
// settings, so a rerun trains only what changed. Then, for each model and each of its layers (0: the embeddings):
//   polysemy      nearest-neighbour sense accuracy on ../shared/data/polysemy-wordnet/dev.json.gz, beside chance;
//   pos-ud        a linear POS probe on UD-EWT's UPOS (en_ewt-ud-dev.conllu, a seeded fifth held out);
//   pos-conll     a linear POS probe on CoNLL-2003's POS column (valid.txt, a seeded fifth held out);
//   sense         a linear sense probe on the polysemy data (one sentence of each sense held out), beside chance;
// the POS probes on a seeded sample of --pos-sentences sentences, beside the majority tag. Each contextual model is
// probed again with random weights (`scratch:`, rows named <model>-scratch-…): a random encoder already finds
// sentences that share words or positions, so a layer's gain is read against that floor, not against chance alone.
//
// CoVe is the one model not trained on the books alone: its MT-LSTM learns by translating Multi30k's English into
// German (../shared/data/multi30k-en-de), reading the GloVe vectors trained here on the books, as the paper's read
// GloVe; its validation BLEU is a row too.
//
// A run with --models rewrites those models' rows and keeps the others'. The models are data (MODELS): one entry
// each, with the model_type whose transfer encoder the probes read. An entry whose model type has no encoder loader
// yet is skipped with a note, so a new recurrent model is one entry here.
//
//   npm run bench -- probes [--models word2vec,glove,nnlm,elmo,cove,gpt,bert] [--mb 4] [--w2v-epochs 5] [--glove-epochs 15]
//                           [--nnlm-steps 1500] [--elmo-steps 300] [--cove-steps 3000] [--gpt-steps 600] [--bert-steps 600]
//                           [--pos-sentences 1000]
import { copyFileSync, existsSync, mkdirSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { gunzipSync } from 'node:zlib';
import { encoderLoader } from '../src/tasks/transfer/encoder-loaders.js';
import { cachedDir, pretrain } from './cli-runs.js';
import { SHARED_DATA } from './peer.js';
import { figure, writeResults, type BenchRow } from './results.js';

const HERE = fileURLToPath(new URL('.', import.meta.url));
const CACHE = process.env.PRETRAIN_BENCH_CACHE ?? join(HERE, 'cache', 'probes');
const cached = (name: string, key: unknown, build: (dir: string) => void | Promise<void>) => cachedDir(CACHE, name, key, build);

function flag(args: string[], name: string, fallback: string): string {
  const i = args.indexOf(`--${name}`);
  return i >= 0 && args[i + 1] !== undefined ? args[i + 1]! : fallback;
}

interface Budgets { mb: number; w2vEpochs: number; gloveEpochs: number; nnlmSteps: number; elmoSteps: number; coveSteps: number; gptSteps: number; bertSteps: number }

/** The Transformers' shape: 4 layers (5 states to probe), small enough for the budget. */
const TINY = { layers: 4, hidden: 128, heads: 4, intermediate: 512, vocab: 8000 };

/** A pretrained model the probes read. */
interface ProbeModel {
  name: string;
  /** The model_type whose encoder reads it: 'static' (word vectors), 'bert' and 'gpt2' are built in. */
  modelType: string;
  /** The settings that key its cache entry. */
  key: (b: Budgets) => unknown;
  /** The --model source the probes read, inside its directory. */
  source: string;
  /** Trains it on the books folder into `dir`; `built` gives another entry's cached directory (CoVe reads GloVe's). */
  train: (dir: string, books: string, b: Budgets, built: (name: string) => Promise<string>) => void | Promise<void>;
}

const MODELS: ProbeModel[] = [
  {
    name: 'word2vec', modelType: 'static', source: 'vectors.bin', key: (b) => ({ model: 'skipgram', dim: 100, epochs: b.w2vEpochs }),
    train: (dir, books, b) => {
      pretrain(['word2vec', '--corpus', books, '--model', 'skipgram', '--dim', '100', '--epochs', String(b.w2vEpochs), '--threads', '2', '--out', dir]);
    },
  },
  {
    name: 'glove', modelType: 'static', source: 'vectors.bin', key: (b) => ({ dim: 100, epochs: b.gloveEpochs }),
    train: (dir, books, b) => {
      pretrain(['glove', '--corpus', books, '--dim', '100', '--epochs', String(b.gloveEpochs), '--threads', '2', '--out', dir]);
    },
  },
  {
    name: 'nnlm', modelType: 'nnlm', source: join('run', 'checkpoint'), key: (b) => ({ order: 5, m: 64, h: 256, vocab: 10000, steps: b.nnlmSteps, batch: 256 }),
    train: (dir, books, b) => {
      pretrain(['nnlm', 'train', '--corpus', books, '--order', '5', '--embedding-size', '64', '--hidden-size', '256', '--max-vocab', '10000',
        '--steps', String(b.nnlmSteps), '--batch', '256', '--eval-every', '0', '--out', join(dir, 'run')]);
    },
  },
  {
    name: 'elmo', modelType: 'elmo', source: join('run', 'checkpoint'), key: (b) => ({ config: 'tiny', steps: b.elmoSteps }),
    train: (dir, books, b) => {
      pretrain(['elmo', 'train', '--corpus', books, '--layout', 'paragraphs', '--config', 'tiny', '--steps', String(b.elmoSteps), '--eval-every', '0', '--out', join(dir, 'run')]);
    },
  },
  {
    // the decoder without input feeding: half the step time (docs/cove.md), and the MT-LSTM, what is probed, is the same
    name: 'cove', modelType: 'cove', source: join('run', 'checkpoint'),
    key: (b) => ({ glove: 'gutenberg', hidden: 128, layers: 2, inputFeeding: false, steps: b.coveSteps, batch: 64 }),
    train: async (dir, _books, b, built) => {
      const glove = join(await built('glove'), 'vectors.bin');
      const evalEvery = String(Math.max(1, Math.floor(b.coveSteps / 3)));
      pretrain(['cove', 'train', '--data', DATA.multi30k, '--vectors', glove, '--no-input-feeding', '--steps', String(b.coveSteps),
        '--eval-every', evalEvery, '--checkpoint-every', evalEvery, '--out', join(dir, 'run')]);
    },
  },
  {
    name: 'gpt', modelType: 'gpt2', source: join('run', 'checkpoint'), key: (b) => ({ ...TINY, steps: b.gptSteps, block: 64, batch: 16 }),
    train: (dir, books, b) => {
      pretrain(['tokenizer', 'train', '--type', 'bpe', '--input', books, '--vocab-size', String(TINY.vocab), '--out', join(dir, 'tokenizer.json')]);
      pretrain(['data', 'lm', '--tokenizer', join(dir, 'tokenizer.json'), '--input', books, '--block-size', '64', '--out', join(dir, 'shards')]);
      pretrain(['gpt', 'train', '--data', join(dir, 'shards'), '--tokenizer', join(dir, 'tokenizer.json'), '--steps', String(b.gptSteps), '--layers', String(TINY.layers),
        '--dim', String(TINY.hidden), '--heads', String(TINY.heads), '--block', '64', '--batch', '16', '--dropout', '0.1', '--eval-every', '0', '--out', join(dir, 'run')]);
    },
  },
  {
    // at GPT's peak rate: bert train's 1e-4 (Devlin et al.'s, for a million steps) leaves a 600-step run near its unigram loss
    name: 'bert', modelType: 'bert', source: join('run', 'checkpoint'), key: (b) => ({ ...TINY, steps: b.bertSteps, seq: 64, batch: 32, lr: 1e-3, warmup: 60 }),
    train: (dir, books, b) => {
      pretrain(['tokenizer', 'train', '--type', 'wordpiece', '--input', books, '--vocab-size', String(TINY.vocab), '--out', join(dir, 'tokenizer.json')]);
      pretrain(['data', 'bert', '--tokenizer', join(dir, 'tokenizer.json'), '--input', books, '--layout', 'prose', '--dupe-factor', '1', '--max-seq-length', '64',
        '--out', join(dir, 'shards')]);
      pretrain(['bert', 'train', '--data', join(dir, 'shards'), '--tokenizer', join(dir, 'tokenizer.json'), '--steps', String(b.bertSteps), '--layers', String(TINY.layers),
        '--hidden', String(TINY.hidden), '--heads', String(TINY.heads), '--intermediate', String(TINY.intermediate), '--batch', '32', '--lr', '1e-3', '--warmup', '60', '--eval-every', '0', '--out', join(dir, 'run')]);
    },
  },
];

/** Whether the probes can read a model type (the built-in encoders, or a registered loader). */
function hasEncoder(modelType: string): boolean {
  if (['static', 'bert', 'gpt2'].includes(modelType)) return true;
  try {
    encoderLoader(modelType, 'bench probes');
    return true;
  } catch {
    return false;
  }
}

const D = (...p: string[]) => join(SHARED_DATA, ...p);
const DATA = {
  books: D('gutenberg', 'books'),
  polysemy: D('polysemy-wordnet', 'dev.json.gz'),
  ud: D('ud-english-ewt', 'en_ewt-ud-dev.conllu'),
  conll: D('conll2003-ner', 'valid.txt'),
  multi30k: D('multi30k-en-de'),
};

/** The first books in name order up to `mb` megabytes of text, copied into a cached folder every model reads. */
async function bookSubset(mb: number): Promise<string> {
  const names = readdirSync(DATA.books).filter((f) => f.endsWith('.txt.gz')).sort();
  return join(await cached('books', { mb, books: names.length }, (dir) => {
    mkdirSync(join(dir, 'books'));
    let bytes = 0;
    for (const name of names) {
      if (bytes >= mb * 1e6) break;
      copyFileSync(join(DATA.books, name), join(dir, 'books', name));
      bytes += gunzipSync(readFileSync(join(DATA.books, name))).length;
    }
  }), 'books');
}

type Layer = { layer: number; accuracy?: number; dev_accuracy?: number };

export default async function probes(args: string[]): Promise<void> {
  const missing = Object.values(DATA).filter((p) => !existsSync(p));
  if (missing.length) throw new Error(`bench probes needs the shared data folder beside the project; missing: ${missing.join(', ')}`);
  const b: Budgets = {
    mb: Number(flag(args, 'mb', '4')), w2vEpochs: Number(flag(args, 'w2v-epochs', '5')), gloveEpochs: Number(flag(args, 'glove-epochs', '15')),
    nnlmSteps: Number(flag(args, 'nnlm-steps', '1500')), elmoSteps: Number(flag(args, 'elmo-steps', '300')),
    coveSteps: Number(flag(args, 'cove-steps', '3000')), gptSteps: Number(flag(args, 'gpt-steps', '600')),
    bertSteps: Number(flag(args, 'bert-steps', '600')),
  };
  const posSentences = flag(args, 'pos-sentences', '1000');
  const wanted = flag(args, 'models', MODELS.map((m) => m.name).join(',')).split(',');
  const unknown = wanted.filter((w) => !MODELS.some((m) => m.name === w));
  if (unknown.length) throw new Error(`bench probes: no model ${unknown.join(', ')} (the models: ${MODELS.map((m) => m.name).join(', ')})`);
  const books = await bookSubset(b.mb);
  console.error(`corpus: ${readdirSync(books).length} books (${books})`);
  const rows: BenchRow[] = [];
  const started = performance.now();
  const built = (model: ProbeModel): Promise<string> =>
    cached(model.name, { mb: b.mb, ...(model.key(b) as object) }, (out) => model.train(out, books, b, (name) => built(MODELS.find((m) => m.name === name)!)));
  for (const model of MODELS.filter((m) => wanted.includes(m.name))) {
    if (!hasEncoder(model.modelType)) {
      console.error(`${model.name}: skipped, model_type '${model.modelType}' has no transfer encoder yet (register its loader in src/tasks/transfer/encoder-loaders.ts)`);
      continue;
    }
    const dir = await built(model);
    const source = join(dir, model.source);
    if (model.modelType === 'cove') {
      const log = readFileSync(join(dir, 'run', 'log.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l) as { bleu?: number });
      const bleu = log.filter((r) => r.bleu !== undefined).at(-1)?.bleu;
      if (bleu !== undefined) rows.push(figure('cove-translation-val-bleu', bleu, 'BLEU', null, null));
    }
    // a contextual model beside its architecture with random weights: what the probe finds without pretraining
    // (word identity, position, the neighbouring words) is the floor its layers are read against
    const variants = model.modelType === 'static' ? [[model.name, source]] : [[model.name, source], [`${model.name}-scratch`, `scratch:${source}`]];
    for (const [name, from] of variants) {
      const poly = pretrain(['probe', 'polysemy', '--model', from!, '--data', DATA.polysemy]);
      for (const l of poly.layers as Layer[]) rows.push(figure(`${name}-polysemy-layer${l.layer}`, l.accuracy!, 'accuracy', 'chance (a random neighbour)', poly.chance as number));
      for (const [task, file] of [['pos-ud', DATA.ud], ['pos-conll', DATA.conll]] as const) {
        const pos = pretrain(['probe', 'layers', '--model', from!, '--task', 'pos', '--data', file, '--max-sentences', posSentences]);
        for (const l of pos.layers as Layer[]) rows.push(figure(`${name}-${task}-layer${l.layer}`, l.dev_accuracy!, 'accuracy', 'majority tag', pos.majority as number));
      }
      const sense = pretrain(['probe', 'layers', '--model', from!, '--task', 'sense', '--data', DATA.polysemy]);
      for (const l of sense.layers as Layer[]) rows.push(figure(`${name}-sense-layer${l.layer}`, l.dev_accuracy!, 'accuracy', 'chance', sense.chance as number));
    }
  }
  console.table(rows.map((r) => ({ name: r.name, value: r.value, unit: r.unit, peer: r.peer, peer_value: r.peer_value })));
  console.error(`probes: ${((performance.now() - started) / 1000).toFixed(0)} s`);
  // the rows of models this run did not probe stay as they were (a --models run updates its own)
  const path = join(HERE, 'results', 'probes.json');
  const rerun = (name: string) => wanted.some((w) => name.startsWith(`${w}-`));
  const kept = existsSync(path) ? (JSON.parse(readFileSync(path, 'utf8')) as { results: BenchRow[] }).results.filter((r) => !rerun(r.name)) : [];
  const order = (r: BenchRow) => MODELS.findIndex((m) => r.name.startsWith(`${m.name}-`));
  console.log(`wrote ${writeResults('probes', [...kept, ...rows].sort((x, y) => order(x) - order(y)))}`);
}

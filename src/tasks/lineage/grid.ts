// The lineage experiment as data: which models are pretrained on which corpus at what budgets, which tasks they are
// transferred to, in which modes, at how many labels and over how many seeds; the two presets (demo: the bundled
// data in minutes; full: ../shared/data in hours); and the grid of cells those settings make.

/** The models of the lineage, in the essay's order. */
export const LINEAGE_MODELS = ['word2vec-sg', 'word2vec-cbow', 'glove', 'nnlm', 'elmo', 'cove', 'gpt', 'bert'] as const;
export type LineageModel = (typeof LINEAGE_MODELS)[number];

/** How a cell uses its model: the architecture with random weights (the baseline), pretrained and fixed, or pretrained and trained on. */
export const LINEAGE_MODES = ['scratch', 'frozen', 'finetune'] as const;
export type LineageMode = (typeof LINEAGE_MODES)[number];

/** What each model is, for tables and the claims. */
export const MODEL_FAMILY: Record<LineageModel, 'static' | 'window' | 'lstm' | 'transformer'> = {
  'word2vec-sg': 'static', 'word2vec-cbow': 'static', glove: 'static', nnlm: 'window', elmo: 'lstm', cove: 'lstm', gpt: 'transformer', bert: 'transformer',
};

/** A labelled task: its files and how to read and score them. */
export interface LineageTask {
  name: string;
  /** What it is, for tables: "sentiment", "named entities", ... */
  description: string;
  /** Training data (any format readTask reads). */
  train: string;
  /** Dev data; without it, a seeded, stratified tenth of `train` is held out. */
  dev?: string;
  /** readTask options beyond the file (textColumns, labelColumn, labelType). */
  read?: { textColumns?: (string | number)[]; labelColumn?: string | number; labelType?: 'string' | 'number'; format?: string };
  /** Score a seeded (stratified) sample of this many dev examples when dev is larger. */
  maxDev?: number;
  /** The dev metric the cell reports (its best over the run's evaluations). */
  metric: string;
  /** A generation task, run through the seq2seq API (not a classification or tagging cell). */
  generation?: boolean;
}

/** Shapes of the models (the same for scratch and pretrained). */
export interface ModelShapes {
  /** word2vec and GloVe. */
  vectors: { dim: number; window: number; minCount: number };
  nnlm: { order: number; embedding: number; hidden: number; maxVocab: number; batch: number };
  /** ELMo: the tiny configuration with these overrides. */
  elmo: { lstmDim: number; projectionDim: number; filterScale: number; highway: number; maxVocab: number; maxTokens: number; batch: number };
  /** CoVe: the MT-LSTM over the lineage's GloVe, trained on parallel text. */
  cove: { hidden: number; targetEmbedding: number; maxVocab: number; batch: number };
  /** GPT and BERT. */
  transformer: { layers: number; hidden: number; heads: number; intermediate: number; vocab: number; seq: number; batch: number };
}

/** Pretraining budgets: epochs for the vector models, steps for the others (chosen to take about equal wall time). */
export interface Budgets {
  word2vecEpochs: number;
  gloveEpochs: number;
  nnlmSteps: number;
  elmoSteps: number;
  coveSteps: number;
  gptSteps: number;
  bertSteps: number;
}

/** How each cell trains on its task. */
export interface TransferSettings {
  /** Passes over the training sample, at least `minSteps` and at most `maxSteps` steps. */
  epochs: number;
  minSteps: number;
  maxSteps: number;
  /** Dev evaluations per run (the dev-vs-steps curves and the best score read them). */
  evaluations: number;
  batch: number;
  /** Peak learning rates: whole models (scratch, fine-tuned), and frozen features' new top. */
  lrFinetune: number;
  lrFrozen: number;
  /** The top over frozen or word-vector features. */
  head: 'linear' | 'bilstm';
  /** Tokens per input, special tokens included. */
  maxLength: number;
}

/** Parallel text for CoVe's translation pretraining. */
export interface ParallelData {
  dir: string;
  source: string;
  target: string;
  /** Train on the first N pairs only. */
  maxPairs?: number;
}

/** Everything a lineage run depends on. */
export interface LineageConfig {
  preset: 'demo' | 'full';
  /** A variant of the preset, named in the results (bench lineage --reduced). */
  variant?: string;
  lang: 'en' | 'zh';
  /** Corpus files and folders (.gz read through). */
  corpus: string[];
  models: LineageModel[];
  modes: LineageMode[];
  tasks: LineageTask[];
  /** Training labels per cell: a count, or 'all'. */
  labels: (number | 'all')[];
  seeds: number[];
  budgets: Budgets;
  shapes: ModelShapes;
  transfer: TransferSettings;
  /** Polysemy data ({lemma: {sense: [sentences]}}) for claim 3; none: the row is not run. */
  polysemy?: string;
  /** CoVe's parallel text; none: CoVe is not run. */
  parallel?: ParallelData;
  /** Models run in fewer modes than `modes` (the demo runs ELMo frozen only, as its paper used it). */
  modesOf?: Partial<Record<LineageModel, LineageMode[]>>;
  /** Why models, modes or tasks of the preset are left out (model or task name, or a note: reason), shown in the results. */
  notRun: Record<string, string>;
}

/** One experiment: a model in a mode on a task at a label count and seed. */
export interface CellSpec {
  model: LineageModel;
  mode: LineageMode;
  task: string;
  labels: number | 'all';
  seed: number;
}

/** A cell's name, stable across runs: model/mode/task/labels/seed. */
export function cellId(c: CellSpec): string {
  return `${c.model}/${c.mode}/${c.task}/${c.labels}/seed${c.seed}`;
}

/** The models that generate (as a seq2seq model's sides, or GPT on source <sep> target), and the modes generation has. */
export const GENERATION_MODELS: readonly LineageModel[] = ['gpt', 'bert'];
const GENERATION_MODES: readonly LineageMode[] = ['scratch', 'finetune'];

/**
 * The cells of a configuration, in run order: task by task, label count by label count, then each model's modes
 * (scratch first, so that a pretrained run can be timed against its baseline) and seeds. Generation tasks take
 * GPT and BERT, from scratch and fine-tuned (a frozen model cannot learn to translate).
 */
export function lineageCells(config: LineageConfig): CellSpec[] {
  const cells: CellSpec[] = [];
  const runnable = config.models.filter((m) => !(m in config.notRun));
  for (const task of config.tasks.filter((t) => !(t.name in config.notRun))) {
    for (const labels of config.labels) {
      for (const model of runnable.filter((m) => !task.generation || GENERATION_MODELS.includes(m))) {
        const modes = LINEAGE_MODES.filter((m) => config.modes.includes(m) && (config.modesOf?.[model]?.includes(m) ?? true) && (!task.generation || GENERATION_MODES.includes(m)));
        for (const mode of modes) {
          for (const seed of config.seeds) cells.push({ model, mode, task: task.name, labels, seed });
        }
      }
    }
  }
  return cells;
}

/** The demo's model sizes: tiny, so that pretraining all of them and the whole grid take minutes on 2 cores. */
export const DEMO_SHAPES: ModelShapes = {
  vectors: { dim: 64, window: 5, minCount: 3 },
  nnlm: { order: 4, embedding: 64, hidden: 128, maxVocab: 8000, batch: 128 },
  elmo: { lstmDim: 128, projectionDim: 32, filterScale: 0.25, highway: 1, maxVocab: 4000, maxTokens: 20, batch: 32 },
  cove: { hidden: 64, targetEmbedding: 64, maxVocab: 8000, batch: 64 },
  transformer: { layers: 2, hidden: 64, heads: 2, intermediate: 256, vocab: 2000, seq: 64, batch: 32 },
};

/** The demo's budgets: word2vec and GloVe take seconds, the others about a minute each on 2 shared cores. */
export const DEMO_BUDGETS: Budgets = { word2vecEpochs: 3, gloveEpochs: 10, nnlmSteps: 500, elmoSteps: 100, coveSteps: 300, gptSteps: 200, bertSteps: 300 };

/** The full preset's sizes: BERT-mini's shape for the Transformers, the small ELMo and a CoVe of the CLI's default size. */
export const FULL_SHAPES: ModelShapes = {
  vectors: { dim: 100, window: 5, minCount: 5 },
  nnlm: { order: 5, embedding: 64, hidden: 256, maxVocab: 20000, batch: 256 },
  elmo: { lstmDim: 512, projectionDim: 128, filterScale: 0.5, highway: 1, maxVocab: 20000, maxTokens: 20, batch: 64 },
  cove: { hidden: 128, targetEmbedding: 128, maxVocab: 10000, batch: 64 },
  transformer: { layers: 4, hidden: 256, heads: 4, intermediate: 1024, vocab: 8000, seq: 128, batch: 32 },
};

/** The full preset's budgets (about an hour each on 2 cores). */
export const FULL_BUDGETS: Budgets = { word2vecEpochs: 5, gloveEpochs: 15, nnlmSteps: 6000, elmoSteps: 3000, coveSteps: 3000, gptSteps: 3000, bertSteps: 3000 };

/** The demo's transfer: a few epochs of the small bundled samples, a linear top. */
/**
 * The demo's transfer: 48 steps of batches of 32 (1.5 epochs of the bundled 1,000 examples; 24 steps for 100), a linear top. The rates are high
 * for so few steps: a new linear top starts uniform and must first learn its labels' prior.
 */
export const DEMO_TRANSFER: TransferSettings = { epochs: 2, minSteps: 24, maxSteps: 48, evaluations: 5, batch: 32, lrFinetune: 2e-3, lrFrozen: 3e-2, head: 'linear', maxLength: 64 };

/** The full preset's transfer (bench/finetune.ts's settings: 3 epochs, 150 to 1,500 steps, fine-tuning at 3e-4). */
export const FULL_TRANSFER: TransferSettings = { epochs: 3, minSteps: 150, maxSteps: 1500, evaluations: 8, batch: 32, lrFinetune: 3e-4, lrFrozen: 1e-3, head: 'linear', maxLength: 128 };

/** Where a preset's files are: the package's assets (demo) and ../shared/data (full). */
export interface PresetRoots {
  assets: string;
  shared: string;
}

/** A preset's configuration. The demo bundles English only. */
export function lineagePreset(preset: 'demo' | 'full', lang: 'en' | 'zh', roots: PresetRoots): LineageConfig {
  const j = (...parts: string[]) => parts.join('/');
  if (preset === 'demo') {
    if (lang !== 'en') throw new Error("the demo preset bundles English data only; run --preset full --lang zh for Chinese (it reads ../shared/data)");
    const a = (name: string) => j(roots.assets, 'lineage', name);
    return {
      preset, lang, corpus: [a('corpus')], models: [...LINEAGE_MODELS], modes: [...LINEAGE_MODES],
      tasks: [
        { name: 'author', description: 'Austen or Dickens (sentences of other books than in training)', train: a('author-train.jsonl'), dev: a('author-dev.jsonl'), metric: 'accuracy' },
        { name: 'names', description: 'proper names in lowercased text (entity F1)', train: a('names-train.jsonl'), dev: a('names-dev.jsonl'), metric: 'f1' },
      ],
      labels: [100, 'all'], seeds: [1, 2, 3], budgets: { ...DEMO_BUDGETS }, shapes: structuredClone(DEMO_SHAPES), transfer: { ...DEMO_TRANSFER },
      polysemy: a('polysemy.json'),
      modesOf: { elmo: ['frozen'] },
      notRun: {
        'elmo scratch and finetune': 'left out of the demo for time (its character CNN and LSTMs train at a fraction of the Transformers\' speed here); ELMo is frozen features in its paper, and the full preset runs all three modes',
        cove: 'CoVe pretrains by translation, which needs parallel text; the only parallel text here (Multi30k) has no stated licence, so none is bundled',
      },
    };
  }
  const d = (...parts: string[]) => j(roots.shared, ...parts);
  const common = {
    preset, lang, models: [...LINEAGE_MODELS], modes: [...LINEAGE_MODES], labels: [100, 1000, 'all'] as (number | 'all')[], seeds: [1, 2, 3],
    budgets: { ...FULL_BUDGETS }, shapes: structuredClone(FULL_SHAPES), transfer: { ...FULL_TRANSFER },
  };
  if (lang === 'en') {
    return {
      ...common, corpus: [d('gutenberg', 'books')],
      tasks: [
        { name: 'sst2', description: 'SST-2 sentiment', train: d('sst-2', 'train.tsv.gz'), dev: d('sst-2', 'dev.tsv'), metric: 'accuracy' },
        { name: 'conll2003', description: 'CoNLL-2003 named entities', train: d('conll2003-ner', 'train.txt.gz'), dev: d('conll2003-ner', 'valid.txt'), metric: 'f1' },
        { name: 'mrpc', description: 'MRPC paraphrase', train: d('mrpc', 'msr_paraphrase_train.txt'), metric: 'f1' },
        { name: 'sick', description: 'SICK relatedness', train: d('sick2014', 'SICK_train.txt'), dev: d('sick2014', 'SICK_trial.txt'), read: { labelColumn: 'relatedness' }, metric: 'pearson' },
        { name: 'multi30k', description: 'Multi30k English-German translation (BLEU / 100)', train: d('multi30k-en-de'), metric: 'bleu', generation: true },
      ],
      polysemy: d('polysemy-wordnet', 'dev.json.gz'),
      parallel: { dir: d('multi30k-en-de'), source: 'en', target: 'de' },
      notRun: {},
    };
  }
  return {
    ...common, corpus: [d('chinese-classics')],
    tasks: [
      { name: 'msra', description: 'MSRA named entities (characters)', train: d('chinese-ner-msra', 'train.txt.gz'), metric: 'f1' },
      { name: 'chnsenticorp', description: 'ChnSentiCorp hotel-review sentiment', train: d('chnsenticorp-htl', 'ChnSentiCorp_htl_all.csv.gz'), read: { textColumns: ['review'], labelColumn: 'label' }, metric: 'accuracy' },
      { name: 'afqmc', description: 'AFQMC question matching', train: d('afqmc', 'train.csv.gz'), dev: d('afqmc', 'dev.csv'), metric: 'accuracy' },
    ],
    notRun: {
      cove: 'CoVe needs English-to-German translation pairs; there is no Chinese parallel text in ../shared/data',
    },
  };
}

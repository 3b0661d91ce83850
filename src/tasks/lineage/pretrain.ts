// Pretraining every model of the lineage on one corpus, each through its own library trainer (the ones the `pretrain`
// commands call), into an entry of the content-hash cache keyed by the corpus's bytes, the model's shape and its
// budget. What each returns is the `model` source that transfer reads (buildTaskModel, loadEncoder).
import { rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { encoderFromTokenizer } from '../../data/encoder.js';
import { splitTokens } from '../../data/lm.js';
import { prepareBertData, prepareLmData } from '../../data/prepare.js';
import { BertShardSource, readShards } from '../../data/shards.js';
import { writeWord2Vec } from '../../io/word2vec-format.js';
import { BertForPreTraining, bertConfig } from '../../models/bert.js';
import { CoveModel, coveConfig } from '../../models/cove.js';
import { ElmoBiLM, elmoConfig } from '../../models/elmo.js';
import { GPT, gptConfig } from '../../models/gpt.js';
import { NNLM, nnlmConfig } from '../../models/nnlm.js';
import { WordVectors } from '../../models/vectors.js';
import { Glove } from '../../models/word2vec/glove.js';
import { Word2Vec, WORD2VEC_DEFAULTS, buildVocab, type SentenceSource } from '../../models/word2vec/trainer.js';
import { hardwareThreads } from '../../platform/node.js';
import { manualSeed } from '../../tensor/random.js';
import { Corpus } from '../../text/corpus.js';
import { trainBpe, trainWordPiece } from '../../text/train.js';
import { WordVocab, ngramWindows, readParagraphs, type WordSplit } from '../../text/word-lm.js';
import { BERT_PRETRAIN, BertPretrainTask } from '../bert-pretrain.js';
import { COVE_TRAIN, CoveTrainTask, gloveVocabulary, readParallel, saveCoveVocabularies } from '../cove-train.js';
import { ELMO_PRETRAIN, ELMO_SPECIALS, ElmoCorpus, ElmoPretrainTask } from '../elmo-pretrain.js';
import { GPT_PRETRAIN, GPTPretrainTask } from '../gpt-pretrain.js';
import { NNLM_PRETRAIN, NNLMPretrainTask } from '../nnlm-pretrain.js';
import { train, trainConfig, type TrainConfig, type TrainTask } from '../trainer.js';
import { hashFiles, type ContentCache } from './cache.js';
import type { LineageConfig, LineageModel } from './grid.js';

/** Where a pretraining is: a phase (tokenizer, data, train) and its count. */
export interface PretrainProgress {
  model: LineageModel;
  phase: string;
  done: number;
  total: number;
  unit: string;
  /** Loss and rate, for the progress bar. */
  detail?: string;
}

/** A pretrained model, as the cache holds it. */
export interface PretrainedInfo {
  model: LineageModel;
  /** The transfer source: a model directory or a vectors file. */
  source: string;
  /** The cache entry's hash (cells key on it). */
  hash: string;
  /** Found in the cache rather than trained by this run. */
  cached: boolean;
  /** Wall seconds of the pretraining when it ran. */
  wallSeconds: number;
  /** What it measured at the end (final loss, held-out perplexity, vocabulary...). */
  summary: Record<string, number>;
  /** The settings its cache entry is keyed by. */
  key: Record<string, unknown>;
}

interface BuildMeta {
  source: string;
  wallSeconds: number;
  summary: Record<string, number>;
}

type Report = (p: Omit<PretrainProgress, 'model'>) => void;

/** What a model's pretraining needs besides its own settings. */
interface Context {
  config: LineageConfig;
  report: Report;
  /** Models already pretrained this run (CoVe reads GloVe's vectors). */
  done: Map<LineageModel, PretrainedInfo>;
}

/** The corpus as sentences of words: lowercased word runs for English, characters for Chinese (its text has no spaces). */
async function sentenceSource(config: LineageConfig): Promise<SentenceSource> {
  if (config.lang === 'en') return Corpus.open(config.corpus, { layout: 'raw' });
  return async function* chars() {
    const corpus = await Corpus.open(config.corpus, { layout: 'raw' });
    for await (const line of corpus.lines()) {
      const cs = Array.from(line).filter((c) => c.trim() !== '');
      if (cs.length) yield cs;
    }
  };
}

/** The corpus's paragraphs as words ('words': lowercased; 'tokens': cased, punctuation apart), or characters for Chinese. */
async function paragraphsOf(config: LineageConfig, split: WordSplit): Promise<string[][]> {
  const { paragraphs } = await readParagraphs(config.corpus, config.lang === 'en' ? split : 'whitespace');
  const out = config.lang === 'en' ? paragraphs : paragraphs.map((p) => Array.from(p.join('')));
  if (out.length < 20) throw new Error(`${config.corpus.join(', ')}: ${out.length} paragraph(s) are too few to pretrain on (a tenth is held out)`);
  return out;
}

/** Lines of the corpus, for tokenizer training. */
async function* corpusLines(config: LineageConfig): AsyncGenerator<string> {
  for await (const line of (await Corpus.open(config.corpus, { layout: 'raw' })).lines()) yield line;
}

/** Runs a trainer's task into `dir/run` (its checkpoint is the model directory), reporting steps. */
async function runTask(ctx: Context, task: TrainTask, recipe: TrainConfig, steps: number, dir: string): Promise<{ loss: number; eval: Record<string, number> }> {
  const cfg = trainConfig(recipe, { maxSteps: steps, evalEvery: 0, checkpointEvery: 0, warmupSteps: Math.min(recipe.warmupSteps, Math.floor(steps / 10)), seed: 1, outDir: join(dir, 'run') });
  const result = await train(task, cfg, {
    onProgress: (p) => ctx.report({ phase: 'train', done: p.step, total: p.maxSteps, unit: 'steps', detail: `loss ${p.record.loss?.toFixed(3)}` }),
  });
  return { loss: result.finalLoss, eval: result.eval };
}

const vectorsFile = (dir: string) => join(dir, 'vectors.bin');

/** Each model's pretraining: its cache key (beyond the corpus) and the build into a cache directory. */
const PRETRAINERS: Record<LineageModel, { key: (c: LineageConfig) => Record<string, unknown>; build: (ctx: Context, dir: string) => Promise<BuildMeta> }> = {
  'word2vec-sg': word2vec('skipgram'),
  'word2vec-cbow': word2vec('cbow'),
  glove: {
    key: (c) => ({ ...c.shapes.vectors, epochs: c.budgets.gloveEpochs }),
    build: async (ctx, dir) => {
      const { vectors: v } = ctx.config.shapes;
      const started = performance.now();
      let loss = NaN;
      const model = await Glove.train(await sentenceSource(ctx.config), { dim: v.dim, window: v.window, minCount: v.minCount, epochs: ctx.config.budgets.gloveEpochs, threads: hardwareThreads(), seed: 1 },
        (p) => { if (p.epoch !== undefined) { loss = p.loss ?? NaN; ctx.report({ phase: 'train', done: p.epoch + 1, total: ctx.config.budgets.gloveEpochs, unit: 'epochs', detail: `loss ${loss.toFixed(4)}` }); } });
      const kv = model.toVectors();
      await writeWord2Vec(vectorsFile(dir), { words: kv.words, dim: kv.dim, vectors: kv.vectors, counts: model.vocab.counts }, true);
      return { source: 'vectors.bin', wallSeconds: (performance.now() - started) / 1000, summary: { vocab: kv.size, final_loss: loss } };
    },
  },
  nnlm: {
    key: (c) => ({ ...c.shapes.nnlm, steps: c.budgets.nnlmSteps }),
    build: async (ctx, dir) => {
      const s = ctx.config.shapes.nnlm;
      const started = performance.now();
      const all = await paragraphsOf(ctx.config, 'words');
      const cut = Math.floor(all.length * 0.9);
      const vocab = WordVocab.build(all.slice(0, cut), { maxSize: s.maxVocab });
      const model = new NNLM(nnlmConfig({ vocab_size: vocab.size, order: s.order, embedding_size: s.embedding, hidden_size: s.hidden }, 'lineage nnlm'));
      const task = new NNLMPretrainTask(model, ngramWindows(all.slice(0, cut), vocab, s.order), ngramWindows(all.slice(cut), vocab, s.order),
        { batchSize: s.batch, evalWindows: 20000, saveExtras: (d) => writeFile(join(d, 'vocab.txt'), vocab.toText()) });
      const r = await runTask(ctx, task, NNLM_PRETRAIN, ctx.config.budgets.nnlmSteps, dir);
      return { source: join('run', 'checkpoint'), wallSeconds: (performance.now() - started) / 1000, summary: { vocab: vocab.size, final_loss: r.loss, held_out_perplexity: r.eval.perplexity ?? NaN } };
    },
  },
  elmo: {
    key: (c) => ({ ...c.shapes.elmo, steps: c.budgets.elmoSteps }),
    build: async (ctx, dir) => {
      const s = ctx.config.shapes.elmo;
      const started = performance.now();
      const all = await paragraphsOf(ctx.config, 'tokens');
      const cut = Math.floor(all.length * 0.95);
      const vocab = WordVocab.build(all.slice(0, cut), { maxSize: s.maxVocab, specials: ELMO_SPECIALS });
      const tiny = elmoConfig({}, 'lineage elmo', 'tiny');
      const config = elmoConfig({
        vocab_size: vocab.size,
        char_cnn: { ...tiny.char_cnn, n_highway: s.highway, filters: tiny.char_cnn.filters.map(([w, n]) => [w, Math.max(1, Math.round(n * s.filterScale))]) },
        lstm: { ...tiny.lstm, dim: s.lstmDim, projection_dim: s.projectionDim },
      }, 'lineage elmo', 'tiny');
      const model = new ElmoBiLM(config);
      const task = new ElmoPretrainTask(model, ElmoCorpus.encode(all.slice(0, cut), vocab, { maxTokens: s.maxTokens }), ElmoCorpus.encode(all.slice(cut), vocab, { maxTokens: s.maxTokens }),
        { batchSize: s.batch, evalSequences: 500, saveExtras: (d) => writeFile(join(d, 'vocab.txt'), vocab.toText()) });
      const r = await runTask(ctx, task, ELMO_PRETRAIN, ctx.config.budgets.elmoSteps, dir);
      return { source: join('run', 'checkpoint'), wallSeconds: (performance.now() - started) / 1000, summary: { vocab: vocab.size, final_loss: r.loss, held_out_perplexity: r.eval.perplexity ?? NaN } };
    },
  },
  cove: {
    key: (c) => ({ ...c.shapes.cove, steps: c.budgets.coveSteps, parallel: c.parallel ?? null }),
    build: async (ctx, dir) => {
      const p = ctx.config.parallel;
      if (!p) throw new Error('lineage: CoVe needs parallel text (config.parallel)');
      const glove = ctx.done.get('glove');
      if (!glove) throw new Error('lineage: CoVe reads the lineage\'s GloVe vectors; pretrain glove first (add it to the models)');
      const s = ctx.config.shapes.cove;
      const started = performance.now();
      const file = (split: string, lang: string) => join(p.dir, `${split}.${lang}.gz`);
      const trainPairs = (await readParallel(file('train', p.source), file('train', p.target))).pairs.slice(0, p.maxPairs);
      const val = (await readParallel(file('val', p.source), file('val', p.target))).pairs;
      const vectors = await WordVectors.load(glove.source);
      const source = gloveVocabulary(vectors);
      const vocabs = { source: source.vocab, target: WordVocab.build(trainPairs.map((x) => x.target), { maxSize: s.maxVocab, minCount: 2 }) };
      const model = new CoveModel(coveConfig({
        source_vocab_size: source.vocab.size, embedding_size: vectors.dim, hidden_size: s.hidden, num_layers: 2,
        target_vocab_size: vocabs.target.size, target_embedding_size: s.targetEmbedding, input_feeding: false,
      }, 'lineage cove'));
      model.setGlove(source.table);
      const task = new CoveTrainTask(model, trainPairs, val, vocabs, { batchSize: s.batch, evalPairs: 200, seed: 1, saveExtras: (d) => saveCoveVocabularies(d, vocabs) });
      const r = await runTask(ctx, task, COVE_TRAIN, ctx.config.budgets.coveSteps, dir);
      return { source: join('run', 'checkpoint'), wallSeconds: (performance.now() - started) / 1000, summary: { final_loss: r.loss, val_perplexity: r.eval.perplexity ?? NaN, val_bleu: r.eval.bleu ?? NaN } };
    },
  },
  gpt: {
    key: (c) => ({ ...c.shapes.transformer, steps: c.budgets.gptSteps }),
    build: async (ctx, dir) => {
      const s = ctx.config.shapes.transformer;
      const started = performance.now();
      ctx.report({ phase: 'tokenizer', done: 0, total: 1, unit: 'tokenizers' });
      const tok = await trainBpe(corpusLines(ctx.config), { vocabSize: s.vocab });
      tok.save(join(dir, 'tokenizer.json'));
      const shards = join(dir, 'shards');
      await prepareLmData({ input: ctx.config.corpus, out: shards, encoder: encoderFromTokenizer(tok), layout: 'raw', blockSize: s.seq,
        onProgress: (p) => ctx.report({ phase: `data (${p.phase})`, done: p.done, total: p.total, unit: p.phase === 'read' ? 'bytes' : 'items' }) });
      const parts: Int32Array[] = [];
      for await (const shard of readShards(shards, 'lm')) parts.push(shard.columns.input_ids as Int32Array);
      const tokens = new Int32Array(parts.reduce((n, x) => n + x.length, 0));
      let at = 0;
      for (const x of parts) { tokens.set(x, at); at += x.length; }
      await rm(shards, { recursive: true });
      manualSeed(1);
      const model = new GPT(gptConfig({ vocab_size: tok.vocabSize, n_positions: s.seq, n_embd: s.hidden, n_layer: s.layers, n_head: s.heads, resid_pdrop: 0.1, embd_pdrop: 0.1, attn_pdrop: 0.1 }, 'lineage gpt'));
      const task = new GPTPretrainTask(model, splitTokens(tokens), { batchSize: s.batch, blockSize: s.seq, evalBatches: 10, saveExtras: async (d) => tok.save(join(d, 'tokenizer.json')) });
      const r = await runTask(ctx, task, GPT_PRETRAIN, ctx.config.budgets.gptSteps, dir);
      return { source: join('run', 'checkpoint'), wallSeconds: (performance.now() - started) / 1000, summary: { vocab: tok.vocabSize, tokens: tokens.length, final_loss: r.loss, held_out_perplexity: r.eval.perplexity ?? NaN } };
    },
  },
  bert: {
    key: (c) => ({ ...c.shapes.transformer, steps: c.budgets.bertSteps }),
    build: async (ctx, dir) => {
      const s = ctx.config.shapes.transformer;
      const started = performance.now();
      ctx.report({ phase: 'tokenizer', done: 0, total: 1, unit: 'tokenizers' });
      const tok = await trainWordPiece(corpusLines(ctx.config), { vocabSize: s.vocab });
      tok.save(join(dir, 'tokenizer.json'));
      const shards = join(dir, 'shards');
      await prepareBertData({ input: ctx.config.corpus, out: shards, encoder: encoderFromTokenizer(tok), layout: 'prose', dupeFactor: 1, maxSeqLength: s.seq, seed: 1,
        maxPredictionsPerSeq: Math.max(1, Math.round(s.seq * 0.15)),
        onProgress: (p) => ctx.report({ phase: `data (${p.phase})`, done: p.done, total: p.total, unit: p.phase === 'read' ? 'bytes' : 'items' }) });
      const source = await BertShardSource.open(shards);
      manualSeed(1);
      const model = new BertForPreTraining(bertConfig({
        vocab_size: tok.vocabSize, hidden_size: s.hidden, num_hidden_layers: s.layers, num_attention_heads: s.heads, intermediate_size: s.intermediate,
        max_position_embeddings: Math.max(s.seq, 128), pad_token_id: Number(source.manifest.info.padId ?? 0),
      }));
      const task = new BertPretrainTask(model, source, { batchSize: s.batch, saveExtras: async (d) => tok.save(join(d, 'tokenizer.json')) });
      const r = await runTask(ctx, task, BERT_PRETRAIN, ctx.config.budgets.bertSteps, dir);
      await rm(shards, { recursive: true });
      return { source: join('run', 'checkpoint'), wallSeconds: (performance.now() - started) / 1000, summary: { vocab: tok.vocabSize, examples: source.length, final_loss: r.loss } };
    },
  },
};

/** word2vec in one of its architectures. */
function word2vec(model: 'skipgram' | 'cbow'): (typeof PRETRAINERS)[LineageModel] {
  return {
    key: (c) => ({ model, ...c.shapes.vectors, epochs: c.budgets.word2vecEpochs }),
    build: async (ctx, dir) => {
      const v = ctx.config.shapes.vectors;
      const started = performance.now();
      const opts = { ...WORD2VEC_DEFAULTS, model, dim: v.dim, window: v.window, minCount: v.minCount, epochs: ctx.config.budgets.word2vecEpochs, threads: hardwareThreads() };
      const source = await sentenceSource(ctx.config);
      const vocab = await buildVocab(source, opts);
      const w2v = new Word2Vec(vocab, opts);
      let loss = NaN;
      await w2v.trainEpochs(source, (p) => { loss = p.loss; ctx.report({ phase: 'train', done: p.words, total: p.totalWords, unit: 'words', detail: `loss ${p.loss.toFixed(4)}` }); });
      await writeWord2Vec(vectorsFile(dir), { words: vocab.words, dim: v.dim, vectors: w2v.syn0, counts: vocab.counts }, true);
      return { source: 'vectors.bin', wallSeconds: (performance.now() - started) / 1000, summary: { vocab: vocab.words.length, corpus_words: vocab.totalWords, final_loss: loss } };
    },
  };
}

/** The cache key of a model's pretraining: the corpus's content hash, the language and the model's settings. */
export function pretrainKey(model: LineageModel, config: LineageConfig, corpusHash: string, done: ReadonlyMap<LineageModel, PretrainedInfo>): Record<string, unknown> {
  return { model, corpus: corpusHash, lang: config.lang, ...PRETRAINERS[model].key(config), ...(model === 'cove' ? { glove: done.get('glove')?.hash ?? null } : {}) };
}

/**
 * Pretrains the configuration's models (those not left out) in order, or finds them in the cache. GloVe comes before
 * CoVe, whose MT-LSTM reads its vectors.
 */
export async function pretrainAll(config: LineageConfig, cache: ContentCache, onProgress: (p: PretrainProgress) => void = () => {}): Promise<Map<LineageModel, PretrainedInfo>> {
  const corpusHash = await hashFiles(config.corpus);
  const done = new Map<LineageModel, PretrainedInfo>();
  const wanted = config.models.filter((m) => !(m in config.notRun));
  if (wanted.includes('cove') && !wanted.includes('glove')) wanted.unshift('glove');
  for (const model of wanted) {
    const key = pretrainKey(model, config, corpusHash, done);
    const ctx: Context = { config, done, report: (p) => onProgress({ model, ...p }) };
    const entry = await cache.get<BuildMeta>(`pretrained-${model}`, key, (dir) => PRETRAINERS[model].build(ctx, dir));
    done.set(model, { model, source: join(entry.dir, entry.meta.source), hash: entry.hash, cached: entry.hit, wallSeconds: entry.meta.wallSeconds, summary: entry.meta.summary, key });
  }
  return done;
}

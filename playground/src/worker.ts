// The playground's training worker: every model lives and trains here, off the page's main thread, on the engine
// `init` picked (WebGPU, or the WebAssembly kernels whose own worker threads this worker starts and meets with
// Atomics.wait, which only a worker may call). Requests run one at a time, in order; `stop` alone jumps the queue.
import { backend as B, data as D, io, models as M, tasks, tensor as T, text } from 'pretrain';
import { strToU8, zipSync } from 'fflate';
import { attentionWeights } from './attention.js';
import { pca2 } from './pca.js';
import type { BertSettings, EngineInfo, GptSettings, HfFiles, ModelChoice, PolysemyAnswer, ProgressEvent, RequestMessage, RequestName, Requests,
  Word2VecSettings, WorkerMessage } from './protocol.js';

/** Text to ids and back, and the files that carry it in a checkpoint. */
interface Codec {
  size: number;
  encode(s: string): number[];
  decode(ids: readonly number[]): string;
  /** tokenizer.json for a tokenizer, char_vocab.json (as `pretrain gpt train` writes) for characters. */
  files(): Record<string, string>;
  /** The Tokenizer behind it (the polysemy page encodes words with it); null for characters. */
  tokenizer: text.Tokenizer | null;
}

const state: {
  corpus: string;
  sentences: string[][];
  wasm: boolean;
  vectors?: M.WordVectors;
  gpt?: { model: M.GPT; codec: Codec };
  bert?: { model: M.BertForPreTraining | M.BertForMaskedLM; tokenizer: text.Tokenizer; name: string };
} = { corpus: '', sentences: [], wasm: false };

let stopRequested = false;
/** Thrown from a progress callback to end a training run early; the model keeps what it learned. */
class Stopped extends Error {}

function post(message: WorkerMessage, transfer: Transferable[] = []): void {
  (self as unknown as Worker).postMessage(message, transfer);
}
function progress(p: ProgressEvent): void {
  post({ progress: p });
}

function charCodec(vocab: text.CharVocab): Codec {
  return {
    size: vocab.size, tokenizer: null,
    encode: (s) => Array.from(vocab.encode(s)),
    decode: (ids) => vocab.decode(ids),
    files: () => ({ 'char_vocab.json': `${JSON.stringify({ type: 'char', chars: vocab.chars })}\n` }),
  };
}
function tokenizerCodec(tok: text.Tokenizer): Codec {
  return {
    size: tok.vocabSize, tokenizer: tok,
    encode: (s) => tok.encode(s, null, { addSpecialTokens: false }).ids,
    decode: (ids) => tok.decode([...ids]),
    files: () => ({ 'tokenizer.json': `${JSON.stringify(tok.toJSON(), null, 2)}\n` }),
  };
}

function need<V>(value: V | undefined, what: string): V {
  if (value === undefined) throw new Error(what);
  return value;
}

async function init({ engine, wasmFiles }: Requests['init']['args']): Promise<EngineInfo> {
  const locate = (file: string) => new URL(need(wasmFiles[file], `the page bundles no ${file}`), self.location.href);
  const isolated = self.crossOriginIsolated;
  const reasons: string[] = [];
  if (engine === 'auto' || engine === 'webgpu') {
    try {
      const gpu = await B.initWebGPU();
      B.setBackend('webgpu');
      // word2vec has its own WebAssembly kernels whichever engine the tensors use: load them on this thread alone
      if (isolated) state.wasm = Boolean(await B.initWasm({ locate, threads: 1 }));
      return { backend: 'webgpu', description: `WebGPU on ${gpu.info.adapter}`, crossOriginIsolated: isolated };
    } catch (err) {
      if (engine === 'webgpu') throw err;
      reasons.push((err as Error).message);
    }
  }
  if (engine !== 'reference') {
    try {
      const cpu = await B.initWasm({ locate });
      state.wasm = true;
      B.setBackend('cpu-wasm');
      return { backend: 'cpu-wasm', description: cpu.kernels ?? 'WebAssembly', crossOriginIsolated: isolated, ...(reasons.length ? { fallback: reasons.join('; ') } : {}) };
    } catch (err) {
      if (engine === 'wasm') throw err;
      reasons.push((err as Error).message);
    }
  }
  B.setBackend('cpu-reference');
  return { backend: 'cpu-reference', description: 'plain TypeScript kernels, one thread', crossOriginIsolated: isolated, ...(reasons.length ? { fallback: reasons.join('; ') } : {}) };
}

function setCorpus(args: Requests['corpus']['args']): Requests['corpus']['result'] {
  let corpus: string, invalidSequences = 0, invalidBytes = 0;
  if ('bytes' in args) {
    const bytes = new Uint8Array(args.bytes);
    // TextDecoder replaces invalid bytes; Utf8Counter follows its states to count exactly what it replaced
    const counter = new text.Utf8Counter();
    counter.push(bytes);
    counter.end();
    ({ invalidSequences, invalidBytes } = counter);
    corpus = new TextDecoder('utf-8').decode(bytes);
  } else corpus = args.text;
  if (corpus.trim() === '') throw new Error('the corpus is empty');
  const lines = corpus.split(/\r?\n/);
  state.corpus = corpus;
  state.sentences = lines.map((l) => text.tokenize(l)).filter((s) => s.length > 0);
  const distinct = new Set<string>();
  let words = 0;
  for (const s of state.sentences) { words += s.length; for (const w of s) distinct.add(w); }
  // the models trained on the old corpus no longer match it
  state.vectors = undefined;
  state.gpt = undefined;
  if (state.bert?.name === 'trained in the page') state.bert = undefined;
  return { chars: corpus.length, lines: lines.length, words, distinctWords: distinct.size, invalidSequences, invalidBytes };
}

function corpusNeeded(): void {
  if (state.sentences.length === 0) throw new Error('no corpus yet: load one on the Corpus page');
}

async function word2vecTrain(s: Word2VecSettings): Promise<Requests['word2vecTrain']['result']> {
  corpusNeeded();
  const start = performance.now();
  let words = 0;
  const model = await M.Word2Vec.train(() => state.sentences, {
    model: s.model, dim: s.dim, window: s.window, epochs: s.epochs, minCount: s.minCount, negative: s.negative,
    // one thread: this worker (the Hogwild threads of the Node trainer are Node workers); no job cache: it is a file
    threads: 1, cacheJobs: false, kernels: state.wasm ? 'wasm' : 'js',
  }, (p) => {
    words = p.words;
    progress({ kind: 'word2vec', words: p.words, totalWords: p.totalWords, wordsPerSec: p.words / ((performance.now() - start) / 1000), loss: p.loss });
  });
  state.vectors = model.toVectors();
  const seconds = (performance.now() - start) / 1000;
  return { vocabulary: state.vectors.size, seconds, wordsPerSec: words / seconds, words };
}

function vectors(): M.WordVectors {
  return need(state.vectors, 'no word vectors yet: train word2vec first');
}

function project({ words }: Requests['project']['args']): Requests['project']['result'] {
  const v = vectors();
  const known = words.filter((w) => v.has(w));
  const { points, explained } = pca2(known.map((w) => v.get(w)));
  return { words: known, points, explained, missing: words.filter((w) => !v.has(w)) };
}

async function gptTrain(s: GptSettings): Promise<Requests['gptTrain']['result']> {
  corpusNeeded();
  progress({ kind: 'status', text: s.tokenizer === 'bpe' ? `training a ${s.vocabSize}-token byte-level BPE tokenizer` : 'counting characters' });
  const codec = s.tokenizer === 'bpe'
    ? tokenizerCodec(await text.trainBpe(state.corpus.split('\n'), { vocabSize: s.vocabSize }))
    : charCodec(text.CharVocab.fromText(state.corpus));
  const split = D.splitTokens(Int32Array.from(codec.encode(state.corpus)));
  if (split.val.length <= s.block) throw new Error(`the corpus gives ${split.train.length + split.val.length} tokens: too few for blocks of ${s.block} (the held-out 10% needs more than one)`);
  const model = new M.GPT(M.gptConfig({ vocab_size: codec.size, n_positions: s.block, n_embd: s.dim, n_layer: s.layers, n_head: s.heads,
    resid_pdrop: 0, embd_pdrop: 0, attn_pdrop: 0, bos_token_id: 0, eos_token_id: 0 }, 'GPT settings'));
  state.gpt = { model, codec };
  const task = new tasks.GPTPretrainTask(model, split, { batchSize: s.batch, blockSize: s.block, evalBatches: 4 });
  // nanoGPT's recipe, with a warmup that fits a short run
  const config = tasks.trainConfig(tasks.GPT_PRETRAIN, { maxSteps: s.steps, lr: s.lr, warmupSteps: Math.min(100, Math.floor(s.steps / 10)), evalEvery: 0, logEvery: 1, checkpointEvery: 0 });
  return trainUntilStopped(task, config, (p) => progress({ kind: 'gpt', step: p.step, maxSteps: p.maxSteps, loss: p.record.loss!, tokensPerSec: p.record.tokensPerSec!, valLoss: p.eval?.val_loss }))
    .then((r) => ({ steps: r.steps, seconds: r.seconds, tokensPerSec: r.tokensPerSec, valLoss: r.eval.val_loss ?? NaN, stopped: r.stopped }));
}

/** Runs the shared training loop, ending it early (with the model as it is) when the page asks. */
async function trainUntilStopped(task: tasks.TrainTask, config: tasks.TrainConfig, report: (p: tasks.Progress) => void):
  Promise<{ steps: number; seconds: number; tokensPerSec: number; eval: Record<string, number>; stopped: boolean }> {
  stopRequested = false;
  const start = performance.now();
  let steps = 0;
  const rates: number[] = [];
  // the steady rate: every logged step's but the first (which compiles kernels and warms the JIT)
  const rate = () => (rates.length > 1 ? rates.slice(1) : rates).reduce((s, r) => s + r, 0) / Math.max(1, rates.length > 1 ? rates.length - 1 : rates.length);
  try {
    const r = await tasks.train(task, config, {
      onProgress: (p) => {
        steps = p.step;
        rates.push(p.record.tokensPerSec ?? 0);
        report(p);
        if (stopRequested) throw new Stopped();
      },
    });
    return { steps: r.steps, seconds: r.wallSeconds, tokensPerSec: rate(), eval: r.eval, stopped: false };
  } catch (err) {
    if (!(err instanceof Stopped)) throw err;
    return { steps, seconds: (performance.now() - start) / 1000, tokensPerSec: rate(), eval: {}, stopped: true };
  }
}

function gpt(): { model: M.GPT; codec: Codec } {
  return need(state.gpt, 'no GPT yet: train one on the GPT page');
}

async function gptSample(a: Requests['gptSample']['args']): Promise<Requests['gptSample']['result']> {
  const { model, codec } = gpt();
  const ids = await tasks.generate(model, codec.encode(a.prompt), { maxNewTokens: a.maxNewTokens, temperature: a.temperature, topK: a.topK, generator: new T.Generator(a.seed) });
  return { text: codec.decode(ids) };
}

async function gptAttention({ prompt, layer }: Requests['gptAttention']['args']): Promise<Requests['gptAttention']['result']> {
  const { model, codec } = gpt();
  const ids = codec.encode(prompt).slice(-model.config.n_positions);
  if (ids.length === 0) throw new Error('the prompt gives no tokens');
  const weights = await attentionWeights(model, ids);
  const l = Math.min(Math.max(0, layer), weights.length - 1);
  return { tokens: ids.map((id) => codec.decode([id])), heads: weights[l]!.map((w) => Array.from({ length: ids.length }, (_, i) => Array.from(w.subarray(i * ids.length, (i + 1) * ids.length)))), layers: weights.length };
}

function bertLoad(f: HfFiles): Requests['bertLoad']['result'] {
  const json = (source: string, file: string) => {
    try {
      return JSON.parse(source) as Record<string, unknown>;
    } catch (err) {
      throw new Error(`${f.where}/${file}: invalid JSON: ${(err as Error).message}`);
    }
  };
  const model = M.modelFromConfig(json(f.config, 'config.json'), {}, `${f.where}/config.json`);
  if (!(model instanceof M.BertForPreTraining || model instanceof M.BertForMaskedLM)) {
    throw new Error(`${f.where}/config.json: ${model.constructor.name} has no masked-LM head; fill-mask needs BertForMaskedLM or BertForPreTraining`);
  }
  const weights = io.parseSafetensors(new Uint8Array(f.weights), `${f.where}/model.safetensors`);
  const report = M.loadTensors(model, weights.tensors, `${f.where}/model.safetensors`);
  model.eval();
  const tokenizer = text.Tokenizer.fromJSON(json(f.tokenizer, 'tokenizer.json') as unknown as text.TokenizerJson);
  state.bert = { model, tokenizer, name: f.where };
  return { where: f.where, parameters: model.numParameters(), vocabulary: tokenizer.vocabSize, architecture: report.architecture };
}

async function bertTrain(s: BertSettings): Promise<Requests['bertTrain']['result']> {
  corpusNeeded();
  progress({ kind: 'status', text: `training a ${s.vocabSize}-token WordPiece tokenizer` });
  const tokenizer = await text.trainWordPiece(state.corpus.split('\n'), { vocabSize: s.vocabSize });
  const enc = D.encoderFromTokenizer(tokenizer);
  // documents: the corpus's paragraphs (blank-line separated), each split into sentences
  const paragraphs = state.corpus.split(/\n\s*\n/).map((p) => text.splitSentences(p.replace(/\s+/g, ' '))).filter((p) => p.length > 0);
  progress({ kind: 'status', text: `making masked-LM examples from ${paragraphs.length} paragraphs` });
  const documents = await D.tokenizeDocuments(paragraphs, enc);
  const opts = { ...D.BERT_DATA_DEFAULTS, maxSeqLength: s.seqLength, dupeFactor: 2 };
  const instances = [...D.createTrainingInstances(documents, D.bertVocab(enc), opts)];
  if (instances.length === 0) throw new Error('the corpus gives no BERT examples (it needs sentences with words)');
  const batch = D.instancesToBatch(instances, s.seqLength, opts.maxPredictionsPerSeq, need(tokenizer.tokenToId('[PAD]'), 'the tokenizer has no [PAD]'));
  const model = new M.BertForPreTraining(M.bertConfig({ vocab_size: tokenizer.vocabSize, hidden_size: s.dim, num_hidden_layers: s.layers, num_attention_heads: s.heads,
    intermediate_size: 4 * s.dim, max_position_embeddings: s.seqLength }, 'BERT settings'));
  state.bert = { model, tokenizer, name: 'trained in the page' };
  const task = new tasks.BertPretrainTask(model, new D.MemoryBertSource(batch), { batchSize: s.batch });
  const config = tasks.trainConfig(tasks.BERT_PRETRAIN, { maxSteps: s.steps, lr: s.lr, warmupSteps: Math.min(100, Math.floor(s.steps / 10)), evalEvery: 0, logEvery: 1, checkpointEvery: 0 });
  let last = NaN;
  const r = await trainUntilStopped(task, config, (p) => { last = p.record.loss!; progress({ kind: 'bert', step: p.step, maxSteps: p.maxSteps, loss: last }); });
  model.eval();
  return { steps: r.steps, seconds: r.seconds, mlmLoss: last };
}

async function fillMask({ text: input, topK }: Requests['fillMask']['args']): Promise<Requests['fillMask']['result']> {
  const bert = need(state.bert, 'no BERT yet: load the bundled one, pick a model directory, or train one');
  const rows = await tasks.fillMask(bert.model, bert.tokenizer, input, topK);
  return rows.map((row) => row.map(({ token, score }) => ({ token, score })));
}

/** The word's index among the sentence's words (as the encoder splits them), or an error naming the sentence. */
function wordIndex(words: readonly string[], word: string, sentence: string): number {
  const clean = (w: string) => w.toLowerCase().replace(/^\W+|\W+$/g, '');
  const i = words.findIndex((w) => clean(w) === clean(word));
  if (i < 0) throw new Error(`"${word}" is not a word of "${sentence}"`);
  return i;
}

async function polysemy({ model, a, b, word }: Requests['polysemy']['args']): Promise<PolysemyAnswer> {
  const encoder = polysemyEncoder(model, word);
  const split = (s: string) => (encoder.splitText ? encoder.splitText(s) : s.split(/\s+/).filter((w) => w !== ''));
  const wa = split(a), wb = split(b);
  const ia = wordIndex(wa, word, a), ib = wordIndex(wb, word, b);
  const f = await tasks.probes.spanFeatures(encoder, [{ words: wa, spans: [[ia, ia + 1]] }, { words: wb, spans: [[ib, ib + 1]] }]);
  const H = f.hiddenSize;
  const layers = f.layers.map((l) => cosine(l.subarray(0, H), l.subarray(H, 2 * H)));
  const { inputs } = encoder.tokenize([{ words: [wa[ia]!] }, { words: [wb[ib]!] }]);
  const names = (ids: readonly number[]) => ids.map((id) => encoder instanceof tasks.transfer.StaticEncoder ? wa[ia]! : (state.bert?.tokenizer ?? state.gpt?.codec.tokenizer)?.idToToken(id) ?? String(id));
  return { model, layers, tokensA: names(inputs[0]!.ids), tokensB: names(inputs[1]!.ids) };
}

function polysemyEncoder(model: ModelChoice, word: string): tasks.transfer.Encoder {
  if (model === 'word2vec') {
    // an unknown word would get a zero vector, and a cosine of 0 that says nothing about static vectors
    if (!vectors().has(word.toLowerCase())) throw new Error(`"${word}" is not in word2vec's vocabulary (words seen fewer times than min count are dropped)`);
    return new tasks.transfer.StaticEncoder(vectors());
  }
  if (model === 'bert') {
    const bert = need(state.bert, 'no BERT yet: load or train one on the BERT page');
    return new tasks.transfer.BertEncoder(bert.model.bert, bert.tokenizer);
  }
  const g = gpt();
  if (!g.codec.tokenizer) throw new Error('a character-level GPT has no words to compare: train the GPT with the BPE tokenizer');
  return new tasks.transfer.GPT2Encoder(g.model.transformer, g.codec.tokenizer);
}

function cosine(x: Float32Array, y: Float32Array): number {
  let xy = 0, xx = 0, yy = 0;
  for (let k = 0; k < x.length; k++) { xy += x[k]! * y[k]!; xx += x[k]! * x[k]!; yy += y[k]! * y[k]!; }
  return xx === 0 || yy === 0 ? 0 : xy / Math.sqrt(xx * yy);
}

/** The model as a Hugging Face directory (config.json, model.safetensors, its tokenizer) in a zip. */
async function checkpoint({ model: which }: Requests['checkpoint']['args']): Promise<Requests['checkpoint']['result']> {
  const entry = which === 'gpt'
    ? { model: gpt().model, name: 'gpt-playground', extra: gpt().codec.files() }
    : (() => {
      const bert = need(state.bert, 'no BERT yet: load or train one on the BERT page');
      return { model: bert.model, name: 'bert-playground', extra: { 'tokenizer.json': `${JSON.stringify(bert.tokenizer.toJSON(), null, 2)}\n` } };
    })();
  const tensors = new Map<string, io.SafetensorsTensor>();
  for (const [name, p] of entry.model.namedParameters()) tensors.set(name, { dtype: 'F32', shape: [...p.shape], data: (await p.data()) as Float32Array });
  const files: Record<string, Uint8Array> = {
    [`${entry.name}/config.json`]: strToU8(`${JSON.stringify(M.configJson(entry.model), null, 2)}\n`),
    [`${entry.name}/model.safetensors`]: io.serializeSafetensors(tensors, { format: 'pt' }),
  };
  for (const [file, content] of Object.entries(entry.extra)) files[`${entry.name}/${file}`] = strToU8(content);
  // safetensors barely compress; level 1 keeps a large model's zip fast
  return { name: `${entry.name}.zip`, zip: zipSync(files, { level: 1 }) };
}

const handlers: { [K in RequestName]: (args: Requests[K]['args']) => Requests[K]['result'] | Promise<Requests[K]['result']> } = {
  init, corpus: setCorpus, word2vecTrain, project, gptTrain, gptSample, gptAttention, bertLoad, bertTrain, fillMask, polysemy, checkpoint,
  neighbours: ({ word, topn }) => vectors().mostSimilar({ positive: [word], topn }),
  analogy: ({ a, b, c, topn }) => vectors().analogy(a, b, c, { topn }),
  stop: () => { stopRequested = true; return null; },
};

let queue: Promise<unknown> = Promise.resolve();
self.onmessage = ({ data }: MessageEvent<RequestMessage>) => {
  const run = async () => {
    try {
      const result = await (handlers[data.name] as (a: unknown) => unknown)(data.args);
      post({ id: data.id, result }, result && typeof result === 'object' && 'zip' in result ? [(result as { zip: Uint8Array }).zip.buffer as ArrayBuffer] : []);
    } catch (err) {
      post({ id: data.id, error: err instanceof Error ? err.message : String(err) });
    }
  };
  // stop must reach a running training loop, so it does not wait its turn
  if (data.name === 'stop') void run();
  else queue = queue.then(run);
};

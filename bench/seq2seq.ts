// `npm run bench -- seq2seq`: generation, measured. Written to bench/results/seq2seq.json.
//
// Speed (--part speed): training steps of our encoder-decoder (BERT-shaped sides from scratch: 3 + 3 layers, d 256,
// 4 heads, FFN 1024, vocabulary 8000 a side) next to torch.nn.Transformer of the same shape (bench/peers/
// torch_seq2seq.py: embeddings, positions, the Transformer, a tied output layer), both on random batches of 32 pairs
// with rows of random lengths (source up to 20 tokens, target up to 22) and AdamW with clipping; target tokens/s.
// Then decoding: sentences of the Multi30k validation set translated with beam 4 and greedily by the model the
// quality part trained from scratch on 1,000 pairs (output tokens/s; no peer).
//
// Quality (--part quality): Multi30k English→German, trained on the first --sizes pairs of train and scored on val
// (1,014 pairs; test2016 is kept back from ../shared/data) by BLEU and chrF (sacrebleu's semantics) of beam-4
// translations, through `pretrain seq2seq train`, with
//   scratch       a BERT-shaped encoder-decoder from random weights (cased WordPiece 8,000 per side, trained here);
//   bert-encoder  the encoder warm-started from our BERT pretrained on Gutenberg (its uncased WordPiece reads the
//                 English), the decoder from scratch, both the BERT's shape;
//   bert2gpt2     the scratch encoder with a GPT-2 (pre-LN) decoder from scratch;
//   gpt           GPT alone on "source [SEP] target" (one WordPiece over both sides), loss on the target only;
// all of the BERT's shape (4 layers, d 128, 4 heads, FFN 512). Each run is one `pretrain` process kept near 10
// minutes on 2 cores by its step budget: --steps-1000 steps at 1,000 pairs (about 10 epochs), --steps-29000 at 29,000
// (about half an epoch: a short budget, far from convergence). The BERT is made here (a WordPiece, BERT
// shards and --bert-steps steps on the first --mb MB of Gutenberg) unless --bert gives a model directory, and runs
// are cached in bench/cache/seq2seq under a key of their settings.
//
// Poetry (--part poetry), the essay's 写诗: a character GPT pretrained on chinese-poetry-tang (10,008 poems of 全唐诗,
// traditional characters) as `title：poem` lines, then asked for poems under held-out titles (the last --poems of the
// corpus, left out of training), each under one of the four forms of 絕句 and 律詩 (5 or 7 characters a line, 4 or 8
// lines, `，` and `。` alternating), by top-k 40 sampling: the share that keeps the form asked, and the share that
// keeps any of the four, without constraint and with constrained decoding (prefixAllowedTokens: characters until the
// line is full, then its punctuation, then the end).
//
//   npm run bench -- seq2seq [--part speed|quality|all] [--configs scratch,bert-encoder,bert2gpt2,gpt] [--sizes 1000,29000]
//                            [--steps-1000 300] [--steps-29000 450] [--bert DIR] [--bert-steps 600] [--mb 4]
//                            [--poetry-steps 800] [--poems 64]
import { copyFileSync, existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { gunzipSync } from 'node:zlib';
import { bertConfig } from '../src/models/bert.js';
import { GPT } from '../src/models/gpt.js';
import { loadPretrained } from '../src/models/pretrained.js';
import { CharVocab } from '../src/text/char-vocab.js';
import { EncoderDecoderModel, encoderDecoderConfig } from '../src/models/encoder-decoder.js';
import { AdamW, clipGradNorm } from '../src/optim/index.js';
import * as T from '../src/tensor/index.js';
import { generateSequences, gptConditionalGenerator } from '../src/tasks/seq2seq-generate.js';
import { Seq2Seq, readParallelCorpus } from '../src/tasks/seq2seq.js';
import { cachedDir, pretrain } from './cli-runs.js';
import { SHARED_DATA, runPython } from './peer.js';
import { medianStepMs } from './steps.js';
import { figure, throughput, writeResults, type BenchRow } from './results.js';

const HERE = fileURLToPath(new URL('.', import.meta.url));
const CACHE = process.env.PRETRAIN_BENCH_CACHE ?? join(HERE, 'cache', 'seq2seq');
const MULTI30K = join(SHARED_DATA, 'multi30k-en-de');
const BOOKS = join(SHARED_DATA, 'gutenberg', 'books');
const RESULTS = join(HERE, 'results', 'seq2seq.json');

function flag(args: string[], name: string, fallback: string): string {
  const i = args.indexOf(`--${name}`);
  return i >= 0 && args[i + 1] !== undefined ? args[i + 1]! : fallback;
}

// ---- speed ----

/** The speed workload's shape (the peer takes the same flags). */
const SPEED = { layers: 3, dim: 256, heads: 4, ffn: 1024, vocab: 8000, positions: 128, src: 20, tgt: 22, batch: 32 };

/** Random ids [B, L] with rows of lengths in [L/2, L], padded, and the mask; as the peer draws them. */
function rows(rng: T.Generator, B: number, L: number) {
  const ids = Int32Array.from({ length: B * L }, () => Math.floor(rng.random() * SPEED.vocab));
  const mask = new Float32Array(B * L);
  for (let b = 0; b < B; b++) mask.fill(1, b * L, b * L + L / 2 + Math.floor(rng.random() * (L / 2 + 1)));
  return { ids, mask };
}

/** Target tokens/s of our training steps on the speed workload. */
async function oursTraining(steps: number): Promise<{ tokensPerSec: number; msPerStep: number }> {
  T.manualSeed(0);
  const side = { model_type: 'bert' as const, ...bertConfig({ vocab_size: SPEED.vocab, hidden_size: SPEED.dim, num_hidden_layers: SPEED.layers, num_attention_heads: SPEED.heads,
    intermediate_size: SPEED.ffn, max_position_embeddings: SPEED.positions }) };
  const model = new EncoderDecoderModel(encoderDecoderConfig({ encoder: side, decoder: side, decoder_start_token_id: 2, pad_token_id: 0 })).train();
  const opt = new AdamW(model.parameters(), { lr: 5e-4, betas: [0.9, 0.98], weightDecay: 0.01 });
  const rng = new T.Generator(1);
  let tokens = 0, counted = 0;
  const ms = await medianStepMs(async () => {
    const B = SPEED.batch, s = rows(rng, B, SPEED.src), t = rows(rng, B, SPEED.tgt);
    const labels = Int32Array.from(t.ids, (v, i) => (t.mask[i] ? v : -100));
    tokens += t.mask.reduce((a, b) => a + b, 0);
    counted++;
    const { loss } = model.forward({
      inputIds: T.fromArray(s.ids, [B, SPEED.src], { dtype: 'int32' }), attentionMask: T.fromArray(s.mask, [B, SPEED.src]),
      decoderInputIds: T.fromArray(t.ids, [B, SPEED.tgt], { dtype: 'int32' }), decoderAttentionMask: T.fromArray(t.mask, [B, SPEED.tgt]),
      labels: T.fromArray(labels, [B, SPEED.tgt], { dtype: 'int32' }),
    });
    opt.zeroGrad(); loss!.backward(); clipGradNorm(model.parameters(), 1); opt.step();
    await loss!.item();
  }, steps, 2);
  return { tokensPerSec: (tokens / counted) / (ms / 1000), msPerStep: ms };
}

async function trainingSpeed(steps: number): Promise<BenchRow[]> {
  const ours = await oursTraining(steps);
  const flags = Object.entries(SPEED).flatMap(([k, v]) => [`--${k}`, String(v)]);
  const peer = runPython(join(HERE, 'peers', 'torch_seq2seq.py'), [...flags, '--steps', String(steps)])?.[0];
  const name = peer ? `torch.nn.Transformer, torch-cpu ${String(peer.torch)} (2 threads)` : null;
  return [
    throughput('encoder-decoder-train-3x3-d256', ours.tokensPerSec, 'target tokens/s', name, (peer?.tokens_per_s as number | undefined) ?? null),
    figure('encoder-decoder-train-3x3-d256-step', ours.msPerStep, 'ms', name, (peer?.ms_per_step as number | undefined) ?? null),
  ];
}

/** Output tokens/s of translating Multi30k validation sentences with a trained model, by beam 4 and greedily. */
async function decodingSpeed(modelDir: string, sentences: number): Promise<BenchRow[]> {
  const seq2seq = await Seq2Seq.load(modelDir);
  const val = await readParallelCorpus(join(MULTI30K, 'val.en.gz'), join(MULTI30K, 'val.de.gz'));
  const sources = val.pairs.slice(0, sentences).map((p) => seq2seq.encodeSource(p.source));
  const rows: BenchRow[] = [];
  for (const beams of [4, 1]) {
    const t = performance.now();
    const out = await generateSequences(seq2seq.generator(), sources, { numBeams: beams, maxNewTokens: 64, batchSize: 32 });
    const sec = (performance.now() - t) / 1000;
    const tokens = out.reduce((n, r) => n + r.tokens.length + (r.finished ? 1 : 0), 0);
    rows.push(throughput(`multi30k-decode-${beams > 1 ? `beam${beams}` : 'greedy'}`, tokens / sec, 'output tokens/s'));
    rows.push(throughput(`multi30k-decode-${beams > 1 ? `beam${beams}` : 'greedy'}-sentences`, sources.length / sec, 'sentences/s'));
  }
  return rows;
}

// ---- quality ----

/** The shape every quality configuration shares: the pretrained BERT's. */
const SHAPE = { layers: 4, dim: 128, heads: 4, ffn: 512, vocab: 8000 };

/** A quality configuration's `pretrain seq2seq train` flags (the BERT's directory for the warm-started one). */
function configFlags(config: string, bert: string): string[] {
  const shape = ['--layers', String(SHAPE.layers), '--dim', String(SHAPE.dim), '--heads', String(SHAPE.heads), '--ffn', String(SHAPE.ffn), '--vocab-size', String(SHAPE.vocab)];
  switch (config) {
    case 'scratch': return shape;
    case 'bert-encoder': return [...shape, '--encoder', bert];
    case 'bert2gpt2': return [...shape, '--decoder-type', 'gpt2'];
    case 'gpt': return [...shape, '--model', 'gpt', '--positions', '160'];
    default: throw new Error(`bench seq2seq: unknown config '${config}' (scratch, bert-encoder, bert2gpt2, gpt)`);
  }
}

/**
 * Our BERT pretrained on the first `mb` MB of Gutenberg, by bench probes' recipe (cached): at GPT's peak rate 1e-3,
 * since at BERT's usual 1e-4 a 600-step run stays near the unigram loss.
 */
async function gutenbergBert(mb: number, steps: number): Promise<string> {
  const dir = await cachedDir(CACHE, 'bert', { ...SHAPE, mb, steps, seq: 64, batch: 32, lr: 1e-3, warmup: 60 }, (d) => {
    const books = join(d, 'books');
    mkdirSync(books);
    let bytes = 0;
    for (const name of readdirSync(BOOKS).filter((f) => f.endsWith('.txt.gz')).sort()) {
      if (bytes >= mb * 1e6) break;
      copyFileSync(join(BOOKS, name), join(books, name));
      bytes += gunzipSync(readFileSync(join(BOOKS, name))).length;
    }
    pretrain(['tokenizer', 'train', '--type', 'wordpiece', '--input', books, '--vocab-size', String(SHAPE.vocab), '--out', join(d, 'tokenizer.json')]);
    pretrain(['data', 'bert', '--tokenizer', join(d, 'tokenizer.json'), '--input', books, '--layout', 'prose', '--dupe-factor', '1', '--max-seq-length', '64', '--out', join(d, 'shards')]);
    pretrain(['bert', 'train', '--data', join(d, 'shards'), '--tokenizer', join(d, 'tokenizer.json'), '--steps', String(steps), '--layers', String(SHAPE.layers),
      '--hidden', String(SHAPE.dim), '--heads', String(SHAPE.heads), '--intermediate', String(SHAPE.ffn), '--batch', '32', '--lr', '1e-3', '--warmup', '60',
      '--eval-every', '0', '--out', join(d, 'run')]);
  });
  return join(dir, 'run', 'checkpoint');
}

/** One training run's scores on val (cached under its settings). */
async function qualityRun(config: string, size: number, steps: number, bert: string): Promise<{ dir: string; summary: Record<string, unknown> }> {
  // a short run: the peak rate reached early and held longer than the recipe's 200-step warmup allows
  const flags = [...configFlags(config, bert), '--max-pairs', String(size), '--steps', String(steps), '--lr', '1e-3', '--warmup', '30', '--batch', '32', '--eval-every', '0', '--eval-pairs', '1014',
    '--eval-beams', '4', '--beams', '4', '--samples', '3', '--seed', '1', '--truncate'];
  let summary: Record<string, unknown> = {};
  const dir = await cachedDir(CACHE, `${config}-${size}`, { flags, bert: config === 'bert-encoder' ? bert : null }, async (d) => {
    summary = pretrain(['seq2seq', 'train', '--data', MULTI30K, ...flags, '--out', join(d, 'run')]);
    writeFileSync(join(d, 'summary.json'), JSON.stringify(summary));
  });
  if (Object.keys(summary).length === 0) summary = JSON.parse(readFileSync(join(dir, 'summary.json'), 'utf8')) as Record<string, unknown>;
  return { dir, summary };
}

async function quality(args: string[]): Promise<{ rows: BenchRow[]; scratchDir?: string }> {
  const configs = flag(args, 'configs', 'scratch,bert-encoder,bert2gpt2,gpt').split(',');
  const sizes = flag(args, 'sizes', '1000,29000').split(',').map(Number);
  const bert = configs.includes('bert-encoder') ? (args.includes('--bert') ? flag(args, 'bert', '') : await gutenbergBert(Number(flag(args, 'mb', '4')), Number(flag(args, 'bert-steps', '600')))) : '';
  const rows: BenchRow[] = [];
  let scratchDir: string | undefined;
  for (const size of sizes) {
    const steps = Number(flag(args, `steps-${size}`, size >= 29000 ? '450' : '300'));
    for (const config of configs) {
      const { dir, summary } = await qualityRun(config, size, steps, bert);
      if (config === 'scratch' && size === Math.min(...sizes)) scratchDir = join(dir, 'run', 'best');
      const name = `multi30k-val-${config}-${size}`;
      rows.push(figure(`${name}-bleu-beam4`, summary.bleu as number, 'BLEU'));
      rows.push(figure(`${name}-chrf-beam4`, summary.chrf as number, 'chrF2'));
      rows.push(figure(`${name}-val-perplexity`, summary.perplexity as number, 'perplexity'));
      rows.push(figure(`${name}-train-minutes`, (summary.wall_seconds as number) / 60, 'minutes', `${steps} steps of 32 pairs`, null));
      if (summary.truncated_pairs) rows.push(figure(`${name}-truncated-pairs`, summary.truncated_pairs as number, 'pairs'));
      console.error(`${name}: BLEU ${(summary.bleu as number).toFixed(2)}, chrF ${(summary.chrf as number).toFixed(2)} (beam 4)`);
    }
  }
  return { rows, scratchDir };
}

// ---- poetry ----

const TANG = join(SHARED_DATA, 'chinese-poetry-tang');
/** The forms asked for: 五言絕句, 七言絕句, 五言律詩, 七言律詩 (characters a line, lines). */
const FORMS = [[5, 4], [7, 4], [5, 8], [7, 8]] as const;

/** The staged 全唐诗 poems as `title：body` lines, body the paragraphs joined, kept when written in characters, ， and 。 only. */
function tangPoems(): string[] {
  const out: string[] = [];
  for (const file of readdirSync(TANG).filter((f) => /^poet\.tang\.\d+\.json$/.test(f)).sort((a, b) => Number(a.split('.')[2]) - Number(b.split('.')[2]))) {
    for (const p of JSON.parse(readFileSync(join(TANG, file), 'utf8')) as { title: string; paragraphs: string[] }[]) {
      const title = p.title.replace(/\s+/g, ''), body = p.paragraphs.join('');
      if (title && /^[\p{Script=Han}，。]+$/u.test(body) && /^\p{Script=Han}+$/u.test(title)) out.push(`${title}：${body}`);
    }
  }
  return out;
}

/** The form a poem's body keeps, [characters a line, lines], if it is one of FORMS with ， and 。 alternating; else null. */
export function poemForm(body: string): readonly [number, number] | null {
  const lines = body.match(/\p{Script=Han}+[，。]/gu) ?? [];
  if (lines.join('') !== body || lines.length === 0) return null;
  const n = lines[0]!.length - 1;
  const ok = lines.every((l, i) => l.length === n + 1 && l.endsWith(i % 2 === 0 ? '，' : '。'));
  return ok ? FORMS.find(([c, k]) => c === n && k === lines.length) ?? null : null;
}

async function poetry(args: string[]): Promise<BenchRow[]> {
  if (!existsSync(TANG)) throw new Error(`bench seq2seq --part poetry needs ${TANG}`);
  const steps = Number(flag(args, 'poetry-steps', '800')), held = Number(flag(args, 'poems', '64'));
  const poems = tangPoems();
  const train = poems.slice(0, -held), test = poems.slice(-held);
  const dir = await cachedDir(CACHE, 'tang-gpt', { steps, held, poems: poems.length, layers: 4, dim: 128, block: 96 }, (d) => {
    writeFileSync(join(d, 'poems.txt'), `${train.join('\n')}\n`);
    pretrain(['gpt', 'train', '--corpus', join(d, 'poems.txt'), '--layers', '4', '--dim', '128', '--heads', '4', '--block', '96', '--batch', '16',
      '--dropout', '0.1', '--steps', String(steps), '--eval-every', '0', '--out', join(d, 'run')]);
  });
  const checkpoint = join(dir, 'run', 'checkpoint');
  const gpt = (await loadPretrained(checkpoint)).model as GPT;
  const vocab = await CharVocab.load(join(checkpoint, 'char_vocab.json'));
  const id = (c: string) => vocab.encode(c)[0]!;
  const [comma, stop, eos] = [id('，'), id('。'), id('\n')];
  const han = vocab.chars.map((c, i) => [c, i] as const).filter(([c]) => /^\p{Script=Han}$/u.test(c)).map(([, i]) => i);
  // titles the model never saw, each character in its vocabulary
  const titles = test.map((p) => p.split('：')[0]!).filter((t) => [...t].length <= 20 && [...t].every((c) => vocab.chars.includes(c)));
  const sources = titles.map((t) => Array.from(vocab.encode(t)));
  const asked = sources.map((_, i) => FORMS[i % FORMS.length]!);
  /** Characters until the line is full, then its punctuation (， then 。), then the end after the last line. */
  const allowed = (i: number, seq: readonly number[]) => {
    const [chars, lines] = asked[i]!;
    const body = seq.slice(sources[i]!.length + 1);
    const done = body.filter((t) => t === comma || t === stop).length;
    if (done === lines) return [eos];
    const last = Math.max(body.lastIndexOf(comma), body.lastIndexOf(stop));
    return body.length - last - 1 < chars ? han : [done % 2 === 0 ? comma : stop];
  };
  const generator = gptConditionalGenerator(gpt, { sep: id('：'), eos });
  const rows: BenchRow[] = [];
  for (const constrained of [false, true]) {
    const out = await generateSequences(generator, sources, { doSample: true, topK: 40, maxNewTokens: 70, generator: new T.Generator(7), ...(constrained ? { prefixAllowedTokens: allowed } : {}) });
    const bodies = out.map((r) => vocab.decode(r.tokens));
    const forms = bodies.map(poemForm);
    const kept = forms.filter((f, i) => f === asked[i]).length, any = forms.filter((f) => f !== null).length;
    const tag = constrained ? 'constrained' : 'unconstrained';
    rows.push(figure(`tang-poems-form-asked-${tag}`, (100 * kept) / bodies.length, '% of poems', `${bodies.length} held-out titles`, null));
    rows.push(figure(`tang-poems-any-form-${tag}`, (100 * any) / bodies.length, '% of poems', `${bodies.length} held-out titles`, null));
    console.error(`${tag}: ${kept}/${bodies.length} keep the form asked, ${any} one of the four; e.g.\n${bodies.slice(0, 4).map((b, i) => `  ${titles[i]}（${asked[i]!.join('×')}）：${b}`).join('\n')}`);
  }
  const share = train.map((p) => poemForm(p.split('：')[1]!)).filter((f) => f !== null).length / train.length;
  rows.push(figure('tang-poems-training-form-share', 100 * share, '% of training poems', `${train.length} poems`, null));
  return rows;
}

export default async function seq2seq(args: string[]): Promise<void> {
  if (!existsSync(MULTI30K)) throw new Error(`bench seq2seq needs ${MULTI30K} (the shared data folder beside the project)`);
  const part = flag(args, 'part', 'all');
  const rows: BenchRow[] = [];
  if (part === 'speed' || part === 'all') rows.push(...await trainingSpeed(Number(flag(args, 'steps', '8'))));
  if (part === 'poetry' || part === 'all') rows.push(...await poetry(args));
  if (part === 'quality' || part === 'all' || part === 'speed') {
    // decoding speed is measured on the scratch model the quality part trains (cached after its first run)
    const q = await quality(part === 'speed' ? ['--configs', 'scratch', '--sizes', '1000', ...args] : args);
    if (part !== 'speed') rows.push(...q.rows);
    if (q.scratchDir && part !== 'quality') rows.push(...await decodingSpeed(q.scratchDir, Number(flag(args, 'decode-sentences', '200'))));
  }
  console.table(rows.map((r) => ({ name: r.name, value: r.value, unit: r.unit, peer: r.peer_value, ratio: r.ratio })));
  // a run of one part keeps the other parts' rows
  const previous = part === 'all' || !existsSync(RESULTS) ? [] : (JSON.parse(readFileSync(RESULTS, 'utf8')) as { results: BenchRow[] }).results;
  const names = new Set(rows.map((r) => r.name));
  console.error(`wrote ${writeResults('seq2seq', [...previous.filter((r) => !names.has(r.name)), ...rows])}`);
}

// `pretrain gpt`: train a GPT from scratch on a corpus, generate text, and measure perplexity.
import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { Command } from '@commander-js/extra-typings';
import { splitTokens } from '../data/lm.js';
import { readManifest, readShards } from '../data/shards.js';
import { GPT, gptConfig } from '../models/gpt.js';
import { generate } from '../tasks/generate.js';
import { GPT_PRETRAIN, GPTPretrainTask } from '../tasks/gpt-pretrain.js';
import { gptPerplexity } from '../tasks/perplexity.js';
import { manualSeed } from '../tensor/random.js';
import { CharVocab } from '../text/char-vocab.js';
import { Corpus, type CorpusStats } from '../text/corpus.js';
import { Tokenizer } from '../text/tokenizer.js';
import { asset } from './assets.js';
import { loadModel } from './load.js';
import { printSummary, runTraining, trainConfigFromOptions, trainingCommand, useBackend } from './train-options.js';
import { formatNumber, parse, table, warnInvalidUtf8 } from './ui.js';

const CHAR_VOCAB_FILE = 'char_vocab.json';
/** The corpus used when none is given, so that `pretrain gpt train` works with no arguments. */
export const DEFAULT_CORPUS = asset('tiny-shakespeare-200k.txt');

const positive = parse.positiveInt;

/** Text to ids and back: a character vocabulary or a tokenizer (tokenizer.json, vocab.json + merges.txt, vocab.txt). */
interface Codec {
  size: number;
  encode(text: string): number[];
  decode(ids: readonly number[]): string;
  save(dir: string): Promise<void>;
}

function charCodec(vocab: CharVocab): Codec {
  return { size: vocab.size, encode: (t) => Array.from(vocab.encode(t)), decode: (ids) => vocab.decode(ids), save: (dir) => vocab.save(join(dir, CHAR_VOCAB_FILE)) };
}

/** A tokenizer as a codec: no special tokens, truncation or padding (the LM sees plain text). */
function tokenizerCodec(tok: Tokenizer): Codec {
  tok.truncation = null;
  tok.padding = null;
  return {
    size: tok.vocabSize,
    encode: (t) => tok.encode(t, null, { addSpecialTokens: false }).ids,
    decode: (ids) => tok.decode([...ids], false),
    save: async (dir) => tok.save(join(dir, 'tokenizer.json')),
  };
}

/** The codec saved beside a model: tokenizer.json, else char_vocab.json. */
async function loadCodec(dir: string): Promise<Codec> {
  if (existsSync(join(dir, 'tokenizer.json'))) return tokenizerCodec(Tokenizer.fromFile(join(dir, 'tokenizer.json')));
  try {
    return charCodec(await CharVocab.load(join(dir, CHAR_VOCAB_FILE)));
  } catch (err) {
    throw new Error(`${dir}: no tokenizer.json and no usable ${CHAR_VOCAB_FILE} (${(err as Error).message})`);
  }
}

/**
 * The text of a corpus (files, folders, .gz) through the shared reader, its lines joined by line breaks; invalid UTF-8
 * is replaced, counted and reported. A folder of shards from `pretrain data` is refused with a pointer to --data.
 */
async function corpusText(path: string): Promise<{ text: string; stats: CorpusStats }> {
  if (existsSync(join(path, 'manifest.json'))) {
    throw new Error(`${path}: a folder of token shards (from \`pretrain data\`), not text; train on it with --data ${path} --tokenizer <the tokenizer that made it>`);
  }
  const corpus = await Corpus.open(path, { layout: 'raw' });
  const lines: string[] = [];
  for await (const line of corpus.lines()) lines.push(line);
  if (lines.length === 0) throw new Error(`${path}: the corpus is empty`);
  return { text: `${lines.join('\n')}\n`, stats: corpus.stats };
}

/** The token stream of LM shards from `pretrain data lm` (their blocks are consecutive pieces of it). */
async function shardTokens(dir: string): Promise<{ tokens: Int32Array; vocabSize: number }> {
  const manifest = await readManifest(dir, 'lm');
  const vocabSize = Number(manifest.info.vocabSize);
  if (!(vocabSize > 0)) throw new Error(`${dir}: the manifest does not record the vocabulary size (info.vocabSize)`);
  const tokens = new Int32Array(manifest.examples * manifest.columns.input_ids!.width);
  let at = 0;
  for await (const shard of readShards(dir, 'lm')) {
    tokens.set(shard.columns.input_ids as Int32Array, at);
    at += shard.columns.input_ids!.length;
  }
  if (at === 0) throw new Error(`${dir}: the shards hold no blocks`);
  return { tokens: tokens.subarray(0, at), vocabSize };
}

/** Bytes of one layer's attention weights, which the CPU keeps for the backward pass: batch · heads · block² floats. */
function attentionBytes(batch: number, heads: number, block: number): number {
  return 4 * batch * heads * block * block;
}

function trainCommand() {
  return trainingCommand('train', GPT_PRETRAIN)
    .description('Pretrain a GPT (GPT-2 architecture) from scratch on a text corpus, character-level by default, or on token shards.')
    .option('--corpus <path>', 'text file, folder or .gz to train on (default: bundled 200k characters of Shakespeare)')
    .option('--data <dir>', 'token blocks from `pretrain data lm` instead of a corpus (give --tokenizer, the one that made them)')
    .option('--tokenizer <file>', 'tokenizer.json (or vocab.json with merges.txt beside it); default: characters')
    .option('--out <dir>', 'output directory: checkpoint (a Hugging Face model directory), log.jsonl, loss.svg', 'runs/gpt')
    .option('--layers <n>', 'Transformer blocks', positive, 4)
    .option('--heads <n>', 'attention heads (must divide --dim)', positive, 4)
    .option('--dim <n>', 'embedding size', positive, 128)
    .option('--block <n>', 'context length in tokens', positive, 64)
    .option('--batch <n>', 'sequences per micro-batch', positive, 12)
    .option('--dropout <x>', 'dropout probability', parse.unitInterval, 0)
    .option('--no-bias', "no biases in the linear layers and LayerNorms (nanoGPT's bias=False; transformers' GPT-2 cannot load it)")
    .option('--eval-batches <n>', 'validation batches per evaluation', positive, 20)
    .action(async (o) => {
      if (o.corpus && o.data) throw new Error('give --corpus (text) or --data (token shards), not both');
      const bytes = attentionBytes(o.batch, o.heads, o.block);
      if (bytes > 4 * 2 ** 30) {
        throw new Error(`--block ${o.block} with --batch ${o.batch} and --heads ${o.heads} needs ${formatNumber(bytes / 2 ** 30)} GiB for one layer's attention weights; use a smaller --block or --batch`);
      }
      await useBackend(o.backend, Boolean(o.json));
      manualSeed(o.seed);
      let vocab: Codec | null;
      let tokens: Int32Array;
      let source: string;
      if (o.data) {
        const shards = await shardTokens(o.data);
        vocab = o.tokenizer ? tokenizerCodec(Tokenizer.fromFile(o.tokenizer)) : null;
        if (vocab && vocab.size !== shards.vocabSize) throw new Error(`${o.tokenizer} has ${vocab.size} tokens but ${o.data} was made with ${shards.vocabSize}`);
        if (!vocab && !o.json) console.error(`no --tokenizer: the checkpoint will hold no tokenizer, so \`gpt generate\` cannot read or write text with it`);
        tokens = shards.tokens;
        source = `data ${o.data}`;
        vocab ??= { size: shards.vocabSize, encode: () => [], decode: () => '', save: async () => {} };
      } else {
        const corpus = o.corpus ?? DEFAULT_CORPUS;
        const { text, stats } = await corpusText(corpus);
        warnInvalidUtf8(stats);
        vocab = o.tokenizer ? tokenizerCodec(Tokenizer.fromFile(o.tokenizer)) : charCodec(CharVocab.fromText(text));
        tokens = Int32Array.from(vocab.encode(text));
        source = `corpus ${corpus}`;
      }
      const split = splitTokens(tokens);
      if (split.val.length <= o.block) {
        throw new Error(`${source}: ${formatNumber(tokens.length)} tokens are too few for --block ${o.block} (the held-out 10% needs more than one block)`);
      }
      const model = new GPT(gptConfig({
        vocab_size: vocab.size, n_positions: o.block, n_embd: o.dim, n_layer: o.layers, n_head: o.heads,
        resid_pdrop: o.dropout, embd_pdrop: o.dropout, attn_pdrop: o.dropout, bos_token_id: 0, eos_token_id: 0, bias: o.bias,
      }, 'gpt train'));
      const codec = vocab;
      const task = new GPTPretrainTask(model, split, { batchSize: o.batch, blockSize: o.block, evalBatches: o.evalBatches, saveExtras: (dir) => codec.save(dir) });
      const cfg = trainConfigFromOptions(o, GPT_PRETRAIN, resolve(o.out));
      if (!o.json) {
        console.error(`${source}: ${formatNumber(tokens.length)} ${o.tokenizer || o.data ? 'tokens' : 'characters'}, vocabulary ${vocab.size}; model ${formatNumber(model.numParameters())} parameters`);
      }
      const result = await runTraining('gpt train', task, cfg, o,
        (p) => `loss ${p.record.loss?.toFixed(4)} | ${formatNumber(p.record.tokensPerSec ?? 0)} tok/s${p.eval ? ` | val ${p.eval.val_loss!.toFixed(4)}` : ''}`);
      printSummary({
        steps: result.steps, train_loss: result.finalLoss, val_loss: result.eval.val_loss, perplexity: result.eval.perplexity,
        wall_seconds: result.wallSeconds, checkpoint: join(cfg.outDir!, 'checkpoint'), loss_curve: result.lossCurve,
      }, Boolean(o.json));
    });
}

function generateCommand() {
  return new Command('generate')
    .description('Continue a prompt with a trained GPT (greedy by default; sampling, top-k/top-p or beam search).')
    .requiredOption('--model <dir>', 'model directory (a checkpoint written by `pretrain gpt train`)')
    .option('--prompt <text>', 'text to continue', '\n')
    .option('--max-new-tokens <n>', 'tokens to add', parse.count, 200)
    .option('--temperature <x>', 'sampling temperature, > 0 (implies sampling)', parse.positive)
    .option('--top-k <n>', 'sample from the k most likely tokens', positive)
    .option('--top-p <x>', 'sample from the smallest set with this much probability, in (0, 1]', parse.probability)
    .option('--beams <n>', 'beam search with n beams', positive)
    .option('--repetition-penalty <x>', 'penalise repeated tokens (> 1; 1 is none)', parse.positive)
    .option('--stop <text...>', 'stop when one of these strings appears')
    .option('--seed <n>', 'random seed for sampling', parse.count, 0)
    .option('--json', 'print {"prompt", "text", "tokens"} as JSON')
    .action(async (o) => {
      manualSeed(o.seed);
      const { model } = await loadModel(o.model);
      if (!(model instanceof GPT)) throw new Error(`${o.model}: not a GPT model`);
      const vocab = await loadCodec(o.model);
      const ids = await generate(model, vocab.encode(o.prompt), {
        maxNewTokens: o.maxNewTokens, temperature: o.temperature, topK: o.topK, topP: o.topP, numBeams: o.beams,
        repetitionPenalty: o.repetitionPenalty, stopStrings: o.stop, decode: (x) => vocab.decode(x),
        onToken: o.json || o.beams ? undefined : (id) => process.stdout.write(vocab.decode([id])),
      });
      const text = vocab.decode(ids);
      if (o.json) console.log(JSON.stringify({ prompt: o.prompt, text, tokens: ids.length }));
      else if (o.beams) console.log(text);
      else process.stdout.write('\n');
    });
}

function perplexityCommand() {
  return new Command('perplexity')
    .description('Mean next-token loss and perplexity of a GPT over the lines of a file, each line on its own; a line longer than the context is read in overlapping windows.')
    .requiredOption('--model <dir>', 'model directory')
    .requiredOption('--input <file>', 'one text per line (.gz read through)')
    .option('--stride <n>', 'tokens between the starts of windows over a long line (default: half the context)', positive)
    .option('--json', 'print {"tokens", "loss", "perplexity", "windowedTexts"}')
    .action(async (o) => {
      const { model } = await loadModel(o.model);
      if (!(model instanceof GPT)) throw new Error(`${o.model}: not a GPT model`);
      const vocab = await loadCodec(o.model);
      const corpus = await Corpus.open(o.input, { layout: 'raw' });
      const texts: number[][] = [];
      let lineNumber = 0;
      for await (const line of corpus.lines()) {
        lineNumber++;
        if (line.length === 0) continue;
        try {
          texts.push(vocab.encode(line));
        } catch (err) {
          // a character-level model knows only its training text's characters: say where the first other one is
          throw new Error(`${o.input}, line ${lineNumber}: ${(err as Error).message} of ${o.model}`);
        }
      }
      warnInvalidUtf8(corpus.stats);
      const result = await gptPerplexity(model, texts, { stride: o.stride });
      if (o.json) console.log(JSON.stringify(result));
      else console.log(table([{ tokens: result.tokens, loss: result.loss, perplexity: result.perplexity, 'windowed lines': result.windowedTexts }]));
    });
}

/** Registers `pretrain gpt`. */
export const registerGpt = (program: Command): void => {
  program.addCommand(new Command('gpt').description('GPT: causal Transformer language model').addCommand(trainCommand())
    .addCommand(generateCommand()).addCommand(perplexityCommand()));
};

// `pretrain gpt`: train a GPT from scratch on a corpus, generate text, and measure perplexity.
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { Command } from '@commander-js/extra-typings';
import { loadModel } from './load.js';
import { GPT, gptConfig } from '../models/gpt.js';
import { generate } from '../tasks/generate.js';
import { GPT_PRETRAIN, GPTPretrainTask } from '../tasks/gpt-pretrain.js';
import { splitTokens } from '../data/lm.js';
import { lossCurveText } from '../tasks/loss-curve.js';
import { train } from '../tasks/trainer.js';
import { gptPerplexity } from '../tasks/perplexity.js';
import { CharVocab } from '../text/char-vocab.js';
import { Tokenizer } from '../text/tokenizer.js';
import { manualSeed } from '../tensor/random.js';
import { asset } from './assets.js';
import { trainConfigFromOptions, trainingCommand, useBackend } from './train-options.js';
import { formatNumber, parse, progressBar, table } from './ui.js';

const CHAR_VOCAB_FILE = 'char_vocab.json';
/** The corpus used when none is given, so that `pretrain gpt train` works with no arguments. */
export const DEFAULT_CORPUS = asset('tiny-shakespeare-200k.txt');

const int = parse.int;
const num = parse.number;

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

function trainCommand() {
  return trainingCommand('train', GPT_PRETRAIN)
    .description('Pretrain a GPT (GPT-2 architecture) from scratch on a text corpus, character-level by default.')
    .option('--corpus <file>', 'UTF-8 text to train on (default: bundled 200k characters of Shakespeare)')
    .option('--tokenizer <file>', 'tokenizer.json (or vocab.json with merges.txt beside it); default: characters')
    .option('--out <dir>', 'output directory: checkpoint (a Hugging Face model directory), log.jsonl, loss.svg', 'runs/gpt')
    .option('--layers <n>', 'Transformer blocks', int, 4)
    .option('--heads <n>', 'attention heads', int, 4)
    .option('--dim <n>', 'embedding size', int, 128)
    .option('--block <n>', 'context length in tokens', int, 64)
    .option('--batch <n>', 'sequences per micro-batch', int, 12)
    .option('--dropout <x>', 'dropout', num, 0)
    .option('--no-bias', "no biases in the linear layers and LayerNorms (nanoGPT's bias=False; transformers' GPT-2 cannot load it)")
    .option('--eval-batches <n>', 'validation batches per evaluation', int, 20)
    .action(async (o) => {
      await useBackend(o.backend, Boolean(o.json));
      manualSeed(o.seed);
      const corpus = o.corpus ?? DEFAULT_CORPUS;
      const text = await readFile(corpus, 'utf8');
      const vocab = o.tokenizer ? tokenizerCodec(Tokenizer.fromFile(o.tokenizer)) : charCodec(CharVocab.fromText(text));
      const tokens = Int32Array.from(vocab.encode(text));
      const model = new GPT(gptConfig({
        vocab_size: vocab.size, n_positions: o.block, n_embd: o.dim, n_layer: o.layers, n_head: o.heads,
        resid_pdrop: o.dropout, embd_pdrop: o.dropout, attn_pdrop: o.dropout, bos_token_id: 0, eos_token_id: 0, bias: o.bias,
      }));
      const task = new GPTPretrainTask(model, splitTokens(tokens), {
        batchSize: o.batch, blockSize: o.block, evalBatches: o.evalBatches,
        saveExtras: (dir) => vocab.save(dir),
      });
      const cfg = trainConfigFromOptions(o, GPT_PRETRAIN, resolve(o.out));
      if (!o.json) {
        console.error(`corpus ${corpus}: ${formatNumber(tokens.length)} ${o.tokenizer ? 'tokens' : 'characters'}, vocabulary ${vocab.size}; model ${formatNumber(model.numParameters())} parameters`);
      }
      const bar = progressBar('gpt train', cfg.maxSteps, { unit: 'steps', quiet: o.json });
      const result = await train(task, cfg, {
        resume: o.resume,
        onProgress: (p) => bar.update(p.step, `loss ${p.record.loss?.toFixed(4)} | ${formatNumber(p.record.tokensPerSec ?? 0)} tok/s${p.eval ? ` | val ${p.eval.val_loss!.toFixed(4)}` : ''}`),
      });
      bar.stop();
      const summary = {
        steps: result.steps, train_loss: result.finalLoss, val_loss: result.eval.val_loss, perplexity: result.eval.perplexity,
        wall_seconds: result.wallSeconds, checkpoint: join(cfg.outDir!, 'checkpoint'), loss_curve: result.lossCurve,
      };
      if (o.json) { console.log(JSON.stringify(summary)); return; }
      console.log(lossCurveText(result.history.map((r) => r.loss ?? NaN)));
      console.log(table(Object.entries(summary).map(([k, v]) => ({ metric: k, value: v }))));
    });
}

function generateCommand() {
  return new Command('generate')
    .description('Continue a prompt with a trained GPT (greedy by default; sampling, top-k/top-p or beam search).')
    .requiredOption('--model <dir>', 'model directory (a checkpoint written by `pretrain gpt train`)')
    .option('--prompt <text>', 'text to continue', '\n')
    .option('--max-new-tokens <n>', 'tokens to add', int, 200)
    .option('--temperature <x>', 'sampling temperature (implies sampling)', num)
    .option('--top-k <n>', 'sample from the k most likely tokens', int)
    .option('--top-p <x>', 'sample from the smallest set with this much probability', num)
    .option('--beams <n>', 'beam search with n beams', int)
    .option('--repetition-penalty <x>', 'penalise repeated tokens (> 1)', num)
    .option('--stop <text...>', 'stop when one of these strings appears')
    .option('--seed <n>', 'random seed for sampling', int, 0)
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
    .description('Mean next-token loss and perplexity of a GPT over the lines of a file (each line encoded on its own).')
    .requiredOption('--model <dir>', 'model directory')
    .requiredOption('--input <file>', 'one text per line')
    .option('--json', 'print {"tokens", "loss", "perplexity"}')
    .action(async (o) => {
      const { model } = await loadModel(o.model);
      if (!(model instanceof GPT)) throw new Error(`${o.model}: not a GPT model`);
      const vocab = await loadCodec(o.model);
      const lines = (await readFile(o.input, 'utf8')).split(/\r?\n/).filter((l) => l.length > 0);
      const result = await gptPerplexity(model, lines.map((l) => vocab.encode(l)));
      if (o.json) console.log(JSON.stringify(result));
      else console.log(table([{ tokens: result.tokens, loss: result.loss, perplexity: result.perplexity }]));
    });
}

/** Registers `pretrain gpt`. */
export const registerGpt = (program: Command): void => {
  program.addCommand(new Command('gpt').description('GPT: causal Transformer language model').addCommand(trainCommand())
    .addCommand(generateCommand()).addCommand(perplexityCommand()));
};

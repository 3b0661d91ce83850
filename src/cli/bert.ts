// `pretrain bert`: pretrain BERT (masked LM + next-sentence prediction) on shards made by `pretrain data bert`.
import { existsSync } from 'node:fs';
import { copyFile } from 'node:fs/promises';
import { basename, join, resolve } from 'node:path';
import { Command } from '@commander-js/extra-typings';
import { BertShardSource, loadBertExamples } from '../data/shards.js';
import { loadModel } from './load.js';
import { fillMask } from '../tasks/fill-mask.js';
import { Tokenizer } from '../text/tokenizer.js';
import { BertForMaskedLM, BertForPreTraining, bertConfig } from '../models/bert.js';
import { BERT_PRETRAIN, BertPretrainTask } from '../tasks/bert-pretrain.js';
import { lossCurveText } from '../tasks/loss-curve.js';
import { train } from '../tasks/trainer.js';
import { manualSeed } from '../tensor/random.js';
import { printSummary, runTraining, trainConfigFromOptions, trainingCommand, useBackend } from './train-options.js';
import { formatNumber, parse, progressBar, table } from './ui.js';

const int = parse.positiveInt;
const num = parse.unitInterval;

function trainCommand() {
  return trainingCommand('train', BERT_PRETRAIN)
    .description('Pretrain BERT with masked LM + next-sentence prediction on shards from `pretrain data bert`.')
    .requiredOption('--data <dir>', 'training shards (from `pretrain data bert`)')
    .option('--eval-data <dir>', 'held-out shards for MLM/NSP accuracy (from the same tokenizer)')
    .option('--tokenizer <file>', 'tokenizer.json to copy into checkpoints')
    .option('--out <dir>', 'output directory: checkpoint (a Hugging Face model directory), log.jsonl, loss.svg', 'runs/bert')
    .option('--layers <n>', 'encoder layers', int, 4)
    .option('--hidden <n>', 'hidden size', int, 256)
    .option('--heads <n>', 'attention heads (must divide --hidden)', int, 4)
    .option('--intermediate <n>', 'feed-forward size', int, 1024)
    .option('--batch <n>', 'examples per micro-batch', int, 32)
    .option('--dropout <x>', 'hidden and attention dropout', num, 0.1)
    .action(async (o) => {
      await useBackend(o.backend, Boolean(o.json));
      manualSeed(o.seed);
      const source = await BertShardSource.open(o.data);
      const vocabSize = Number(source.manifest.info.vocabSize);
      if (!(vocabSize > 0)) throw new Error(`${o.data}: the manifest does not record the vocabulary size (info.vocabSize)`);
      const padId = Number(source.manifest.info.padId ?? 0);
      const model = new BertForPreTraining(bertConfig({
        vocab_size: vocabSize, hidden_size: o.hidden, num_hidden_layers: o.layers, num_attention_heads: o.heads, intermediate_size: o.intermediate,
        max_position_embeddings: Math.max(512, source.seqLength), hidden_dropout_prob: o.dropout, attention_probs_dropout_prob: o.dropout, pad_token_id: padId,
      }));
      const heldOut = o.evalData ? await loadBertExamples(o.evalData) : undefined;
      const task = new BertPretrainTask(model, source, {
        batchSize: o.batch, heldOut,
        saveExtras: async (dir) => {
          if (o.tokenizer) await copyFile(o.tokenizer, join(dir, basename(o.tokenizer) === 'vocab.txt' ? 'vocab.txt' : 'tokenizer.json'));
        },
      });
      const cfg = trainConfigFromOptions(o, BERT_PRETRAIN, resolve(o.out), { evalEvery: heldOut ? o.evalEvery : 0 });
      if (!o.json) {
        console.error(`data ${o.data}: ${formatNumber(source.length)} examples of ${source.seqLength} tokens, vocabulary ${vocabSize}; model ${formatNumber(model.numParameters())} parameters`);
        if (!heldOut) console.error('no --eval-data: MLM and NSP accuracy are not measured');
      }
      const result = await runTraining('bert train', task, cfg, o, (p) => `loss ${p.record.loss?.toFixed(4)} | ${formatNumber(p.record.tokensPerSec ?? 0)} tok/s` +
        `${p.eval?.mlm_accuracy !== undefined ? ` | mlm acc ${p.eval.mlm_accuracy.toFixed(3)} nsp acc ${p.eval.nsp_accuracy!.toFixed(3)}` : ''}`);
      printSummary({ steps: result.steps, train_loss: result.finalLoss, ...result.eval, wall_seconds: result.wallSeconds, checkpoint: join(cfg.outDir!, 'checkpoint'),
        loss_curve: result.lossCurve }, Boolean(o.json));
    });
}

/** The tokenizer saved beside a model: tokenizer.json, else vocab.txt. */
function modelTokenizer(dir: string): Tokenizer {
  for (const name of ['tokenizer.json', 'vocab.txt']) {
    if (existsSync(join(dir, name))) return Tokenizer.fromFile(join(dir, name));
  }
  throw new Error(`${dir}: no tokenizer.json or vocab.txt beside the model`);
}

function fillMaskCommand() {
  return new Command('fill-mask')
    .description('Predict the [MASK] tokens of a text with a BERT model (Hugging Face fill-mask pipeline semantics).')
    .requiredOption('--model <dir>', 'model directory with config.json, model.safetensors and tokenizer.json or vocab.txt')
    .argument('<text>', 'text with one or more [MASK] tokens')
    .option('--top-k <n>', 'candidates per mask', int, 5)
    .option('--json', 'print [{"token", "score"}, ...] (a list per mask when there are several)')
    .action(async (text: string, o) => {
      const { model, report } = await loadModel(o.model);
      if (!(model instanceof BertForPreTraining || model instanceof BertForMaskedLM)) {
        throw new Error(`${o.model}: ${report.architecture} has no masked-LM head (fill-mask needs BertForPreTraining or BertForMaskedLM)`);
      }
      const results = await fillMask(model, modelTokenizer(o.model), text, o.topK);
      const rows = results.map((list) => list.map(({ token, score }) => ({ token, score })));
      if (o.json) { console.log(JSON.stringify(rows.length === 1 ? rows[0] : rows)); return; }
      rows.forEach((list, i) => {
        if (rows.length > 1) console.log(`mask ${i + 1}:`);
        console.log(table(list));
      });
    });
}

/** Registers `pretrain bert`. */
export const registerBert = (program: Command): void => {
  program.addCommand(new Command('bert').description('BERT: masked-LM + next-sentence Transformer encoder').addCommand(trainCommand())
    .addCommand(fillMaskCommand()));
};

// `pretrain probe polysemy | layers`: what a pretrained model's layers hold, measured on frozen features. Word sense
// by nearest neighbours (polysemy), and linear probes per layer for POS and sense (tasks/probes).
import { Command, Option } from '@commander-js/extra-typings';
import { detectTaskFormat, readTask } from '../data/tasks/read.js';
import { TASK_FORMATS, type TaskFormat } from '../data/tasks/types.js';
import { LINEAR_PROBE, layerProbe, posProbeData, senseProbeData, type ProbeData } from '../tasks/probes/layer-probe.js';
import { polysemyProbe, probeWords, readPolysemyData } from '../tasks/probes/polysemy.js';
import { loadEncoder } from '../tasks/transfer/build.js';
import type { Encoder } from '../tasks/transfer/encoders.js';
import { useBackend } from './train-options.js';
import { formatNumber, parse, progressBar, table } from './ui.js';

const MODEL_HELP = "a model directory (ours or transformers'; BERT, GPT-2, NNLM or any model type with a transfer encoder), word vectors (.bin/.txt/.vec/.safetensors), or scratch:<model directory>";

/** The options both probes take. */
function probeCommand(name: string) {
  return new Command(name)
    .requiredOption('--model <source>', MODEL_HELP)
    .option('--tokenizer <file>', 'a tokenizer for a model directory without one beside it')
    .option('--batch <n>', 'sentences per forward pass of the encoder', parse.positiveInt, 32)
    .addOption(new Option('--backend <name>', 'compute backend').choices(['cpu', 'cpu-native', 'cpu-wasm', 'cpu-reference', 'webgpu'] as const).default('cpu' as const))
    .option('--json', 'print the result as one JSON object');
}

/** The encoder, the backend set first; says on stderr what it is unless --json. */
async function openEncoder(o: { model: string; tokenizer?: string; backend: string; json?: boolean }): Promise<Encoder> {
  await useBackend(o.backend, Boolean(o.json));
  const encoder = await loadEncoder(o.model, { tokenizer: o.tokenizer });
  if (!o.json) console.error(`${o.model}: ${encoder.kind} encoder, ${encoder.numStates} layer${encoder.numStates === 1 ? '' : 's'} of ${encoder.hiddenSize} (0: the embeddings)`);
  return encoder;
}

/** A progress bar over sentences, fed by the probes' onProgress. */
function sentenceBar(label: string, json: boolean) {
  const bar = progressBar(label, 0, { unit: 'sentences', quiet: json });
  return { bar, onProgress: (done: number, total: number) => { bar.setTotal(total); bar.update(done); } };
}

function polysemyCommand() {
  return probeCommand('polysemy')
    .description('Word sense by nearest neighbours: for each sentence of a lemma (inflected forms found too) whose sense has another example, is its '
      + 'nearest other sentence of that lemma, by the cosine of the lemma\'s contextual vector (the mean of its tokens), of the same sense? Accuracy per '
      + 'layer beside chance (a random neighbour); static vectors score chance.')
    .requiredOption('--data <file>', '{lemma: {sense: [sentences]}} JSON (.gz read through), e.g. ../shared/data/polysemy-wordnet/dev.json.gz')
    .action(async (o) => {
      const encoder = await openEncoder(o);
      const data = await readPolysemyData(o.data);
      const { bar, onProgress } = sentenceBar('polysemy', Boolean(o.json));
      const r = await polysemyProbe(encoder, data, { batchSize: o.batch, onProgress });
      bar.stop();
      const layers = r.accuracy.map((accuracy, layer) => ({ layer, accuracy, tied_queries: r.tiedQueries[layer]! }));
      const summary = {
        model: o.model, data: o.data, encoder: encoder.kind, chance: r.chance, queries: r.queries, scored_lemmas: r.scoredLemmas, lemmas: r.lemmas,
        sentences: r.sentences, not_found: r.notFound, empty_spans: r.emptySpans, layers,
      };
      if (o.json) { console.log(JSON.stringify(summary)); return; }
      if (r.notFound) {
        const shown = r.notFoundExamples.map((e) => `${e.lemma}: "${e.sentence}"`).join('; ');
        console.error(`${formatNumber(r.notFound)} of ${formatNumber(r.sentences)} sentences do not contain their lemma in a form the matcher knows (left out), e.g. ${shown}`);
      }
      console.log(`${formatNumber(r.queries)} queries from ${formatNumber(r.scoredLemmas)} of ${formatNumber(r.lemmas)} lemmas; chance ${r.chance.toFixed(4)}`);
      console.log(table(layers.map((l) => ({ layer: l.layer, accuracy: l.accuracy, 'vs chance': l.accuracy - r.chance, 'tied queries': l.tied_queries }))));
    });
}

function layersCommand() {
  return probeCommand('layers')
    .description('Linear probes per layer on frozen features (standardised; softmax regression, Adam, fixed epochs): POS from tagged sentences '
      + '(CoNLL-U UPOS, or CoNLL-2003\'s POS column) or word sense from polysemy data, held-out accuracy per layer beside chance and the majority label.')
    .addOption(new Option('--task <task>', 'what to probe for').choices(['pos', 'sense'] as const).makeOptionMandatory())
    .requiredOption('--data <file>', 'pos: tagged sentences (.conllu, CoNLL columns; .gz read through); sense: polysemy JSON')
    .option('--dev <file>', 'pos: held-out tagged sentences (default: a seeded --dev-fraction of --data)')
    .option('--dev-fraction <x>', 'pos without --dev: the share of sentences held out', parse.probability, 0.2)
    .option('--format <format>', `pos: the data's format (default: told by the file name): ${TASK_FORMATS.join(', ')}`)
    .option('--label-column <col>', "pos: the tag column (default: CoNLL-U's upos, a CoNLL file's pos)")
    .option('--max-sentences <n>', 'pos: probe a seeded sample of this many sentences of --data (and of --dev)', parse.positiveInt)
    .option('--epochs <n>', 'probe training epochs', parse.positiveInt, LINEAR_PROBE.epochs)
    .option('--lr <x>', 'probe learning rate (Adam)', parse.positive, LINEAR_PROBE.lr)
    .option('--probe-batch <n>', 'probe training rows per step', parse.positiveInt, LINEAR_PROBE.batchSize)
    .option('--seed <n>', 'seed of the held-out split, samples and the probe\'s shuffling', parse.count, LINEAR_PROBE.seed)
    .action(async (o) => {
      if (o.task === 'sense') {
        for (const [flag, given] of [['--dev', o.dev], ['--format', o.format], ['--label-column', o.labelColumn], ['--max-sentences', o.maxSentences]] as const) {
          if (given !== undefined) throw new Error(`${flag} is for --task pos (sense holds out one sentence of each sense from --data)`);
        }
      }
      if (o.format !== undefined && !TASK_FORMATS.includes(o.format as TaskFormat)) throw new Error(`--format: expected one of ${TASK_FORMATS.join(', ')}, got '${o.format}'`);
      const encoder = await openEncoder(o);
      const split = encoder.splitText?.bind(encoder) ?? probeWords;
      let data: ProbeData;
      if (o.task === 'sense') {
        const sense = senseProbeData(await readPolysemyData(o.data), { split, seed: o.seed });
        if (sense.notFound && !o.json) console.error(`${formatNumber(sense.notFound)} sentences do not contain their lemma in a form the matcher knows (left out)`);
        data = sense;
      } else data = posProbeData(await readTagged(o.data, o), o.dev ? await readTagged(o.dev, o) : null, { devFraction: o.devFraction, seed: o.seed });
      if (!o.json) console.error(`${data.task}: ${formatNumber(data.train.labels.length)} training and ${formatNumber(data.dev.labels.length)} held-out rows (${data.heldOut}), ${formatNumber(data.labels.length)} labels`);
      const { bar, onProgress } = sentenceBar(`probe ${data.task}`, Boolean(o.json));
      const r = await layerProbe(encoder, data, {
        batchSize: o.batch, onProgress, probe: { epochs: o.epochs, lr: o.lr, batchSize: o.probeBatch, seed: o.seed },
        onLayer: (s) => { bar.stop(); if (!o.json) console.error(`layer ${s.layer}: held-out accuracy ${s.dev.toFixed(4)}`); },
      });
      const summary = {
        model: o.model, data: o.data, task: r.task, encoder: encoder.kind, chance: r.chance, majority: r.majority, train_rows: r.trainRows, dev_rows: r.devRows,
        labels: r.labels, held_out: r.heldOut, empty_spans: r.emptySpans, layers: r.layers.map((l) => ({ layer: l.layer, train_accuracy: l.train, dev_accuracy: l.dev })),
      };
      if (o.json) { console.log(JSON.stringify(summary)); return; }
      console.log(`${r.task} probe: chance ${r.chance.toFixed(4)}, majority label ${r.majority.toFixed(4)}`);
      console.log(table(summary.layers.map((l) => ({ layer: l.layer, 'train accuracy': l.train_accuracy, 'held-out accuracy': l.dev_accuracy }))));
    });
}

/** Tagged sentences for the POS probe: CoNLL-U's UPOS, or a CoNLL file's pos column, unless --label-column says otherwise. */
async function readTagged(path: string, o: { format?: string; labelColumn?: string; maxSentences?: number; seed: number }) {
  const format = (o.format as TaskFormat | undefined) ?? detectTaskFormat(path);
  const labelColumn = o.labelColumn === undefined ? (format === 'conllu' ? undefined : 'pos') : /^\d+$/.test(o.labelColumn) ? Number(o.labelColumn) : o.labelColumn;
  const data = await readTask(path, { format, labelColumn, trainSize: o.maxSentences, seed: o.seed });
  if (data.kind !== 'sequence') throw new Error(`${path}: --task pos needs tagged sentences (CoNLL-U or CoNLL columns), not ${data.format} ${data.kind} data`);
  return data;
}

/** Registers `pretrain probe`. */
export const registerProbe = (program: Command): void => {
  program.addCommand(new Command('probe').description("What a model's layers hold, on frozen features: word sense by nearest neighbours, and linear probes per layer (POS, sense)")
    .addCommand(polysemyCommand()).addCommand(layersCommand()));
};

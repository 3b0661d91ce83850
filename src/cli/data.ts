// `pretrain data bert|lm|inspect`: make pretraining data from a corpus (BERT examples with create_pretraining_data
// semantics, or LM token blocks), write it as safetensors shards with a manifest, and look inside a shard folder.
import { readFileSync } from 'node:fs';
import { Command, Option } from '@commander-js/extra-typings';
import { BERT_DATA_DEFAULTS } from '../data/bert.js';
import type { CorpusLayout } from '../text/corpus.js';
import { encoderFromTokenizer, type TokenEncoder } from '../data/encoder.js';
import { prepareBertData, prepareLmData, type PrepareProgress, type PrepareSummary } from '../data/prepare.js';
import { readManifest, readShard } from '../data/shards.js';
import { Tokenizer } from '../text/index.js';
import { formatNumber, parse, progressBar, table, warnInvalidUtf8 } from './ui.js';

const int = parse.positiveInt;
const num = parse.fraction;

/** Loads a tokenizer: tokenizer.json, a BERT vocab.txt, or a GPT-2 vocab.json with merges.txt beside it. */
function loadEncoder(path: string, lowercase: boolean): TokenEncoder {
  try {
    return encoderFromTokenizer(/\.txt$/i.test(path) ? Tokenizer.fromVocabTxt(readFileSync(path, 'utf8'), { lowercase }) : Tokenizer.fromFile(path));
  } catch (err) {
    const msg = (err as Error).message;
    throw new Error(msg.includes(path) ? msg : `${path}: ${msg}`);
  }
}

/** A data command with the options both subcommands share (built here: see trainingCommand for why not added to one). */
function dataCommand(name: string, description: string, layout: CorpusLayout) {
  return new Command(name)
    .description(description)
    .requiredOption('--tokenizer <file>', 'tokenizer.json, a WordPiece vocab.txt, or a GPT-2 vocab.json (merges.txt beside it)')
    .requiredOption('--input <paths...>', 'corpus files and folders (recursive; .gz read through)')
    .requiredOption('--out <dir>', 'output folder: shard-NNNNN.safetensors and manifest.json')
    .addOption(new Option('--layout <layout>', 'sentence-per-line: one sentence a line, blank lines between documents; prose: paragraphs split into sentences; raw: each file as it is, one document').choices(['sentence-per-line', 'prose', 'raw'] as const).default(layout))
    .addOption(new Option('--prose-documents <unit>', 'with --layout prose: a document is a file or a paragraph').choices(['file', 'paragraph'] as const).default('file' as const))
    .option('--no-lowercase', 'with a vocab.txt: keep case and accents (cased vocabularies)')
    .option('--examples-per-shard <n>', 'examples per shard file', int, 10_000)
    .option('--json', 'print the summary as JSON (progress bars off)')
    .option('--quiet', 'no progress bars');
}

/** Progress bars for the phases of a run, one after another, on stderr. */
function progressReporter(quiet: boolean) {
  const labels = { read: ['reading', 'KiB'], examples: ['examples', 'docs'], write: ['writing', 'examples'] } as const;
  let phase: PrepareProgress['phase'] | undefined;
  let bar: ReturnType<typeof progressBar> | undefined;
  return {
    update(p: PrepareProgress) {
      if (p.phase !== phase) {
        bar?.stop();
        phase = p.phase;
        const [label, unit] = labels[p.phase];
        bar = progressBar(label.padEnd(8), p.phase === 'read' ? Math.ceil(p.total / 1024) : p.total, { unit, quiet });
      }
      const value = p.phase === 'read' ? Math.floor(p.done / 1024) : p.done;
      bar!.update(value, p.phase === 'read' ? `| ${formatNumber(p.corpus.documents)} docs` : '');
    },
    stop() { bar?.stop(); },
  };
}


function report(s: PrepareSummary, out: string, json: boolean, rows: [string, unknown][]): void {
  warnInvalidUtf8(s);
  if (json) { console.log(JSON.stringify({ out, ...s })); return; }
  const base: [string, unknown][] = [
    ['files', s.files], ['bytes', s.bytes], ['documents', s.documents], ['sentences', s.sentences], ['tokens', s.tokens],
    ['invalid UTF-8 replaced', s.invalidSequences], ['examples', s.examples], ['shards', s.shards],
  ];
  console.log(table([...base, ...rows, ['seconds', s.seconds], ['output', out]].map(([stat, value]) => ({ stat, value }))));
}

function bertCommand() {
  const d = BERT_DATA_DEFAULTS;
  return dataCommand('bert', 'Make BERT pretraining examples (masked LM + next sentence) with google-research/bert create_pretraining_data semantics.', 'sentence-per-line')
    .option('--max-seq-length <n>', 'tokens per example, [CLS] and [SEP]s included', int, d.maxSeqLength)
    .option('--max-predictions-per-seq <n>', 'cap on masked positions per example', int, d.maxPredictionsPerSeq)
    .option('--masked-lm-prob <p>', 'fraction of tokens to mask', num, d.maskedLmProb)
    .option('--short-seq-prob <p>', 'probability of a shorter target length for a document', num, d.shortSeqProb)
    .option('--dupe-factor <n>', 'passes over the corpus with different masks', int, d.dupeFactor)
    .option('--whole-word-mask', 'mask all WordPiece pieces of a word together', false)
    .option('--seed <n>', 'random seed', parse.count, d.seed)
    .action(async (o) => {
      const encoder = loadEncoder(o.tokenizer, o.lowercase);
      const progress = progressReporter(Boolean(o.json || o.quiet));
      try {
        const { summary } = await prepareBertData({
          input: o.input, out: o.out, encoder, layout: o.layout, proseDocuments: o.proseDocuments, examplesPerShard: o.examplesPerShard,
          maxSeqLength: o.maxSeqLength, maxPredictionsPerSeq: o.maxPredictionsPerSeq, maskedLmProb: o.maskedLmProb, shortSeqProb: o.shortSeqProb,
          dupeFactor: o.dupeFactor, wholeWordMask: o.wholeWordMask, seed: o.seed, onProgress: progress.update,
        });
        progress.stop();
        report(summary, o.out, Boolean(o.json), [
          ['mean length', summary.meanLength], ['full-length fraction', summary.fullLengthFraction],
          ['random-next fraction', summary.randomNextFraction], ['masked per example', summary.maskedPerExample],
        ]);
      } finally {
        progress.stop();
      }
    });
}

function lmCommand() {
  return dataCommand('lm', 'Tokenize a corpus into contiguous blocks of token ids for language-model pretraining (GPT).', 'raw')
    .option('--block-size <n>', 'tokens per block', int, 128)
    .option('--separator <token>', "token between documents ('none' for none; default <|endoftext|>, else [SEP])")
    .action(async (o) => {
      const encoder = loadEncoder(o.tokenizer, o.lowercase);
      let separator: number | null | undefined;
      if (o.separator === 'none') separator = null;
      else if (o.separator !== undefined) {
        separator = encoder.tokenToId(o.separator);
        if (separator === undefined) throw new Error(`${o.tokenizer}: no token ${o.separator} for --separator`);
      }
      const progress = progressReporter(Boolean(o.json || o.quiet));
      try {
        const { summary } = await prepareLmData({
          input: o.input, out: o.out, encoder, layout: o.layout, proseDocuments: o.proseDocuments, examplesPerShard: o.examplesPerShard,
          blockSize: o.blockSize, separator, onProgress: progress.update,
        });
        progress.stop();
        report(summary, o.out, Boolean(o.json), [['block size', summary.blockSize], ['separator id', summary.separator], ['tokens dropped at the end', summary.droppedTokens]]);
      } finally {
        progress.stop();
      }
    });
}

function inspectCommand() {
  return new Command('inspect')
    .description('Show a shard folder: its manifest and the first examples, decoded like create_pretraining_data logs them.')
    .argument('<dir>', 'folder written by pretrain data bert|lm')
    .option('--tokenizer <file>', 'tokenizer (as for bert/lm) to show tokens instead of ids')
    .option('--examples <n>', 'examples to show', int, 3)
    .option('--no-lowercase', 'the vocabulary is cased')
    .option('--json', 'print {manifest, examples} as JSON')
    .action(async (dir: string, o) => {
      const manifest = await readManifest(dir);
      const encoder = o.tokenizer ? loadEncoder(o.tokenizer, o.lowercase) : undefined;
      const show = (ids: ArrayLike<number>) => Array.from(ids, (i) => encoder?.idToToken(i) ?? String(i));
      const examples: Record<string, unknown>[] = [];
      for (let s = 0; s < manifest.shards.length && examples.length < o.examples; s++) {
        const cols = await readShard(dir, manifest, s);
        for (let r = 0; r < manifest.shards[s]!.examples && examples.length < o.examples; r++) {
          const row = (name: string) => {
            const w = Math.max(1, manifest.columns[name]!.width);
            return cols[name]!.subarray(r * w, (r + 1) * w);
          };
          if (manifest.kind !== 'bert') { examples.push({ tokens: show(row('input_ids')) }); continue; }
          const sum = (a: ArrayLike<number>) => Array.from(a).reduce((x, y) => x + y, 0);
          const n = sum(row('attention_mask')), m = sum(row('masked_lm_weights'));
          examples.push({
            tokens: show(row('input_ids').subarray(0, n)), segment_ids: Array.from(row('token_type_ids').subarray(0, n)),
            masked_lm_positions: Array.from(row('masked_lm_positions').subarray(0, m)), masked_lm_labels: show(row('masked_lm_ids').subarray(0, m)),
            is_random_next: row('next_sentence_labels')[0] === 1,
          });
        }
      }
      if (o.json) { console.log(JSON.stringify({ manifest, examples })); return; }
      console.log(table([
        { stat: 'kind', value: manifest.kind }, { stat: 'examples', value: manifest.examples }, { stat: 'shards', value: manifest.shards.length },
        ...Object.entries(manifest.columns).map(([name, c]) => ({ stat: `column ${name}`, value: `${c.dtype} [n${c.width ? `, ${c.width}` : ''}]` })),
      ]));
      for (const ex of examples) {
        console.log('');
        for (const [k, v] of Object.entries(ex)) console.log(`${k}: ${Array.isArray(v) ? v.join(' ') : String(v)}`);
      }
    });
}

/** Registers `pretrain data`. */
export const registerData = (program: Command): void => {
  program.addCommand(new Command('data')
    .description('Prepare pretraining data: BERT examples or LM token blocks, as safetensors shards.')
    .addCommand(bertCommand())
    .addCommand(lmCommand())
    .addCommand(inspectCommand()));
};

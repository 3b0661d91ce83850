// `pretrain tokenizer train|encode`: train a WordPiece / byte-level BPE / word-level tokenizer on a corpus and
// save it as Hugging Face tokenizer.json; encode a file line by line (JSON lines of ids, tokens, offsets).
import { createWriteStream } from 'node:fs';
import { Command, Option } from '@commander-js/extra-typings';
import { Corpus, type CorpusStats } from '../text/corpus.js';
import { Tokenizer, trainBpe, trainWordLevel, trainWordPiece, type MergeStop, type TrainProgress } from '../text/index.js';
import { formatNumber, parse, progressBar, table, warnInvalidUtf8 } from './ui.js';

const int = parse.count;

/** A reading bar (KiB of the files, lines) that hands over to a merges bar while training. */
function trainProgress(quiet: boolean) {
  let read: ReturnType<typeof progressBar> | undefined;
  let merge: ReturnType<typeof progressBar> | undefined;
  return {
    corpus(s: Readonly<CorpusStats>) {
      read ??= progressBar('reading ', Math.ceil(s.totalBytes / 1024), { unit: 'KiB', quiet });
      read.update(Math.floor(s.bytesRead / 1024), `| ${formatNumber(s.lines)} lines`);
    },
    /** Why merging ended (the last 'merge' report says). */
    stopped: undefined as MergeStop | undefined,
    train(p: TrainProgress) {
      if (p.phase !== 'merge') return;
      if (p.stopped) this.stopped = p.stopped;
      read?.stop();
      merge ??= progressBar('merging ', p.total ?? 0, { unit: 'merges', quiet });
      merge.update(p.done);
    },
    stop() { read?.stop(); merge?.stop(); },
  };
}

/**
 * Why the vocabulary is not the size asked: trainers stop early when the corpus runs out of merges (or words), and
 * never go below the alphabet and special tokens. Undefined when the size is the one asked.
 */
export function vocabSizeNote(type: string, got: number, asked: number, minFrequency: number, stopped: MergeStop | undefined): string | undefined {
  if (got === asked) return undefined;
  const n = formatNumber;
  if (got > asked) {
    return `the vocabulary has ${n(got)} tokens, more than --vocab-size ${n(asked)}: the special tokens and the alphabet alone are that many (a vocabulary never shrinks below its alphabet${type === 'wordpiece' ? '; --limit-alphabet caps it' : ''})`;
  }
  const head = `the vocabulary has ${n(got)} tokens, fewer than --vocab-size ${n(asked)}:`;
  const atLeast = minFrequency > 1 ? ` at least --min-frequency ${n(minFrequency)} times` : '';
  if (type === 'word') return `${head} the corpus has no more distinct words${atLeast ? ` occurring${atLeast}` : ''}`;
  if (stopped === 'min-frequency') return `${head} no pair of adjacent tokens left occurs${atLeast} (lower --min-frequency or add text for more)`;
  return `${head} no pair of adjacent tokens is left to merge (every word of the corpus is already one token; add text for more)`;
}

function trainCommand() {
  return new Command('train')
    .description("Train a tokenizer on a corpus (one text a line) and save it as Hugging Face's tokenizer.json.")
    .addOption(new Option('--type <type>', 'BERT WordPiece, GPT-2 byte-level BPE, or a word-level vocabulary').choices(['wordpiece', 'bpe', 'word']).makeOptionMandatory())
    .requiredOption('--input <paths...>', 'corpus files and folders (recursive; .gz read through)')
    .requiredOption('--out <file>', 'tokenizer.json to write')
    .option('--vocab-size <n>', 'tokens in the vocabulary, special tokens included', int, 30_000)
    .option('--min-frequency <n>', 'least count of a merged pair (wordpiece, bpe) or a word (word)', int, 0)
    .option('--special-tokens <tokens...>', 'special tokens, first in the vocabulary (default: BERT\'s five; <|endoftext|> for bpe; [UNK] for word)')
    .option('--no-lowercase', 'keep case (and accents for wordpiece); default: lowercase for wordpiece, cased for word')
    .option('--limit-alphabet <n>', 'wordpiece: keep the n most frequent characters', int)
    .option('--vocab-txt <file>', 'wordpiece/word: also write vocab.txt')
    .option('--json', 'print the summary as JSON (progress bars off)')
    .option('--quiet', 'no progress bars')
    .action(async (o) => {
      const started = performance.now();
      const progress = trainProgress(Boolean(o.json || o.quiet));
      const corpus = await Corpus.open(o.input, { onProgress: (s) => progress.corpus(s) });
      // The text's own size (the corpus counts bytes on disk, compressed for .gz): UTF-8 of each line and its \n.
      let textBytes = 0;
      const texts = (async function* () {
        for await (const line of corpus.lines()) { textBytes += Buffer.byteLength(line, 'utf8') + 1; yield line; }
      })();
      const common = { vocabSize: o.vocabSize, minFrequency: o.minFrequency, specialTokens: o.specialTokens, onProgress: (p: TrainProgress) => progress.train(p) };
      const explicitCase = process.argv.includes('--no-lowercase') ? false : undefined;
      let tok: Tokenizer;
      try {
        tok = o.type === 'wordpiece' ? await trainWordPiece(texts, { ...common, lowercase: explicitCase, limitAlphabet: o.limitAlphabet })
          : o.type === 'bpe' ? await trainBpe(texts, common)
          : await trainWordLevel(texts, { ...common, lowercase: explicitCase === undefined ? false : explicitCase });
      } finally {
        progress.stop();
      }
      tok.save(o.out);
      if (o.vocabTxt) tok.saveVocabTxt(o.vocabTxt);
      const s = corpus.stats;
      warnInvalidUtf8(s);
      const note = vocabSizeNote(o.type, tok.vocabSize, o.vocabSize, o.minFrequency, progress.stopped);
      const summary = {
        type: o.type, vocabSize: tok.vocabSize, vocabSizeAsked: o.vocabSize, files: s.files, lines: s.lines,
        bytesOnDisk: s.bytesRead, textBytes, invalidSequences: s.invalidSequences, seconds: (performance.now() - started) / 1000, out: o.out,
        ...(note ? { note } : {}),
      };
      if (o.json) { console.log(JSON.stringify(summary)); return; }
      const labels: Partial<Record<keyof typeof summary, string>> = {
        vocabSize: 'vocab size', vocabSizeAsked: 'vocab size asked', bytesOnDisk: 'bytes on disk (compressed for .gz)',
        textBytes: 'text bytes (UTF-8, uncompressed)', invalidSequences: 'invalid UTF-8 sequences',
      };
      const rows = Object.entries(summary).filter(([stat]) => stat !== 'note');
      console.log(table(rows.map(([stat, value]) => ({ stat: labels[stat as keyof typeof summary] ?? stat, value }))));
      if (note) console.log(`note: ${note}`);
    });
}

function encodeCommand() {
  return new Command('encode')
    .description('Encode a file line by line: --json gives one {"ids", "tokens", "offsets"} object a line; offsets count code points.')
    .requiredOption('--tokenizer <file>', 'tokenizer.json, vocab.txt (BERT uncased) or vocab.json (merges.txt beside it)')
    .requiredOption('--input <file>', 'text file (or .gz), one text a line')
    .option('--output <file>', 'write here instead of standard output')
    .option('--no-special-tokens', "leave out the template's special tokens ([CLS], [SEP], ...)")
    .option('--utf16', 'offsets as JS string (UTF-16) indices instead of code points')
    .option('--json', 'JSON lines (otherwise tokens separated by spaces)')
    .option('--quiet', 'no progress bar or summary')
    .action(async (o) => {
      const started = performance.now();
      const tok = Tokenizer.fromFile(o.tokenizer);
      if (o.utf16) tok.offsetUnit = 'utf16';
      let bar: ReturnType<typeof progressBar> | undefined;
      const quiet = Boolean(o.quiet);
      const corpus = await Corpus.open(o.input, {
        onProgress: (s) => {
          bar ??= progressBar('encoding', Math.ceil(s.totalBytes / 1024), { unit: 'KiB', quiet: quiet || !o.output });
          bar.update(Math.floor(s.bytesRead / 1024), `| ${formatNumber(s.lines)} lines`);
        },
      });
      const out = o.output ? createWriteStream(o.output) : process.stdout;
      // A closed pipe (`| head`) ends the command quietly, as Unix tools do.
      out.on('error', (e: NodeJS.ErrnoException) => { if (e.code === 'EPIPE') process.exit(0); throw e; });
      let tokens = 0;
      const write = (line: string) => (out.write(line) ? Promise.resolve() : new Promise<void>((r) => out.once('drain', () => r())));
      let n = 0;
      for await (const line of corpus.lines()) {
        n++;
        let e: ReturnType<Tokenizer['encode']>;
        // A model without its unknown token fails on a word that needs it (as Hugging Face's does): say where.
        try { e = tok.encode(line, null, { addSpecialTokens: o.specialTokens }); } catch (err) { throw new Error(`${o.input}: line ${formatNumber(n)}: ${(err as Error).message}`); }
        tokens += e.ids.length;
        await write(o.json ? `${JSON.stringify({ ids: e.ids, tokens: e.tokens, offsets: e.offsets })}\n` : `${e.tokens.join(' ')}\n`);
      }
      bar?.stop();
      if (out !== process.stdout) await new Promise<void>((r) => out.end(() => r()));
      const s = corpus.stats;
      warnInvalidUtf8(s);
      if (!quiet) {
        const secs = (performance.now() - started) / 1000;
        console.error(`encoded ${formatNumber(s.lines)} lines, ${formatNumber(tokens)} tokens, ${formatNumber(s.bytesRead / 1e6 / secs)} MB/s in ${formatNumber(secs)} s`);
      }
    });
}

/** Registers `pretrain tokenizer`. */
export const registerTokenizer = (program: Command): void => {
  program.addCommand(new Command('tokenizer')
    .description('Train tokenizers (WordPiece, byte-level BPE, word-level) and encode text, in Hugging Face formats.')
    .addCommand(trainCommand())
    .addCommand(encodeCommand()));
};

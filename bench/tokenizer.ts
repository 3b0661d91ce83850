// Tokenizer suite: WordPiece and byte-level BPE encode throughput (MB/s of UTF-8 input) against Hugging Face's
// `tokenizers` (Rust, Node binding; 1 and 2 threads) and `@huggingface/tokenizers` (pure JS), on ~5 MB of
// English from ../shared/data/gutenberg, and 30k WordPiece training time against the binding's trainer.
// Each side runs in a child process (the Rust thread pool's size is fixed when it starts; ours is measured in a
// fresh process right before each peer, as machine load varies); all load the same tokenizer.json, written by us.
import { spawnSync } from 'node:child_process';
import { createRequire } from 'node:module';
import { existsSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { gunzipSync } from 'node:zlib';
import { Tokenizer, trainBpe, trainWordPiece } from '../src/text/index.js';
import { SHARED_DATA } from './peer.js';
import { throughput, writeResults, type BenchRow } from './results.js';

const BOOKS = `${SHARED_DATA}gutenberg/books/`;
const TARGET_BYTES = 5_000_000;
const BATCH = 1000;

/** About 5 MB of English lines (whole books in name order, cut at a line), as non-empty lines. */
function english(): { lines: string[]; bytes: number } {
  if (!existsSync(BOOKS)) throw new Error(`the tokenizer benchmark needs ${BOOKS} (../shared/data/gutenberg/books/*.txt.gz), which is missing`);
  const lines: string[] = [];
  let bytes = 0;
  for (const name of readdirSync(BOOKS).filter((n) => n.endsWith('.txt.gz')).sort()) {
    for (const line of gunzipSync(readFileSync(join(BOOKS, name))).toString('utf8').split(/\r?\n/)) {
      if (!line.trim()) continue;
      lines.push(line);
      bytes += Buffer.byteLength(line) + 1;
      if (bytes >= TARGET_BYTES) return { lines, bytes };
    }
  }
  return { lines, bytes };
}

/** Seconds of the fastest of three passes (the first also warms caches, as in steady use). */
async function timeBest(run: () => Promise<void> | void): Promise<number> {
  let best = Infinity;
  for (let i = 0; i < 3; i++) {
    const t = performance.now();
    await run();
    best = Math.min(best, (performance.now() - t) / 1000);
  }
  return best;
}

/** Runs inside a child process: one peer's figure, printed as JSON. */
async function peer(kind: string, tokenizerPath: string, inputPath: string): Promise<void> {
  const lines = readFileSync(inputPath, 'utf8').split('\n').filter((l) => l.length > 0);
  const require = createRequire(import.meta.url);
  if (kind === 'rust-train') {
    const hf = require('tokenizers') as typeof import('tokenizers');
    const tok = new hf.Tokenizer(hf.WordPiece.empty()); // its default trainer: WordPiece, 30,000 tokens
    tok.setNormalizer(hf.bertNormalizer({ lowercase: true }));
    tok.setPreTokenizer(hf.bertPreTokenizer());
    const t = performance.now();
    tok.train([inputPath]);
    console.log(JSON.stringify({ seconds: (performance.now() - t) / 1000, vocab: tok.getVocabSize() }));
    return;
  }
  let encodeAll: () => Promise<void>;
  if (kind === 'ours') {
    const tok = Tokenizer.fromFile(tokenizerPath);
    encodeAll = () => { for (let i = 0; i < lines.length; i += BATCH) tok.encodeBatch(lines.slice(i, i + BATCH)); return Promise.resolve(); };
  } else if (kind === 'rust') {
    const hf = require('tokenizers') as typeof import('tokenizers');
    const tok = hf.Tokenizer.fromFile(tokenizerPath);
    encodeAll = async () => { for (let i = 0; i < lines.length; i += BATCH) await tok.encodeBatch(lines.slice(i, i + BATCH)); };
  } else {
    const { Tokenizer: JsTokenizer } = await import('@huggingface/tokenizers');
    const tok = new JsTokenizer(JSON.parse(readFileSync(tokenizerPath, 'utf8')), {});
    encodeAll = async () => { for (const l of lines) tok.encode(l); };
  }
  console.log(JSON.stringify({ seconds: await timeBest(encodeAll) }));
}

function runPeer(kind: string, tokenizerPath: string, inputPath: string, threads?: number): { seconds: number } {
  const env = { ...process.env, ...(threads ? { RAYON_NUM_THREADS: String(threads) } : {}) };
  const res = spawnSync(process.execPath, ['--import', 'tsx', fileURLToPath(import.meta.url), '--peer', kind, tokenizerPath, inputPath], { env, encoding: 'utf8', maxBuffer: 1 << 24 });
  if (res.status !== 0) throw new Error(`peer ${kind} failed: ${res.stderr}`);
  return JSON.parse(res.stdout.trim().split('\n').pop()!) as { seconds: number };
}

export default async function main(): Promise<void> {
  const { lines, bytes } = english();
  const mb = bytes / 1e6;
  const dir = mkdtempSync(join(tmpdir(), 'bench-tokenizer-'));
  const input = join(dir, 'english.txt');
  writeFileSync(input, `${lines.join('\n')}\n`);
  console.log(`tokenizer bench: ${mb.toFixed(2)} MB, ${lines.length} lines`);
  const rows: BenchRow[] = [];

  let t = performance.now();
  const wordpiece = await trainWordPiece(lines, { vocabSize: 30_000 });
  const ourTrain = (performance.now() - t) / 1000;
  const peerTrain = runPeer('rust-train', '', input).seconds;
  console.log(`wordpiece train 30k: ours ${ourTrain.toFixed(2)} s (${wordpiece.vocabSize} tokens), tokenizers ${peerTrain.toFixed(2)} s`);
  rows.push({ ...throughput('wordpiece-train-vs-rust', ourTrain, 's', 'tokenizers 0.23 WordPieceTrainer (30k, default threads)', peerTrain), ratio: Number((peerTrain / ourTrain).toPrecision(4)) });

  t = performance.now();
  const bpe = await trainBpe(lines, { vocabSize: 30_000 });
  console.log(`bpe train 30k: ours ${((performance.now() - t) / 1000).toFixed(2)} s`);

  for (const [name, tok] of [['wordpiece', wordpiece], ['bpe', bpe]] as const) {
    const path = join(dir, `${name}.json`);
    tok.save(path);
    for (const [suffix, kind, threads, label] of [['rust-1t', 'rust', 1, 'tokenizers 0.23 encodeBatch, 1 thread'], ['rust-2t', 'rust', 2, 'tokenizers 0.23 encodeBatch, 2 threads'], ['js', 'js', undefined, '@huggingface/tokenizers 0.2 encode']] as const) {
      // Ours runs in a fresh process right before each peer, so both see the same machine load.
      const ours = mb / runPeer('ours', path, input).seconds;
      const theirs = mb / runPeer(kind, path, input, threads).seconds;
      const row = throughput(`${name}-encode-vs-${suffix}`, ours, 'MB/s', label, theirs);
      console.log(`${row.name}: ours ${row.value} MB/s, peer ${row.peer_value} MB/s, ratio ${row.ratio}`);
      rows.push(row);
    }
  }
  console.log(`wrote ${writeResults('tokenizer', rows)}`);
}

const i = process.argv.indexOf('--peer');
if (i > 0 && process.argv[1] === fileURLToPath(import.meta.url)) await peer(process.argv[i + 1]!, process.argv[i + 2]!, process.argv[i + 3]!);

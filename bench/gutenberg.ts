// The tokenised Gutenberg text the word-vector suites (word2vec, glove) train on, so every side reads the same words,
// and the evaluation files every side is scored on.
import { createReadStream, existsSync, readdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { createGunzip } from 'node:zlib';
import { tokenize } from '../src/text/word-lm.js';
import { writeAnalogyFile } from './analogies-en.js';
import { SHARED_DATA } from './peer.js';

/**
 * Writes the books of ../shared/data/gutenberg/books in name order, lowercased and tokenised by our tokeniser, one
 * sentence (line) a line, until at least `minBytes` are written; the bytes, and whether every book went in.
 */
export async function buildGutenbergCorpus(suite: string, path: string, minBytes: number): Promise<{ bytes: number; all: boolean }> {
  const books = join(SHARED_DATA, 'gutenberg', 'books');
  if (!existsSync(books)) throw new Error(`bench ${suite} needs ${books} (the shared data folder beside the project); it is missing`);
  const names = readdirSync(books).sort();
  const out: string[] = [];
  let bytes = 0;
  let used = 0;
  for (const name of names) {
    const lines = createInterface({ input: createReadStream(join(books, name)).pipe(createGunzip()), crlfDelay: Infinity });
    for await (const line of lines) {
      const words = tokenize(line);
      if (words.length === 0) continue;
      const s = words.join(' ');
      out.push(s);
      bytes += s.length + 1;
    }
    used++;
    if (bytes >= minBytes) break;
  }
  writeFileSync(path, out.join('\n') + '\n');
  return { bytes, all: used === names.length };
}

/**
 * WS-353 and SimLex-999 from ../shared/data/word-similarity (an error naming a missing one), and the analogy file:
 * `analogies` when given, else bench/analogies-en.ts's questions written to a temporary file.
 */
export function evaluationFiles(suite: string, analogies?: string): { pairs: { ws353: string; simlex: string }; analogies: string } {
  const sim = join(SHARED_DATA, 'word-similarity');
  const pairs = { ws353: join(sim, 'EN-WS-353-ALL.txt'), simlex: join(sim, 'EN-SIMLEX-999.txt') };
  for (const p of Object.values(pairs)) if (!existsSync(p)) throw new Error(`bench ${suite} needs ${p}; it is missing`);
  if (analogies) return { pairs, analogies };
  const written = join(tmpdir(), 'pretrain-bench-analogies-en.txt');
  console.error(`analogies: ${writeAnalogyFile(written)} questions of bench/analogies-en.ts in ${written}`);
  return { pairs, analogies: written };
}

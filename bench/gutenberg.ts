// The tokenised Gutenberg text the word-vector suites (word2vec, glove) train on: every side reads the same words.
import { createReadStream, existsSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { createGunzip } from 'node:zlib';
import { tokenize } from '../src/models/word2vec/corpus.js';
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

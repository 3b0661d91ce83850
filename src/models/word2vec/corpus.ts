// Streaming corpus reader for the static-embedding trainers: files, folders (recursively) and .gz, one sentence per
// line, lowercased and split into words. Invalid UTF-8 is replaced with U+FFFD by the decoder, never fatal.
import { fs, fsp, nodePath, readline, zlib } from '../../platform/node.js';

/** gensim's limit on one sentence (longer lines are cut into pieces of this many words). */
export const MAX_SENTENCE_WORDS = 10000;

const WORD = /[\p{L}\p{N}]+(?:['’][\p{L}\p{N}]+)*/gu;

/** Lowercases a line and returns its words (letters/digits, with inner apostrophes). */
export function tokenize(line: string): string[] {
  return line.toLowerCase().match(WORD) ?? [];
}

/** The files of a corpus path: the file itself, or every file under a folder (sorted, hidden files skipped). */
export async function corpusFiles(path: string): Promise<string[]> {
  const s = await fsp.stat(path).catch(() => { throw new Error(`corpus not found: ${path}`); });
  if (!s.isDirectory()) return [path];
  const out: string[] = [];
  for (const name of (await fsp.readdir(path)).sort()) {
    if (name.startsWith('.')) continue;
    out.push(...(await corpusFiles(nodePath.join(path, name))));
  }
  return out;
}

/** Sentences (arrays of words) of a corpus, streamed; lines with no words are skipped. */
export async function* readSentences(path: string): AsyncGenerator<string[]> {
  for (const file of await corpusFiles(path)) {
    const raw = fs.createReadStream(file);
    const input = file.endsWith('.gz') ? raw.pipe(zlib.createGunzip()) : raw;
    raw.on('error', (e) => input.destroy(e));
    const lines = readline.createInterface({ input, crlfDelay: Infinity });
    for await (const line of lines) {
      const words = tokenize(line);
      for (let i = 0; i < words.length; i += MAX_SENTENCE_WORDS) yield words.length <= MAX_SENTENCE_WORDS ? words : words.slice(i, i + MAX_SENTENCE_WORDS);
    }
  }
}

// The static-embedding trainers' view of a corpus: one sentence per line, lowercased and split into words, read
// through the shared corpus reader (text/corpus.ts: files, folders, .gz; invalid UTF-8 replaced and counted).
import { Corpus } from '../../text/corpus.js';
import { tokenize } from '../../text/word-lm.js';

/** gensim's limit on one sentence (longer lines are cut into pieces of this many words). */
export const MAX_SENTENCE_WORDS = 10000;

/** Sentences (arrays of words) of a corpus's lines, streamed; lines with no words are skipped, long ones cut. */
export async function* corpusSentences(corpus: Corpus): AsyncGenerator<string[]> {
  for await (const line of corpus.lines()) {
    const words = tokenize(line);
    for (let i = 0; i < words.length; i += MAX_SENTENCE_WORDS) yield words.length <= MAX_SENTENCE_WORDS ? words : words.slice(i, i + MAX_SENTENCE_WORDS);
  }
}

/** Sentences of the files under a path (see text/corpus.ts for which files a folder contributes). */
export async function* readSentences(path: string | readonly string[]): AsyncGenerator<string[]> {
  yield* corpusSentences(await Corpus.open(path, { layout: 'raw' }));
}

/**
 * What the trainers read: a path (file, folder, .gz), an open text Corpus (whose `stats` then count each pass's lines
 * and invalid UTF-8), or a function giving a fresh pass of tokenised sentences.
 */
export type SentenceSource = string | Corpus | (() => AsyncIterable<string[]> | Iterable<string[]>);

/** One pass over a source's sentences. */
export function sentencePass(source: SentenceSource): AsyncIterable<string[]> | Iterable<string[]> {
  return typeof source === 'string' ? readSentences(source) : source instanceof Corpus ? corpusSentences(source) : source();
}

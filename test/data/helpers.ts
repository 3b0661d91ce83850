// A tiny WordPiece-like encoder for data tests (lower case, words and punctuation, greedy longest-match pieces),
// so that src/data is tested without the tokenizers of src/text.
import type { TokenEncoder } from '../../src/data/encoder.js';

export const SPECIALS = ['[PAD]', '[UNK]', '[CLS]', '[SEP]', '[MASK]'];

/** Words and punctuation of a text, lower-cased. */
export function words(text: string): string[] {
  return text.toLowerCase().match(/\p{L}+|\p{N}+|[^\s\p{L}\p{N}]/gu) ?? [];
}

/** An encoder whose vocabulary is the specials, the `keep` most frequent words of `text`, and every character as a
 * word start and as a ## piece; other words split greedily into the longest known pieces. */
export function testEncoder(text: string, keep = 400): TokenEncoder & { vocab: string[] } {
  const counts = new Map<string, number>();
  for (const w of words(text)) counts.set(w, (counts.get(w) ?? 0) + 1);
  const frequent = [...counts].sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : 1)).slice(0, keep).map(([w]) => w);
  const chars = [...new Set([...text.toLowerCase()].filter((c) => /\S/.test(c)))].sort();
  const suffixes = ['##ing', '##ed', '##ly', '##s', '##er', '##tion'];
  const vocab = [...new Set([...SPECIALS, ...frequent, ...chars, ...chars.map((c) => `##${c}`), ...suffixes])];
  const index = new Map(vocab.map((t, i) => [t, i]));
  const pieces = (w: string): string[] => {
    if (index.has(w)) return [w];
    const out: string[] = [];
    for (let start = 0; start < w.length;) {
      let end = w.length, piece: string | undefined;
      for (; end > start; end--) {
        const cand = (start > 0 ? '##' : '') + w.slice(start, end);
        if (index.has(cand)) { piece = cand; break; }
      }
      if (!piece) return ['[UNK]'];
      out.push(piece);
      start = end;
    }
    return out;
  };
  return {
    vocab,
    vocabSize: vocab.length,
    tokenToId: (t) => index.get(t),
    idToToken: (i) => vocab[i],
    encode(s: string) {
      const tokens = words(s).flatMap(pieces);
      return { ids: tokens.map((t) => index.get(t)!), tokens };
    },
  };
}

// A BERT vocab.txt encoder for data preparation while src/text's tokenizers are not available: BERT's
// BasicTokenizer steps (clean control characters, optional lower case + accent stripping, split punctuation, one
// token per CJK ideograph) and greedy longest-match-first WordPiece with [UNK] for unknown or over-long words.
// Offsets, normalisation tables and tokenizer.json are src/text's job, not this file's.
import { readFile } from 'node:fs/promises';
import type { TokenEncoder } from './encoder.js';

const MAX_WORD_CHARS = 100; // google-research/bert's max_input_chars_per_word

/** A WordPiece encoder over a vocab.txt (one token a line, the id is the line number). */
export class VocabEncoder implements TokenEncoder {
  private readonly index: Map<string, number>;
  private constructor(readonly vocab: string[], readonly lowercase: boolean, private readonly unk: number) {
    this.index = new Map(vocab.map((t, i) => [t, i]));
  }

  /** Reads a vocab.txt; `lowercase` as the uncased BERT models (the default). */
  static async fromFile(path: string, opts: { lowercase?: boolean } = {}): Promise<VocabEncoder> {
    let text: string;
    try {
      text = await readFile(path, 'utf8');
    } catch (err) {
      throw new Error(`${path}: ${(err as Error).message}`);
    }
    const vocab = text.split('\n').map((l) => l.replace(/\r$/, ''));
    if (vocab[vocab.length - 1] === '') vocab.pop();
    const unk = vocab.indexOf('[UNK]');
    if (unk < 0) throw new Error(`${path}: not a WordPiece vocab.txt (no [UNK] line among ${vocab.length})`);
    return new VocabEncoder(vocab, opts.lowercase ?? true, unk);
  }

  get vocabSize(): number { return this.vocab.length; }
  tokenToId(token: string): number | undefined { return this.index.get(token); }
  idToToken(id: number): string | undefined { return this.vocab[id]; }

  /** Ids and tokens of a text, without special tokens. */
  encode(text: string): { ids: number[]; tokens: string[] } {
    const tokens: string[] = [];
    for (const word of this.basicTokens(text)) this.wordPieces(word, tokens);
    return { ids: tokens.map((t) => this.index.get(t) ?? this.unk), tokens };
  }

  private basicTokens(text: string): string[] {
    // Control characters (except whitespace) and U+FFFD go; CJK ideographs stand alone; punctuation splits.
    let t = text.replace(/[\p{Cc}\p{Cf}\ufffd]/gu, (c) => (/\s/.test(c) ? ' ' : ''));
    t = t.replace(/[\u4e00-\u9fff\u3400-\u4dbf\u{20000}-\u{2a6df}\u{2a700}-\u{2b73f}\u{2b740}-\u{2b81f}\u{2b820}-\u{2ceaf}\uf900-\ufaff\u{2f800}-\u{2fa1f}]/gu, ' $& ');
    if (this.lowercase) t = t.toLowerCase().normalize('NFD').replace(/\p{Mn}/gu, '');
    return t.split(/\s+/).flatMap((w) => w.match(/[\p{P}\x21-\x2f\x3a-\x40\x5b-\x60\x7b-\x7e]|[^\p{P}\x21-\x2f\x3a-\x40\x5b-\x60\x7b-\x7e]+/gu) ?? []);
  }

  private wordPieces(word: string, out: string[]): void {
    const chars = [...word];
    if (chars.length > MAX_WORD_CHARS) { out.push('[UNK]'); return; }
    const pieces: string[] = [];
    for (let start = 0; start < chars.length;) {
      let end = chars.length, piece: string | undefined;
      for (; end > start; end--) {
        const cand = (start > 0 ? '##' : '') + chars.slice(start, end).join('');
        if (this.index.has(cand)) { piece = cand; break; }
      }
      if (piece === undefined) { out.push('[UNK]'); return; }
      pieces.push(piece);
      start = end;
    }
    out.push(...pieces);
  }
}

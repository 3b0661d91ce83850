// A character vocabulary (nanoGPT's shakespeare_char): every distinct character of a text, sorted, is a token.
import { fsp } from '../platform/node.js';

/** Maps characters (Unicode code points) to ids and back. */
export class CharVocab {
  private readonly index: Map<string, number>;
  constructor(readonly chars: readonly string[]) {
    this.index = new Map(chars.map((c, i) => [c, i]));
    if (this.index.size !== chars.length) throw new Error('CharVocab: characters must be distinct');
  }

  /** The vocabulary of a text: its distinct code points in code-point order. */
  static fromText(text: string): CharVocab {
    return new CharVocab([...new Set(Array.from(text))].sort((a, b) => a.codePointAt(0)! - b.codePointAt(0)!));
  }

  /** Reads a vocabulary saved by `save`. */
  static async load(path: string): Promise<CharVocab> {
    const raw = JSON.parse(await fsp.readFile(path, 'utf8')) as { type?: string; chars?: unknown };
    if (raw.type !== 'char' || !Array.isArray(raw.chars) || raw.chars.some((c) => typeof c !== 'string')) {
      throw new Error(`${path}: not a character vocabulary (expected {"type": "char", "chars": [...]})`);
    }
    return new CharVocab(raw.chars as string[]);
  }

  get size(): number { return this.chars.length; }

  /** Ids of a text; characters outside the vocabulary are an error naming the first one and its position. */
  encode(text: string): Int32Array {
    const chars = Array.from(text);
    const out = new Int32Array(chars.length);
    chars.forEach((c, i) => {
      const id = this.index.get(c);
      if (id === undefined) throw new Error(`CharVocab.encode: character ${JSON.stringify(c)} at position ${i} is not in the vocabulary`);
      out[i] = id;
    });
    return out;
  }

  /** The text of ids. */
  decode(ids: ArrayLike<number>): string {
    let s = '';
    for (let i = 0; i < ids.length; i++) s += this.chars[ids[i]!] ?? '\uFFFD';
    return s;
  }

  /** Saves as JSON: {"type": "char", "chars": [...]}. */
  async save(path: string): Promise<void> {
    await fsp.writeFile(path, `${JSON.stringify({ type: 'char', chars: this.chars })}\n`);
  }
}

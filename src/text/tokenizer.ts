// The Tokenizer: added/special tokens, normalise + pre-tokenise, a subword model, templates with segment ids,
// truncation (pair strategies), padding, decoding, and Hugging Face's tokenizer.json / vocab.txt / vocab.json +
// merges.txt formats. Offsets are Unicode code point indices by default, as Hugging Face's bindings give them.
import { fs, nodePath } from '../platform/node.js';
import { ByteLevelBpe, TokenSink, Vocab, WordLevel, WordPiece, type Model } from './models.js';
import { ByteLevelPreTokenizer, IDENTITY_NORMALIZER, NormalizingPreTokenizer, type NormalizerOptions, type PreTokenizer, type SplitRule, type WordSink } from './pretokenize.js';
import { BYTE_CHARS, CHAR_BYTES } from './unicode.js';

/** One encoded text (or pair). All arrays have one entry per token. */
export interface Encoding {
  ids: number[];
  tokens: string[];
  /** [start, end) of each token in the input (special and padding tokens: [0, 0]); see `OffsetUnit`. */
  offsets: [number, number][];
  /** Segment ids: 0 for the first sequence, 1 for the second (per the template). */
  typeIds: number[];
  attentionMask: number[];
  specialTokensMask: number[];
  /** Index of the pre-tokenised word each token came from, per sequence; null for special/padding tokens. */
  wordIds: (number | null)[];
  /** Which input each token came from (0 or 1); null for special/padding tokens. */
  sequenceIds: (number | null)[];
}

/** 'char': Unicode code points (Hugging Face's Node and Python bindings); 'utf16': JS string indices. */
export type OffsetUnit = 'char' | 'utf16';

/**
 * A token the template inserts, or an input sequence, with its segment id. A special token's `id`, when given,
 * is what the template emits (tokenizer.json's post-processors carry ids, and Hugging Face uses them even where
 * they disagree with the vocabulary); otherwise the token's id in the vocabulary.
 */
export type TemplatePiece = { special: string; typeId: number; id?: number } | { sequence: 'A' | 'B'; typeId: number };

/** Where special tokens go: BERT's `[CLS] A [SEP] B [SEP]`, GPT's `<start> A <delim> B <extract>`, ... */
export interface Template {
  single: TemplatePiece[];
  pair: TemplatePiece[];
}

/** BERT's template: `[CLS] A [SEP]` and `[CLS] A [SEP] B [SEP]` with segment ids 0/1. */
export function bertTemplate(cls = '[CLS]', sep = '[SEP]'): Template {
  return {
    single: [{ special: cls, typeId: 0 }, { sequence: 'A', typeId: 0 }, { special: sep, typeId: 0 }],
    pair: [{ special: cls, typeId: 0 }, { sequence: 'A', typeId: 0 }, { special: sep, typeId: 0 }, { sequence: 'B', typeId: 1 }, { special: sep, typeId: 1 }],
  };
}

/** GPT's fine-tuning template (Radford et al. 2018): `<start> A <extract>` and `<start> A <delim> B <extract>`. */
export function gptTemplate(start: string, delimiter: string, extract: string): Template {
  return {
    single: [{ special: start, typeId: 0 }, { sequence: 'A', typeId: 0 }, { special: extract, typeId: 0 }],
    pair: [{ special: start, typeId: 0 }, { sequence: 'A', typeId: 0 }, { special: delimiter, typeId: 0 }, { sequence: 'B', typeId: 0 }, { special: extract, typeId: 0 }],
  };
}

/** Hugging Face's truncation: which sequence loses tokens when a pair is too long. */
export interface TruncationOptions {
  maxLength: number;
  strategy?: 'longest_first' | 'only_first' | 'only_second';
  direction?: 'right' | 'left';
}

/** Padding to the batch's longest encoding, or to a fixed length; optionally to a multiple. */
export interface PaddingOptions {
  length?: number | 'longest';
  padToMultipleOf?: number;
  direction?: 'right' | 'left';
  padToken?: string;
  padTypeId?: number;
}

/** A token matched in the raw text before normalisation, like Hugging Face's added tokens. */
export interface AddedToken {
  content: string;
  special: boolean;
  /** Its id when it is not in the model's vocabulary (Hugging Face numbers such tokens after the model's). */
  id?: number;
  /** Take in the whitespace on its left / right (RoBERTa's `<mask>` takes the space before it). */
  lstrip?: boolean;
  rstrip?: boolean;
  /** Match only where no letter, digit or _ touches it. */
  singleWord?: boolean;
}

/** Options of `encode`. */
export interface EncodeOptions {
  /** Apply the template (default true). */
  addSpecialTokens?: boolean;
}

/** How the decoder joins tokens. */
export type DecoderKind = { type: 'WordPiece'; prefix: string; cleanup: boolean } | { type: 'ByteLevel' } | null;

/** Everything that defines a tokenizer (what tokenizer.json holds). */
export interface TokenizerConfig {
  normalizer: NormalizerOptions | null;
  preTokenizer: { type: 'split'; rule: SplitRule } | { type: 'byte-level'; addPrefixSpace: boolean; useRegex: boolean };
  model: Model;
  template?: Template | null;
  /** The byte-level post-processor's offset trimming (leading/trailing 'Ġ' left out of offsets). */
  trimOffsets?: boolean;
  /**
   * The trimming post-processor's own `add_prefix_space` (Hugging Face's default true): a sequence's first token
   * keeps a single leading 'Ġ' in its offsets, that space being the one the pre-tokeniser would have added.
   */
  trimAddPrefixSpace?: boolean;
  addedTokens?: AddedToken[];
  decoder?: DecoderKind;
  truncation?: TruncationOptions | null;
  padding?: PaddingOptions | null;
  offsetUnit?: OffsetUnit;
}

/** Encodes and decodes text with Hugging Face tokenizers' semantics. */
export class Tokenizer {
  readonly model: Model;
  readonly config: TokenizerConfig;
  truncation: TruncationOptions | null;
  padding: PaddingOptions | null;
  offsetUnit: OffsetUnit;
  private readonly pre: PreTokenizer;
  private readonly added: AddedToken[];
  private readonly addedIds = new Map<string, number>();
  private readonly addedSplit: RegExp | null;
  /** Ids of the added tokens in the order of addedSplit's groups. */
  private readonly addedOrder: number[];
  private readonly specialIds = new Set<number>();
  private readonly size: number;
  /** Added tokens outside the model's vocabulary, by id. */
  private readonly addedTokens = new Map<number, string>();

  constructor(config: TokenizerConfig) {
    this.config = config;
    this.model = config.model;
    this.truncation = config.truncation ?? null;
    this.padding = config.padding ?? null;
    this.offsetUnit = config.offsetUnit ?? 'char';
    const p = config.preTokenizer;
    if (p.type === 'byte-level') {
      if (config.normalizer) throw new Error('a byte-level tokenizer with a normaliser is not supported');
      if (config.model.type !== 'BPE') throw new Error('the byte-level pre-tokeniser needs a BPE model');
      this.pre = new ByteLevelPreTokenizer(p.addPrefixSpace, p.useRegex);
    } else {
      if (config.model.type === 'BPE') throw new Error('BPE is supported with the byte-level pre-tokeniser only');
      this.pre = new NormalizingPreTokenizer(config.normalizer ?? IDENTITY_NORMALIZER, p.rule);
    }
    this.added = config.addedTokens ?? [];
    for (const t of this.added) {
      const id = this.model.vocab.ids.get(t.content) ?? t.id;
      if (id === undefined) throw new Error(`added token ${JSON.stringify(t.content)} is not in the vocabulary and has no id`);
      this.addedIds.set(t.content, id);
      if (this.model.vocab.tokens[id] === undefined) this.addedTokens.set(id, t.content);
      else if (this.model.vocab.tokens[id] !== t.content) throw new Error(`added token ${JSON.stringify(t.content)}: id ${id} is the model's ${JSON.stringify(this.model.vocab.tokens[id])}`);
      if (t.special) this.specialIds.add(id);
    }
    this.size = Math.max(this.model.vocab.size, ...[...this.addedTokens.keys()].map((id) => id + 1));
    // One capture group per added token, longest first, so the group that matched names the token.
    const sorted = [...this.added].sort((a, b) => b.content.length - a.content.length);
    this.addedOrder = sorted.map((t) => this.addedIds.get(t.content)!);
    const ws = '[\\t\\n\\v\\f\\r \\x85\\xa0\\u1680\\u2000-\\u200a\\u2028\\u2029\\u202f\\u205f\\u3000]*';
    const alternatives = sorted.map((t) => {
      const body = t.content.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&');
      const word = t.singleWord ? ['(?<![\\p{L}\\p{N}_])', '(?![\\p{L}\\p{N}_])'] : ['', ''];
      return `(${t.lstrip ? ws : ''}${word[0]}${body}${word[1]}${t.rstrip ? ws : ''})`;
    });
    this.addedSplit = alternatives.length ? new RegExp(alternatives.join('|'), 'gu') : null;
    for (const t of [...(config.template?.single ?? []), ...(config.template?.pair ?? [])]) {
      if (!('special' in t)) continue;
      const id = this.tokenToId(t.special);
      if (id !== undefined) this.specialIds.add(id);
      else if (t.id === undefined) this.requireId(t.special, 'template');
    }
  }

  /** Loads tokenizer.json, or a vocab.txt (BERT uncased), or a vocab.json (with merges.txt beside it: GPT-2). */
  static fromFile(path: string): Tokenizer {
    if (/\.txt$/i.test(path)) return Tokenizer.fromVocabTxt(fs.readFileSync(path, 'utf8'));
    const text = fs.readFileSync(path, 'utf8');
    let json: unknown;
    try { json = JSON.parse(text); } catch (e) { throw new Error(`${path}: not JSON (${(e as Error).message})`); }
    const merges = nodePath.join(nodePath.dirname(path), 'merges.txt');
    const named = /vocab\.json$/i.test(path);
    // A vocab.json by name, or a token -> id object with merges.txt beside it (e.g. gpt2-vocab.json).
    if (named || (isVocab(json) && fs.existsSync(merges))) {
      if (!isVocab(json)) throw new Error(`${path}: a vocab.json should be an object of token -> id; found ${describeJson(json)}`);
      if (!fs.existsSync(merges)) throw new Error(`${path}: a vocab.json needs merges.txt beside it`);
      return Tokenizer.fromVocabMerges(json, fs.readFileSync(merges, 'utf8'));
    }
    if (!isObject(json) || !('model' in json)) {
      const hint = isVocab(json) ? ' (it looks like a vocab.json, token -> id, but there is no merges.txt beside it)' : '';
      throw new Error(`${path}: not a tokenizer.json: expected an object with ${EXPECTED_MODEL}; found ${describeJson(json)}${hint}`);
    }
    try { return Tokenizer.fromJSON(json as unknown as TokenizerJson); } catch (e) { throw new Error(`${path}: ${(e as Error).message}`); }
  }

  /** A BERT tokenizer from vocab.txt's lines (uncased unless `lowercase` is false). */
  static fromVocabTxt(text: string, opts: { lowercase?: boolean } = {}): Tokenizer {
    const lines = text.split(/\r?\n/);
    if (lines[lines.length - 1] === '') lines.pop();
    const vocab = Vocab.fromList(lines);
    const lowercase = opts.lowercase ?? true;
    const specials = ['[PAD]', '[UNK]', '[CLS]', '[SEP]', '[MASK]'].filter((t) => vocab.ids.has(t));
    return new Tokenizer({
      normalizer: { cleanText: true, handleChineseChars: true, stripAccents: lowercase ? 'mn' : 'none', nfd: false, lowercase },
      preTokenizer: { type: 'split', rule: 'bert' },
      model: new WordPiece(vocab),
      template: vocab.ids.has('[CLS]') && vocab.ids.has('[SEP]') ? bertTemplate() : null,
      addedTokens: specials.map((content) => ({ content, special: true })),
      decoder: { type: 'WordPiece', prefix: '##', cleanup: true },
    });
  }

  /** A GPT-2 tokenizer from vocab.json and merges.txt's text. */
  static fromVocabMerges(vocab: Record<string, number>, merges: string): Tokenizer {
    const pairs = merges.split(/\r?\n/).filter((l) => l && !l.startsWith('#version')).map((l, i) => {
      const parts = l.split(' ');
      if (parts.length !== 2) throw new Error(`merges.txt line ${i + 1}: expected two tokens, got ${JSON.stringify(l)}`);
      return parts as [string, string];
    });
    const v = new Vocab(vocab);
    return new Tokenizer({
      normalizer: null,
      preTokenizer: { type: 'byte-level', addPrefixSpace: false, useRegex: true },
      model: new ByteLevelBpe(v, pairs),
      addedTokens: v.ids.has('<|endoftext|>') ? [{ content: '<|endoftext|>', special: true }] : [],
      decoder: { type: 'ByteLevel' },
    });
  }

  /** Builds a tokenizer from a parsed tokenizer.json. */
  static fromJSON(json: TokenizerJson): Tokenizer {
    return new Tokenizer(parseTokenizerJson(json));
  }

  /** Number of tokens (ids run from 0 to vocabSize - 1). */
  get vocabSize(): number { return this.size; }

  tokenToId(token: string): number | undefined { return this.model.vocab.ids.get(token) ?? this.addedIds.get(token); }
  idToToken(id: number): string | undefined { return this.model.vocab.tokens[id] ?? this.addedTokens.get(id); }

  /** Tokens of one text, with UTF-16 offsets; returns whether the text was all ASCII. */
  private tokenize(text: string, sink: TokenSink): boolean {
    this.sink = sink;
    this.shift = 0;
    if (this.addedSplit === null) { this.pre.split(text, this.emit); return this.pre.lastAscii; }
    let last = 0;
    this.addedSplit.lastIndex = 0;
    for (let m = this.addedSplit.exec(text); m !== null; m = this.addedSplit.exec(text)) {
      if (m.index > last) { this.shift = last; this.pre.split(text.slice(last, m.index), this.emit); }
      let g = 1;
      while (m[g] === undefined) g++;
      sink.push(this.addedOrder[g - 1]!, m.index, m.index + m[0].length);
      sink.word++;
      last = m.index + m[0].length;
    }
    this.shift = last;
    if (last < text.length) this.pre.split(last === 0 ? text : text.slice(last), this.emit);
    return false; // a text cut around added tokens: toCodePoints looks for itself
  }

  // One word from the pre-tokeniser into the current sink; a method-bound closure made once, as encoding is hot.
  private sink = new TokenSink();
  /** Where the text being pre-tokenised starts in the input (it is cut around added tokens). */
  private shift = 0;
  private readonly emit: WordSink = (word, start, align) => {
    const from = this.shift;
    if (from !== 0) {
      if (align) { align = align.slice(); for (let k = 0; k < align.length; k++) align[k]! += from; } else start += from;
    }
    this.model.tokenize(word, start, align, this.sink);
    this.sink.word++;
  };

  /** Encodes a text, or a pair of texts, with the template, truncation and fixed-length padding. */
  encode(text: string, pair?: string | null, opts: EncodeOptions = {}): Encoding {
    const a = new TokenSink();
    const asciiA = this.tokenize(text, a);
    let b: TokenSink | null = null;
    let asciiB = true;
    if (pair !== undefined && pair !== null) { b = new TokenSink(); asciiB = this.tokenize(pair, b); }
    const special = opts.addSpecialTokens ?? true;
    if (this.truncation) truncate(a, b, this.truncation, special ? this.addedBy(b !== null) : 0);
    if (this.config.trimOffsets) { this.trim(a); if (b) this.trim(b); }
    if (this.offsetUnit === 'char') { if (!asciiA) toCodePoints(text, a); if (b && !asciiB) toCodePoints(pair!, b); }
    const enc = this.assemble(a, b, special);
    if (this.padding && this.padding.length !== undefined && this.padding.length !== 'longest') this.pad(enc, this.padding.length);
    return enc;
  }

  /** Encodes many texts (or [text, pair] pairs); padding 'longest' pads to the batch's longest. */
  encodeBatch(inputs: readonly (string | readonly [string, string])[], opts: EncodeOptions = {}): Encoding[] {
    const out = inputs.map((x) => (typeof x === 'string' ? this.encode(x, null, opts) : this.encode(x[0], x[1], opts)));
    if (this.padding && (this.padding.length ?? 'longest') === 'longest') {
      const longest = Math.max(0, ...out.map((e) => e.ids.length));
      for (const e of out) this.pad(e, longest);
    }
    return out;
  }

  /** Text of the ids; special tokens are left out unless `skipSpecialTokens` is false. */
  decode(ids: readonly number[], skipSpecialTokens = true): string {
    const tokens: string[] = [];
    for (const id of ids) {
      const t = this.idToToken(id);
      if (t === undefined) throw new Error(`decode: id ${id} is not in the vocabulary (size ${this.vocabSize})`);
      if (!(skipSpecialTokens && this.specialIds.has(id))) tokens.push(t);
    }
    const d = this.config.decoder ?? null;
    if (d === null) return tokens.join(' ');
    if (d.type === 'ByteLevel') {
      const bytes: number[] = [];
      for (const t of tokens) for (let i = 0; i < t.length; i++) { const c = t.charCodeAt(i); const b = c < CHAR_BYTES.length ? CHAR_BYTES[c]! : -1; if (b >= 0) bytes.push(b); }
      return new TextDecoder().decode(Uint8Array.from(bytes));
    }
    // Hugging Face cleans each token after adding its separator: " ' s" stays as it is, " ." loses its space.
    return tokens.map((t, i) => {
      const piece = t.startsWith(d.prefix) ? t.slice(d.prefix.length) : i === 0 ? t : ` ${t}`;
      return d.cleanup ? cleanup(piece) : piece;
    }).join('');
  }

  /** Writes tokenizer.json (loadable by Hugging Face tokenizers and transformers). */
  save(path: string): void {
    fs.writeFileSync(path, `${JSON.stringify(this.toJSON(), null, 2)}\n`);
  }

  /** tokenizer.json's contents, for writing it where there are no files (a page's download, a zip). */
  toJSON(): TokenizerJson {
    return toTokenizerJson(this);
  }

  /** Writes vocab.txt (WordPiece / word-level): one token a line in id order. */
  saveVocabTxt(path: string): void {
    fs.writeFileSync(path, `${this.model.vocab.tokens.join('\n')}\n`);
  }

  /** Writes vocab.json and merges.txt (byte-level BPE) into a folder. */
  saveVocabMerges(dir: string): void {
    if (!(this.model instanceof ByteLevelBpe)) throw new Error('vocab.json + merges.txt are for BPE tokenizers');
    fs.writeFileSync(nodePath.join(dir, 'vocab.json'), JSON.stringify(this.model.vocab.toJSON()));
    fs.writeFileSync(nodePath.join(dir, 'merges.txt'), `#version: 0.2\n${this.model.merges.map(([a, b]) => `${a} ${b}`).join('\n')}\n`);
  }

  /** Special tokens the template adds for a single text or a pair. */
  private addedBy(pair: boolean): number {
    const t = this.config.template;
    return t ? (pair ? t.pair : t.single).filter((p) => 'special' in p).length : 0;
  }

  private requireId(token: string, where: string): number {
    const id = this.tokenToId(token);
    if (id === undefined) throw new Error(`${where}: token ${JSON.stringify(token)} is not in the vocabulary`);
    return id;
  }

  /** The byte-level post-processor's offset trimming: a leading/trailing space ('Ġ') is not part of the span. */
  private trim(s: TokenSink): void {
    const G = BYTE_CHARS[32]!;
    const keepFirst = this.config.trimAddPrefixSpace ?? false;
    for (let i = 0; i < s.ids.length; i++) {
      const t = this.idToToken(s.ids[i]!) ?? '';
      let lead = 0, trail = 0;
      while (lead < t.length && t[lead] === G) lead++;
      while (trail < t.length && t[t.length - 1 - trail] === G) trail++;
      // Hugging Face's process_offsets: "first" is the first token or any starting at 0.
      if (keepFirst && lead === 1 && (i === 0 || s.starts[i] === 0)) lead = 0;
      if (lead > 0) s.starts[i] = Math.min(s.starts[i]! + lead, s.ends[i]!);
      if (trail > 0 && s.ends[i]! >= trail) s.ends[i] = Math.max(s.ends[i]! - trail, s.starts[i]!);
    }
  }

  private assemble(a: TokenSink, b: TokenSink | null, special: boolean): Encoding {
    const t = this.config.template;
    const pieces: TemplatePiece[] = special && t ? (b ? t.pair : t.single) : [{ sequence: 'A', typeId: 0 }, ...(b ? [{ sequence: 'B' as const, typeId: 1 }] : [])];
    let n = 0;
    for (const p of pieces) n += 'special' in p ? 1 : (p.sequence === 'A' ? a : b)?.ids.length ?? 0;
    // Arrays of their final length, filled by index: encoding is hot, and growing arrays costs.
    const enc: Encoding = {
      ids: new Array(n), tokens: new Array(n), offsets: new Array(n), typeIds: new Array(n), attentionMask: new Array(n).fill(1),
      specialTokensMask: new Array(n), wordIds: new Array(n), sequenceIds: new Array(n),
    };
    const tokens = this.model.vocab.tokens;
    let k = 0;
    for (const p of pieces) {
      if ('special' in p) {
        enc.ids[k] = p.id ?? this.requireId(p.special, 'template'); enc.tokens[k] = p.special; enc.offsets[k] = [0, 0]; enc.typeIds[k] = p.typeId;
        enc.specialTokensMask[k] = 1; enc.wordIds[k] = null; enc.sequenceIds[k] = null;
        k++;
        continue;
      }
      const s = p.sequence === 'A' ? a : b;
      if (!s) continue;
      const seq = p.sequence === 'A' ? 0 : 1;
      for (let i = 0; i < s.ids.length; i++, k++) {
        const id = s.ids[i]!;
        enc.ids[k] = id; enc.tokens[k] = tokens[id] ?? this.addedTokens.get(id)!; enc.offsets[k] = [s.starts[i]!, s.ends[i]!]; enc.typeIds[k] = p.typeId;
        enc.specialTokensMask[k] = 0; enc.wordIds[k] = s.words[i]!; enc.sequenceIds[k] = seq;
      }
    }
    return enc;
  }

  private pad(e: Encoding, length: number): void {
    const p = this.padding!;
    const m = p.padToMultipleOf;
    const target = m && length % m !== 0 ? length + m - (length % m) : length;
    const n = target - e.ids.length;
    if (n <= 0) return;
    const token = p.padToken ?? '[PAD]';
    const id = this.requireId(token, 'padding');
    const fill = <T>(arr: T[], v: T) => { const pad = new Array<T>(n).fill(v); if (p.direction === 'left') arr.unshift(...pad); else arr.push(...pad); };
    fill(e.ids, id); fill(e.tokens, token); fill(e.typeIds, p.padTypeId ?? 0); fill(e.attentionMask, 0);
    fill(e.specialTokensMask, 1); fill(e.wordIds, null); fill(e.sequenceIds, null);
    const offs = Array.from({ length: n }, () => [0, 0] as [number, number]);
    if (p.direction === 'left') e.offsets.unshift(...offs); else e.offsets.push(...offs);
  }
}

/** Hugging Face's WordPiece decoder cleanup: no space before punctuation and contractions. */
function cleanup(s: string): string {
  return s.replace(/ \./g, '.').replace(/ \?/g, '?').replace(/ !/g, '!').replace(/ ,/g, ',').replace(/ ' /g, "'")
    .replace(/ n't/g, "n't").replace(/ 'm/g, "'m").replace(/ do not/g, " don't").replace(/ 's/g, "'s").replace(/ 've/g, "'ve").replace(/ 're/g, "'re");
}

/** Keeps `n` tokens of a sequence, from the start (direction right) or the end (left). */
function keep(s: TokenSink, n: number, direction: 'right' | 'left'): void {
  for (const arr of [s.ids, s.starts, s.ends, s.words]) {
    if (direction === 'left') arr.splice(0, arr.length - n); else arr.length = n;
  }
}

/** Hugging Face's truncate_encodings: the budget is maxLength minus the special tokens the template adds. */
function truncate(a: TokenSink, b: TokenSink | null, t: TruncationOptions, added: number): void {
  const max = t.maxLength - added;
  if (max < 0) throw new Error(`truncation: max length ${t.maxLength} is shorter than the ${added} special tokens`);
  const dir = t.direction ?? 'right';
  const total = a.ids.length + (b?.ids.length ?? 0);
  if (total <= max) return;
  const remove = total - max;
  const strategy = t.strategy ?? 'longest_first';
  if (strategy === 'longest_first') {
    if (!b) { keep(a, max, dir); return; }
    // The binding first caps each sequence at the full max length, which decides ties (measured, not documented).
    let n1 = Math.min(a.ids.length, t.maxLength), n2 = Math.min(b.ids.length, t.maxLength);
    const swap = n1 > n2;
    if (swap) [n1, n2] = [n2, n1];
    n2 = n1 > max ? n1 : Math.max(n1, max - n1);
    if (n1 + n2 > max) { n1 = Math.floor(max / 2); n2 = n1 + (max % 2); }
    if (swap) [n1, n2] = [n2, n1];
    keep(a, Math.min(n1, a.ids.length), dir);
    keep(b, Math.min(n2, b.ids.length), dir);
    return;
  }
  const target = strategy === 'only_first' ? a : b;
  if (!target || target.ids.length <= remove) {
    throw new Error(`truncation: the ${strategy === 'only_first' ? 'first' : 'second'} sequence is not long enough to remove ${remove} tokens`);
  }
  keep(target, target.ids.length - remove, dir);
}

/** Converts a sequence's UTF-16 offsets to code point offsets (only texts with astral characters differ). */
function toCodePoints(text: string, s: TokenSink): void {
  if (!/[\ud800-\udbff]/.test(text)) return;
  const cp = new Int32Array(text.length + 1);
  let c = 0;
  for (let u = 0; u < text.length; u++) {
    cp[u] = c;
    const x = text.charCodeAt(u);
    if (!(x >= 0xdc00 && x <= 0xdfff && u > 0 && text.charCodeAt(u - 1) >= 0xd800 && text.charCodeAt(u - 1) <= 0xdbff)) c++;
    else cp[u] = c - 1;
  }
  cp[text.length] = c;
  for (let i = 0; i < s.starts.length; i++) { s.starts[i] = cp[s.starts[i]!]!; s.ends[i] = cp[s.ends[i]!]!; }
}

// ---------------------------------------------------------------------------------------------------------------
// tokenizer.json

/** The parts of Hugging Face's tokenizer.json this module reads and writes. */
export interface TokenizerJson {
  version?: string;
  truncation?: { max_length: number; strategy?: string; direction?: string; stride?: number } | null;
  padding?: { strategy?: 'BatchLongest' | { Fixed: number }; direction?: string; pad_to_multiple_of?: number | null; pad_id?: number; pad_type_id?: number; pad_token?: string } | null;
  added_tokens?: { id: number; content: string; special?: boolean; single_word?: boolean; lstrip?: boolean; rstrip?: boolean; normalized?: boolean }[];
  normalizer?: Json | null;
  pre_tokenizer?: Json | null;
  post_processor?: Json | null;
  decoder?: Json | null;
  model: Json;
}
type Json = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

function unsupported(part: string, j: Json): never {
  throw new Error(`tokenizer.json: ${part} of type ${JSON.stringify(j.type)} is not supported`);
}

function parseNormalizer(j: Json | null | undefined): NormalizerOptions | null {
  if (!j) return null;
  const n: NormalizerOptions = { ...IDENTITY_NORMALIZER };
  const apply = (x: Json) => {
    switch (x.type) {
      case 'BertNormalizer': {
        const lower = x.lowercase ?? true;
        n.cleanText = x.clean_text ?? true; n.handleChineseChars = x.handle_chinese_chars ?? true; n.lowercase = lower;
        n.stripAccents = (x.strip_accents ?? lower) ? 'mn' : 'none';
        break;
      }
      case 'Lowercase': n.lowercase = true; break;
      case 'NFD': n.nfd = true; break;
      case 'StripAccents': n.stripAccents = 'm'; break;
      case 'Sequence': for (const y of x.normalizers as Json[]) apply(y); break;
      default: unsupported('normalizer', x);
    }
  };
  apply(j);
  return n;
}

function parsePreTokenizer(j: Json | null | undefined): TokenizerConfig['preTokenizer'] {
  if (!j) return { type: 'split', rule: 'whitespace-split' };
  switch (j.type) {
    case 'BertPreTokenizer': return { type: 'split', rule: 'bert' };
    case 'Whitespace': return { type: 'split', rule: 'whitespace' };
    case 'WhitespaceSplit': return { type: 'split', rule: 'whitespace-split' };
    case 'ByteLevel': return { type: 'byte-level', addPrefixSpace: j.add_prefix_space ?? true, useRegex: j.use_regex ?? true };
    default: return unsupported('pre_tokenizer', j);
  }
}

type PostProcessor = { template: Template | null; trimOffsets: boolean; addPrefixSpace: boolean };

/** BERT's and RoBERTa's processors name [token, id] pairs; Hugging Face emits those ids. */
function namedId(pair: unknown, what: string): { special: string; id: number } {
  if (!Array.isArray(pair) || typeof pair[0] !== 'string' || !Number.isInteger(pair[1])) throw new Error(`tokenizer.json: post_processor ${what} should be [token, id]; found ${JSON.stringify(pair)}`);
  return { special: pair[0], id: pair[1] };
}

function parsePostProcessor(j: Json | null | undefined): PostProcessor {
  if (!j) return { template: null, trimOffsets: false, addPrefixSpace: false };
  const special = (t: { special: string; id: number }, typeId: number): TemplatePiece => ({ ...t, typeId });
  switch (j.type) {
    case 'BertProcessing': {
      const [cls, sep] = [namedId(j.cls, 'cls'), namedId(j.sep, 'sep')];
      const a: TemplatePiece = { sequence: 'A', typeId: 0 }, b: TemplatePiece = { sequence: 'B', typeId: 1 };
      return { template: { single: [special(cls, 0), a, special(sep, 0)], pair: [special(cls, 0), a, special(sep, 0), b, special(sep, 1)] }, trimOffsets: false, addPrefixSpace: false };
    }
    case 'ByteLevel': return { template: null, trimOffsets: j.trim_offsets ?? true, addPrefixSpace: j.add_prefix_space ?? true };
    case 'RobertaProcessing': {
      // <s> A </s> and <s> A </s> </s> B </s>, all segment 0.
      const [cls, sep] = [special(namedId(j.cls, 'cls'), 0), special(namedId(j.sep, 'sep'), 0)];
      const a: TemplatePiece = { sequence: 'A', typeId: 0 }, b: TemplatePiece = { sequence: 'B', typeId: 0 };
      return { template: { single: [cls, a, sep], pair: [cls, a, sep, sep, b, sep] }, trimOffsets: j.trim_offsets ?? true, addPrefixSpace: j.add_prefix_space ?? true };
    }
    case 'TemplateProcessing': {
      const specials = (j.special_tokens ?? {}) as Record<string, { ids?: number[] }>;
      const pieces = (list: Json[]): TemplatePiece[] => list.map((p) => {
        if (!p.SpecialToken) return { sequence: p.Sequence.id as 'A' | 'B', typeId: p.Sequence.type_id as number };
        const name = p.SpecialToken.id as string;
        const ids = specials[name]?.ids;
        if (ids && ids.length !== 1) throw new Error(`tokenizer.json: TemplateProcessing special token ${JSON.stringify(name)} with ${ids.length} ids is not supported`);
        return { special: name, typeId: p.SpecialToken.type_id as number, ...(ids ? { id: ids[0]! } : {}) };
      });
      return { template: { single: pieces(j.single), pair: pieces(j.pair) }, trimOffsets: false, addPrefixSpace: false };
    }
    case 'Sequence': {
      const parts = (j.processors as Json[]).map(parsePostProcessor);
      const trimming = parts.find((p) => p.trimOffsets);
      return { template: parts.find((p) => p.template)?.template ?? null, trimOffsets: trimming !== undefined, addPrefixSpace: trimming?.addPrefixSpace ?? false };
    }
    default: return unsupported('post_processor', j);
  }
}

const EXPECTED_MODEL = '"model": {"type": "WordPiece" | "BPE" | "WordLevel", "vocab": {...}, ...}';

const isObject = (x: unknown): x is Record<string, unknown> => x !== null && typeof x === 'object' && !Array.isArray(x);
const isVocab = (x: unknown): x is Record<string, number> => isObject(x) && Object.values(x).every((v) => Number.isInteger(v));

/** What a JSON value is, for errors: its type, or an object's keys. */
function describeJson(x: unknown): string {
  if (x === undefined) return 'nothing (no such key)';
  if (x === null) return 'null';
  if (Array.isArray(x)) return `an array of ${x.length} items`;
  if (!isObject(x)) return `a ${typeof x} (${JSON.stringify(x).slice(0, 40)})`;
  const keys = Object.keys(x);
  if (keys.length === 0) return 'an empty object';
  return `an object with keys ${keys.slice(0, 8).map((k) => JSON.stringify(k)).join(', ')}${keys.length > 8 ? `, ... (${keys.length} in all)` : ''}`;
}

/**
 * The model's type; files from before tokenizers 0.9 have none, and Hugging Face then takes the first model whose
 * required fields are all there (BPE, WordPiece, WordLevel, Unigram).
 */
function modelType(j: Json): string {
  if (j.type !== undefined) return j.type;
  const has = (...keys: string[]) => keys.every((k) => k in j);
  if (has('vocab', 'merges')) return 'BPE';
  if (has('vocab', 'unk_token', 'continuing_subword_prefix', 'max_input_chars_per_word')) return 'WordPiece';
  if (has('vocab', 'unk_token')) return 'WordLevel';
  throw new Error(`tokenizer.json: expected ${EXPECTED_MODEL}; found a "model" with no "type": ${describeJson(j)}`);
}

function parseModel(j: unknown): Model {
  if (!isObject(j)) throw new Error(`tokenizer.json: expected ${EXPECTED_MODEL}; found "model": ${describeJson(j)}`);
  const type = modelType(j);
  const known = ['WordPiece', 'BPE', 'WordLevel'];
  if (known.includes(type) && !isVocab(j.vocab)) throw new Error(`tokenizer.json: the ${type} model's "vocab" should be an object of token -> id; found ${describeJson(j.vocab)}`);
  const vocab = () => new Vocab(j.vocab as Record<string, number>);
  switch (type) {
    case 'WordPiece': return new WordPiece(vocab(), { unkToken: j.unk_token as string, continuingSubwordPrefix: j.continuing_subword_prefix as string, maxInputCharsPerWord: j.max_input_chars_per_word as number });
    case 'WordLevel': return new WordLevel(vocab(), j.unk_token as string);
    case 'BPE': {
      if (j.continuing_subword_prefix || j.end_of_word_suffix || j.byte_fallback || j.dropout) throw new Error('tokenizer.json: only plain byte-level BPE models are supported');
      if (!Array.isArray(j.merges)) throw new Error(`tokenizer.json: the BPE model's "merges" should be an array; found ${describeJson(j.merges)}`);
      const merges = (j.merges as (string | [string, string])[]).map((m) => (typeof m === 'string' ? (m.split(' ') as [string, string]) : m));
      return new ByteLevelBpe(vocab(), merges, { ignoreMerges: (j.ignore_merges as boolean) ?? false, unkToken: (j.unk_token as string | null) ?? null, fuseUnk: (j.fuse_unk as boolean) ?? false });
    }
    default: throw new Error(`tokenizer.json: model of type ${JSON.stringify(type)} is not supported (expected "WordPiece", "BPE" or "WordLevel")`);
  }
}

/**
 * Added tokens numbered as Hugging Face numbers them on loading, ignoring the ids in the file: a token in the
 * model's vocabulary has the model's id; the others count on from the vocabulary's size, in file order. (A file
 * saved after adding special tokens before training has them at 0-4, over the model's first tokens; HF loads it so.)
 * A token listed twice keeps its first id and its last properties.
 */
function numberAddedTokens(list: NonNullable<TokenizerJson['added_tokens']>, model: Model): AddedToken[] {
  const out = new Map<string, AddedToken>();
  let next = model.vocab.ids.size;
  for (const a of list) {
    if (!a.content) continue;
    const id = model.vocab.ids.has(a.content) ? undefined : out.has(a.content) ? out.get(a.content)!.id : next++;
    out.set(a.content, { content: a.content, special: a.special ?? false, id, lstrip: a.lstrip, rstrip: a.rstrip, singleWord: a.single_word });
  }
  return [...out.values()];
}

function parseTokenizerJson(j: TokenizerJson): TokenizerConfig {
  if (!isObject(j) || !('model' in j)) throw new Error(`tokenizer.json: expected an object with ${EXPECTED_MODEL}; found ${describeJson(j)}`);
  const model = parseModel(j.model);
  const post = parsePostProcessor(j.post_processor);
  const d = j.decoder;
  const decoder: DecoderKind = !d ? null : d.type === 'WordPiece' ? { type: 'WordPiece', prefix: d.prefix ?? '##', cleanup: d.cleanup ?? true } : d.type === 'ByteLevel' ? { type: 'ByteLevel' } : unsupported('decoder', d);
  const t = j.truncation, p = j.padding;
  const lower = (s: string | undefined) => s?.toLowerCase();
  return {
    normalizer: parseNormalizer(j.normalizer),
    preTokenizer: parsePreTokenizer(j.pre_tokenizer),
    model,
    template: post.template,
    trimOffsets: post.trimOffsets,
    trimAddPrefixSpace: post.addPrefixSpace,
    addedTokens: numberAddedTokens(j.added_tokens ?? [], model),
    decoder,
    truncation: t ? { maxLength: t.max_length, strategy: (lower(t.strategy)?.replace(/first$/, '_first').replace(/second$/, '_second') ?? 'longest_first') as TruncationOptions['strategy'], direction: lower(t.direction) as 'left' | 'right' } : null,
    padding: p ? { length: p.strategy && typeof p.strategy === 'object' ? p.strategy.Fixed : 'longest', padToMultipleOf: p.pad_to_multiple_of ?? undefined, direction: lower(p.direction) as 'left' | 'right', padToken: p.pad_token, padTypeId: p.pad_type_id } : null,
  };
}

function toTokenizerJson(tok: Tokenizer): TokenizerJson {
  const c = tok.config;
  const n = c.normalizer;
  const pre = c.preTokenizer;
  const pieces = (list: TemplatePiece[]) => list.map((p) => ('special' in p ? { SpecialToken: { id: p.special, type_id: p.typeId } } : { Sequence: { id: p.sequence, type_id: p.typeId } }));
  const templ = c.template;
  const specialTokens: Record<string, { id: string; ids: number[]; tokens: string[] }> = {};
  for (const p of [...(templ?.single ?? []), ...(templ?.pair ?? [])]) if ('special' in p) specialTokens[p.special] = { id: p.special, ids: [p.id ?? tok.tokenToId(p.special)!], tokens: [p.special] };
  const template = templ ? { type: 'TemplateProcessing', single: pieces(templ.single), pair: pieces(templ.pair), special_tokens: specialTokens } : null;
  const byteLevel = pre.type === 'byte-level' ? { type: 'ByteLevel', add_prefix_space: pre.addPrefixSpace, trim_offsets: c.trimOffsets ?? false, use_regex: pre.useRegex } : null;
  const postByteLevel = byteLevel && { ...byteLevel, add_prefix_space: c.trimAddPrefixSpace ?? false };
  const d = c.decoder;
  const t = tok.truncation, p = tok.padding;
  return {
    version: '1.0',
    truncation: t ? { direction: t.direction === 'left' ? 'Left' : 'Right', max_length: t.maxLength, strategy: { longest_first: 'LongestFirst', only_first: 'OnlyFirst', only_second: 'OnlySecond' }[t.strategy ?? 'longest_first'], stride: 0 } : null,
    padding: p ? { strategy: typeof p.length === 'number' ? { Fixed: p.length } : 'BatchLongest', direction: p.direction === 'left' ? 'Left' : 'Right', pad_to_multiple_of: p.padToMultipleOf ?? null, pad_id: tok.tokenToId(p.padToken ?? '[PAD]') ?? 0, pad_type_id: p.padTypeId ?? 0, pad_token: p.padToken ?? '[PAD]' } : null,
    added_tokens: (c.addedTokens ?? []).map((a) => ({ id: tok.tokenToId(a.content)!, content: a.content, single_word: a.singleWord ?? false, lstrip: a.lstrip ?? false, rstrip: a.rstrip ?? false, normalized: !a.special, special: a.special })),
    normalizer: !n ? null : n.nfd && n.stripAccents === 'none'
      ? { type: 'Sequence', normalizers: [{ type: 'NFD' }, ...(n.lowercase ? [{ type: 'Lowercase' }] : [])] }
      : { type: 'BertNormalizer', clean_text: n.cleanText, handle_chinese_chars: n.handleChineseChars, strip_accents: n.stripAccents !== 'none', lowercase: n.lowercase },
    pre_tokenizer: pre.type === 'byte-level' ? byteLevel : { type: { bert: 'BertPreTokenizer', whitespace: 'Whitespace', 'whitespace-split': 'WhitespaceSplit' }[pre.rule] },
    post_processor: postByteLevel && template ? { type: 'Sequence', processors: [postByteLevel, template] } : (template ?? postByteLevel),
    decoder: !d ? null : d.type === 'WordPiece' ? { type: 'WordPiece', prefix: d.prefix, cleanup: d.cleanup } : { type: 'ByteLevel', add_prefix_space: true, trim_offsets: true, use_regex: true },
    model: c.model.toJSON(),
  };
}

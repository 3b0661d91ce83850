// Words to model tokens for transfer: each example's words are tokenised together (as the model saw text in
// pretraining), every token is traced back to the word it came from, the tokenizer's template adds its special
// tokens, and a sequence longer than the model's context is cut into overlapping windows — never silently truncated.
import type { Template } from '../../text/tokenizer.js';

/** One example as words: a sentence's words for tagging or classification, and a second sequence for pairs. */
export interface WordsInput {
  words: readonly string[];
  pair?: readonly string[];
}

/** What transfer needs of a tokenizer (text/tokenizer.ts's Tokenizer has it). */
export interface TokenizerLike {
  encode(text: string, pair?: string | null, opts?: { addSpecialTokens?: boolean }): { ids: number[]; offsets: [number, number][] };
  tokenToId(token: string): number | undefined;
  readonly offsetUnit?: 'char' | 'utf16';
}

/** A model input made from one example (or one window of it). */
export interface TokenizedInput {
  ids: number[];
  /** Segment ids (0 for the first sequence, 1 for the second where the template says so). */
  typeIds: number[];
  /** The first token of each word (the first sequence's words, then the second's); -1 for a word with no token. */
  wordStarts: number[];
  /** Words whose label this window predicts (the others are predicted by another window); all words when unwindowed. */
  scoredWords: boolean[];
  /** Which example this input came from, and which window of it (0 when unwindowed). */
  example: number;
  window: number;
  /** With `bothOrders`: the same pair with its sequences swapped (GPT scores similarity pairs in both orders). */
  swapped?: TokenizedInput;
}

/** How words become text for the tokenizer: joined by a space (English), or by nothing (Chinese characters). */
export interface Joining {
  separator: string;
}

/** The tokens of a word sequence with each token's word: -1 for tokens that start inside no word (a separator). */
function tokenizeWords(tok: TokenizerLike, words: readonly string[], separator: string): { ids: number[]; wordOf: number[] } {
  if (words.length === 0) return { ids: [], wordOf: [] };
  const text = words.join(separator);
  const utf16 = tok.offsetUnit === 'utf16';
  const len = (s: string) => (utf16 ? s.length : Array.from(s).length);
  const spans: [number, number][] = [];
  let at = 0;
  const sep = len(separator);
  for (const w of words) {
    spans.push([at, at + len(w)]);
    at += len(w) + sep;
  }
  const { ids, offsets } = tok.encode(text, null, { addSpecialTokens: false });
  const wordOf: number[] = [];
  let w = 0;
  for (let k = 0; k < ids.length; k++) {
    const [start, end] = offsets[k]!;
    // offsets only grow: move on once a token starts past the current word's end (a byte-level token may start on
    // the separator before its word, which its overlap with the word still places right)
    while (w < spans.length - 1 && spans[w]![1] <= start) w++;
    const [ws, we] = spans[w]!;
    wordOf.push(start < we && end > ws ? w : -1);
  }
  return { ids, wordOf };
}

/** The ids a template's special piece stands for. */
function specialId(tok: TokenizerLike, piece: { special: string; id?: number }): number {
  const id = piece.id ?? tok.tokenToId(piece.special);
  if (id === undefined) throw new Error(`the tokenizer has no ${piece.special} token, which its template uses`);
  return id;
}

/** Special tokens the template adds around a single sequence, or a pair. */
export function templateCost(template: Template | null, pair: boolean): number {
  if (!template) return 0;
  return (pair ? template.pair : template.single).filter((p) => 'special' in p).length;
}

/** Applies the template to content tokens: ids, segment ids and where each content token landed. */
function assemble(tok: TokenizerLike, template: Template | null, a: number[], b: number[] | null): { ids: number[]; typeIds: number[]; aAt: number; bAt: number } {
  if (!template) return { ids: [...a, ...(b ?? [])], typeIds: [...a.map(() => 0), ...(b ?? []).map(() => 1)], aAt: 0, bAt: a.length };
  const ids: number[] = [], typeIds: number[] = [];
  let aAt = 0, bAt = 0;
  for (const p of b ? template.pair : template.single) {
    if ('special' in p) { ids.push(specialId(tok, p)); typeIds.push(p.typeId); continue; }
    const seq = p.sequence === 'A' ? a : b!;
    if (p.sequence === 'A') aAt = ids.length; else bAt = ids.length;
    for (const id of seq) { ids.push(id); typeIds.push(p.typeId); }
  }
  return { ids, typeIds, aAt, bAt };
}

/** Options of `tokenizeExamples`. */
export interface TokenizeOptions {
  /** The model's context, special tokens included. */
  maxTokens: number;
  /** Tokens between the starts of consecutive windows over a long sequence (default: half the room for content). */
  stride?: number;
  separator?: string;
  /** Pairs: also tokenise each pair with its sequences swapped (TokenizedInput.swapped). */
  bothOrders?: boolean;
}

/** What tokenising a set of examples did beyond the plain case. */
export interface TokenizeReport {
  /** Examples longer than the context, read as several windows. */
  windowed: number;
  /** Pairs longer than the context, whose longer sequence lost tokens at its end (as transformers' longest_first). */
  truncatedPairs: number;
  /** Words the tokenizer gave no token (e.g. a lone control character), which no label can reach. */
  emptyWords: number;
}

/**
 * Tokenises examples for a model: single sequences longer than the context become windows `stride` apart, each word
 * scored in the window where it has the most context on both sides; pairs are truncated longest-first and counted.
 */
export function tokenizeExamples(tok: TokenizerLike, template: Template | null, examples: readonly WordsInput[], opts: TokenizeOptions): { inputs: TokenizedInput[]; report: TokenizeReport } {
  const separator = opts.separator ?? ' ';
  const report: TokenizeReport = { windowed: 0, truncatedPairs: 0, emptyWords: 0 };
  const inputs: TokenizedInput[] = [];
  examples.forEach((ex, example) => {
    const a = tokenizeWords(tok, ex.words, separator);
    const b = ex.pair ? tokenizeWords(tok, ex.pair, separator) : null;
    const nWords = ex.words.length + (ex.pair?.length ?? 0);
    const room = opts.maxTokens - templateCost(template, b !== null);
    if (room < 1) throw new Error(`a context of ${opts.maxTokens} tokens leaves no room beside the template's special tokens`);
    if (b) {
      let [aIds, bIds, aOf, bOf] = [a.ids, b.ids, a.wordOf, b.wordOf];
      if (aIds.length + bIds.length > room) {
        report.truncatedPairs++;
        let la = aIds.length, lb = bIds.length;
        while (la + lb > room) { if (la >= lb) la--; else lb--; }
        [aIds, aOf, bIds, bOf] = [aIds.slice(0, la), aOf.slice(0, la), bIds.slice(0, lb), bOf.slice(0, lb)];
      }
      const { ids, typeIds, aAt, bAt } = assemble(tok, template, aIds, bIds);
      const wordStarts = new Array<number>(nWords).fill(-1);
      aOf.forEach((w, k) => { if (w >= 0 && wordStarts[w] === -1) wordStarts[w] = aAt + k; });
      bOf.forEach((w, k) => { if (w >= 0 && wordStarts[ex.words.length + w] === -1) wordStarts[ex.words.length + w] = bAt + k; });
      report.emptyWords += wordStarts.filter((s) => s < 0).length;
      const input: TokenizedInput = { ids, typeIds, wordStarts, scoredWords: wordStarts.map(() => true), example, window: 0 };
      if (opts.bothOrders) {
        const other = tokenizeExamples(tok, template, [{ words: ex.pair!, pair: ex.words }], { ...opts, bothOrders: false });
        input.swapped = { ...other.inputs[0]!, example };
      }
      inputs.push(input);
      return;
    }
    const firstToken = new Array<number>(ex.words.length).fill(-1);
    a.wordOf.forEach((w, k) => { if (w >= 0 && firstToken[w] === -1) firstToken[w] = k; });
    report.emptyWords += firstToken.filter((s) => s < 0).length;
    const n = a.ids.length;
    const stride = opts.stride ?? Math.max(1, Math.floor(room / 2));
    if (n > room && !(stride >= 1 && stride < room)) throw new RangeError(`stride must be in [1, ${room - 1}] for windows of ${room} tokens, got ${stride}`);
    const starts: number[] = [0];
    while (starts[starts.length - 1]! + room < n) starts.push(starts[starts.length - 1]! + stride);
    if (starts.length > 1) report.windowed++;
    // Each word is scored by the window where its first token has the most context on its shorter side.
    const owner = firstToken.map((t) => {
      if (t < 0) return -1;
      let best = 0, bestContext = -1;
      starts.forEach((s, i) => {
        const e = Math.min(s + room, n);
        if (t < s || t >= e) return;
        const context = Math.min(t - s, e - 1 - t);
        if (context > bestContext) { bestContext = context; best = i; }
      });
      return best;
    });
    starts.forEach((s, window) => {
      const e = Math.min(s + room, n);
      const { ids, typeIds, aAt } = assemble(tok, template, a.ids.slice(s, e), null);
      const wordStarts = firstToken.map((t) => (t >= s && t < e ? aAt + t - s : -1));
      inputs.push({ ids, typeIds, wordStarts, scoredWords: owner.map((o) => o === window), example, window });
    });
  });
  return { inputs, report };
}

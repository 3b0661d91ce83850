// The polysemy probe: does a model's vector of a word in context tell its senses apart? The data is
// {lemma: {sense: [sentences]}} (WordNet's gloss examples, ../shared/data/polysemy-wordnet). For every sentence
// whose sense has at least two examples (found), the lemma is found in it (inflected forms too), its contextual
// vector taken (the mean over its tokens, per layer), and its nearest other sentence of the same lemma by cosine
// checked for the same sense: leave-one-out nearest neighbour, as WiC-style probes do.
//
// Chance is the accuracy of a random nearest neighbour: per query of sense k of a lemma with n sentences, (n_k−1)/(n−1),
// averaged. Ties break as a random choice would in expectation: a query whose best cosine several sentences share
// scores the share of them that have its sense. A static embedding gives every occurrence of a word form the same
// vector, so all its same-form neighbours tie and it scores chance by construction (inflected forms, "banks" beside
// "bank", are the only signal it has).
import { TaskFormatError } from '../../data/tasks/types.js';
import { readTaskLines } from '../../data/tasks/source.js';
import type { Encoder } from '../transfer/encoders.js';
import { spanFeatures, type SpanFeatureOptions, type SpanQuery } from './features.js';

/** {lemma: {sense: [sentences]}}. */
export type PolysemyData = Record<string, Record<string, string[]>>;

/** Checks parsed JSON as polysemy data; errors name the key. */
export function parsePolysemyData(json: unknown, where: string): PolysemyData {
  const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);
  if (!isObject(json)) throw new TaskFormatError(where, undefined, 'expected a JSON object {lemma: {sense: [sentences]}}');
  for (const [lemma, senses] of Object.entries(json)) {
    if (lemma.trim() === '') throw new TaskFormatError(where, undefined, 'an empty lemma');
    if (!isObject(senses)) throw new TaskFormatError(where, undefined, `"${lemma}": expected {sense: [sentences]}, got ${Array.isArray(senses) ? 'an array' : typeof senses}`);
    for (const [sense, sentences] of Object.entries(senses)) {
      if (!Array.isArray(sentences)) throw new TaskFormatError(where, undefined, `"${lemma}"."${sense}": expected an array of sentences, got ${typeof sentences}`);
      sentences.forEach((s, i) => {
        if (typeof s !== 'string' || s.trim() === '') throw new TaskFormatError(where, undefined, `"${lemma}"."${sense}"[${i}]: expected a sentence (a non-empty string)`);
      });
    }
  }
  return json as PolysemyData;
}

/** Reads polysemy data from a JSON file (.gz read through); bad JSON is an error naming the file and line. */
export async function readPolysemyData(path: string): Promise<PolysemyData> {
  const { lines } = await readTaskLines(path);
  const text = lines.join('\n');
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (err) {
    const at = /position (\d+)/.exec((err as Error).message);
    const line = at ? text.slice(0, Number(at[1])).split('\n').length : undefined;
    throw new TaskFormatError(path, line, `not valid JSON (${(err as Error).message})`);
  }
  return parsePolysemyData(json, path);
}

// Irregular English forms of common words (verbs' past and participle, a few plurals), beyond the rules below.
const IRREGULAR: Record<string, string[]> = {
  be: ['am', 'is', 'are', 'was', 'were', 'been', 'being'], have: ['has', 'had'], do: ['does', 'did', 'done'], go: ['goes', 'went', 'gone'],
  break: ['broke', 'broken'], bring: ['brought'], build: ['built'], buy: ['bought'], catch: ['caught'], choose: ['chose', 'chosen'],
  come: ['came'], draw: ['drew', 'drawn'], drive: ['drove', 'driven'], eat: ['ate', 'eaten'], fall: ['fell', 'fallen'], feel: ['felt'],
  fight: ['fought'], find: ['found'], fly: ['flew', 'flown', 'flies'], get: ['got', 'gotten'], give: ['gave', 'given'], grow: ['grew', 'grown'],
  hang: ['hung'], hold: ['held'], keep: ['kept'], know: ['knew', 'known'], lay: ['laid'], lead: ['led'], leave: ['left'], lie: ['lay', 'lain', 'lying'],
  lose: ['lost'], make: ['made'], mean: ['meant'], meet: ['met'], pay: ['paid'], ride: ['rode', 'ridden'], rise: ['rose', 'risen'], run: ['ran'],
  say: ['said'], see: ['saw', 'seen'], sell: ['sold'], send: ['sent'], shake: ['shook', 'shaken'], shoot: ['shot'], sing: ['sang', 'sung'],
  sink: ['sank', 'sunk'], sit: ['sat'], speak: ['spoke', 'spoken'], spend: ['spent'], stand: ['stood'], steal: ['stole', 'stolen'],
  stick: ['stuck'], strike: ['struck'], swim: ['swam', 'swum'], take: ['took', 'taken'], teach: ['taught'], tear: ['tore', 'torn'],
  tell: ['told'], think: ['thought'], throw: ['threw', 'thrown'], wear: ['wore', 'worn'], win: ['won'], write: ['wrote', 'written'],
  child: ['children'], foot: ['feet'], goose: ['geese'], man: ['men'], mouse: ['mice'], person: ['people'], tooth: ['teeth'], woman: ['women'],
  good: ['better', 'best'], bad: ['worse', 'worst'], far: ['farther', 'further', 'farthest', 'furthest'],
};

const VOWEL = /[aeiou]/;

/**
 * The forms a word may take in English text: itself, plurals and third persons (-s, -es, y→ies, f/fe→ves), past
 * forms (-ed, -d after e, y→ied), -ing (e dropped, ie→ying), comparatives (-er, -est), each with the final consonant
 * doubled where the word ends consonant-vowel-consonant (stop→stopped; both spellings kept, since stress decides:
 * visited, referred), and the irregular forms above.
 */
export function inflections(lemma: string): Set<string> {
  const w = lemma.toLowerCase();
  const forms = new Set([w, ...(IRREGULAR[w] ?? [])]);
  const last = w.slice(-1), stem = w.slice(0, -1);
  const consonantY = last === 'y' && w.length > 1 && !VOWEL.test(w.at(-2)!);
  // -s, -es
  if (/(s|x|z|ch|sh|o)$/.test(w)) forms.add(`${w}es`);
  forms.add(consonantY ? `${stem}ies` : `${w}s`);
  if (w.endsWith('fe')) forms.add(`${w.slice(0, -2)}ves`);
  else if (last === 'f') forms.add(`${stem}ves`);
  // -ed, -er, -est
  for (const suffix of ['ed', 'er', 'est']) {
    if (last === 'e') forms.add(w + suffix.slice(1));
    else if (consonantY) forms.add(`${stem}i${suffix}`);
    else forms.add(w + suffix);
  }
  // -ing
  if (w.endsWith('ie')) forms.add(`${w.slice(0, -2)}ying`);
  else if (last === 'e' && !/(ee|ye|oe)$/.test(w)) forms.add(`${stem}ing`);
  forms.add(`${w}ing`);
  // doubling after a short final syllable (consonant-vowel-consonant, the consonant not w, x or y)
  if (w.length >= 3 && /[^aeiou][aeiou][b-df-hj-np-tvz]$/.test(w)) for (const suffix of ['ed', 'ing', 'er', 'est']) forms.add(w + last + suffix);
  return forms;
}

/** A word with a possessive ending ('s, ’s, or a bare apostrophe) removed. */
function unpossessed(word: string): string {
  return word.replace(/['’]s?$/u, '');
}

/**
 * Where a lemma occurs in a sentence's words: the first run of words equal to its words (compared lowercased), else
 * the first whose last word is an inflected (see `inflections`) or possessive form (the rules overgenerate: "seed"
 * for "see", so an exact occurrence wins); [from, to), or null when it does not occur.
 */
export function findLemma(words: readonly string[], lemmaWords: readonly string[]): [number, number] | null {
  const k = lemmaWords.length;
  if (k === 0) return null;
  const lower = lemmaWords.map((w) => w.toLowerCase());
  const forms = inflections(lower[k - 1]!);
  const at = (test: (last: string) => boolean): [number, number] | null => {
    for (let i = 0; i + k <= words.length; i++) {
      if (lower.slice(0, -1).every((w, j) => words[i + j]!.toLowerCase() === w) && test(words[i + k - 1]!.toLowerCase())) return [i, i + k];
    }
    return null;
  };
  return at((last) => last === lower[k - 1]) ?? at((last) => forms.has(last) || forms.has(unpossessed(last)));
}

/** Words and punctuation marks apart (the words an encoder without a splitText of its own reads). */
export function probeWords(text: string): string[] {
  return text.match(/[\p{L}\p{N}]+(?:['’][\p{L}\p{N}]+)*['’]?|[^\s\p{L}\p{N}]/gu) ?? [];
}

/** Options of `polysemyProbe`. */
export interface PolysemyOptions extends SpanFeatureOptions {
  /** How a sentence becomes the encoder's words (default: the encoder's splitText, else `probeWords`). */
  split?: (text: string) => string[];
}

/** A sentence whose lemma was not found, for the user to see. */
export interface NotFound {
  lemma: string;
  sentence: string;
}

/** What the probe measured. */
export interface PolysemyResult {
  /** Per layer (the encoder's states, bottom up): the share of queries whose nearest neighbour has their sense. */
  accuracy: number[];
  /** Per layer: queries whose best cosine several sentences shared (all of them, for static vectors). */
  tiedQueries: number[];
  /** The expected accuracy of a random nearest neighbour over the same queries. */
  chance: number;
  /** Queries: found sentences whose sense has another found sentence. */
  queries: number;
  /** Lemmas with at least one query. */
  scoredLemmas: number;
  lemmas: number;
  sentences: number;
  /** Sentences in which the lemma was not found (left out), and the first few of them. */
  notFound: number;
  notFoundExamples: NotFound[];
  /** Occurrences the tokenizer gave no token (a zero vector: every cosine 0, a tie). */
  emptySpans: number;
}

interface Occurrence {
  lemma: number;
  sense: number;
  query: SpanQuery;
}

/** Runs the probe (see the file comment) on an encoder. */
export async function polysemyProbe(encoder: Encoder, data: PolysemyData, opts: PolysemyOptions = {}): Promise<PolysemyResult> {
  const split = opts.split ?? encoder.splitText?.bind(encoder) ?? probeWords;
  const lemmas = Object.keys(data);
  let sentences = 0, notFound = 0;
  const notFoundExamples: NotFound[] = [];
  // the found occurrences of lemmas that have a query (the others' sentences need no vectors)
  const occurrences: Occurrence[] = [];
  lemmas.forEach((lemma, l) => {
    const lemmaWords = split(lemma);
    const found: Occurrence[] = [];
    Object.values(data[lemma]!).forEach((list, sense) => {
      for (const sentence of list) {
        sentences++;
        const words = split(sentence);
        const span = findLemma(words, lemmaWords);
        if (span) found.push({ lemma: l, sense, query: { words, spans: [span] } });
        else {
          notFound++;
          if (notFoundExamples.length < 5) notFoundExamples.push({ lemma, sentence });
        }
      }
    });
    const counts = senseCounts(found);
    if (found.some((o) => counts.get(o.sense)! >= 2)) occurrences.push(...found);
  });
  const features = await spanFeatures(encoder, occurrences.map((o) => o.query), opts);
  const H = features.hiddenSize;
  const S = features.layers.length;
  const correct = new Array<number>(S).fill(0), tiedQueries = new Array<number>(S).fill(0);
  let queries = 0, chance = 0, scoredLemmas = 0;
  for (let start = 0; start < occurrences.length;) {
    let end = start;
    while (end < occurrences.length && occurrences[end]!.lemma === occurrences[start]!.lemma) end++;
    const group = occurrences.slice(start, end);
    const counts = senseCounts(group);
    const n = group.length;
    const asked = group.map((o, i) => (counts.get(o.sense)! >= 2 ? i : -1)).filter((i) => i >= 0);
    scoredLemmas++;
    queries += asked.length;
    for (const q of asked) chance += (counts.get(group[q]!.sense)! - 1) / (n - 1);
    for (let layer = 0; layer < S; layer++) {
      const unit = unitRows(features.layers[layer]!, start, n, H);
      for (const q of asked) {
        const cos = Array.from({ length: n }, (_, j) => (j === q ? -Infinity : dot(unit, q, j, H)));
        const best = Math.max(...cos);
        // ties within float32 rounding of one another: the expected score of a random pick among them
        const tied = cos.map((c, j) => (c >= best - 1e-6 ? j : -1)).filter((j) => j >= 0);
        if (tied.length > 1) tiedQueries[layer]!++;
        correct[layer]! += tied.filter((j) => group[j]!.sense === group[q]!.sense).length / tied.length;
      }
    }
    start = end;
  }
  return {
    accuracy: correct.map((c) => (queries ? c / queries : NaN)), tiedQueries, chance: queries ? chance / queries : NaN, queries, scoredLemmas,
    lemmas: lemmas.length, sentences, notFound, notFoundExamples, emptySpans: features.empty,
  };
}

function senseCounts(found: readonly Occurrence[]): Map<number, number> {
  const counts = new Map<number, number>();
  for (const o of found) counts.set(o.sense, (counts.get(o.sense) ?? 0) + 1);
  return counts;
}

/** Rows [start, start + n) of a [rows, H] matrix scaled to unit length (a zero row stays zero: cosine 0 with all). */
function unitRows(m: Float32Array, start: number, n: number, H: number): Float64Array {
  const out = new Float64Array(n * H);
  for (let i = 0; i < n; i++) {
    let norm = 0;
    for (let k = 0; k < H; k++) { const v = m[(start + i) * H + k]!; norm += v * v; }
    const scale = norm > 0 ? 1 / Math.sqrt(norm) : 0;
    for (let k = 0; k < H; k++) out[i * H + k] = m[(start + i) * H + k]! * scale;
  }
  return out;
}

function dot(unit: Float64Array, a: number, b: number, H: number): number {
  let s = 0;
  for (let k = 0; k < H; k++) s += unit[a * H + k]! * unit[b * H + k]!;
  return s;
}

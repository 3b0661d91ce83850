// Builds the demo's bundled inputs (assets/lineage/) from ../shared/data: a corpus of public-domain Gutenberg books,
// two English tasks made from other public-domain books (SST-2's and CoNLL-2003's licences do not allow bundling
// them), and a sample of the WordNet polysemy data. Deterministic: the same shared data gives the same files.
//
//   npx tsx scripts/make-lineage-assets.ts
//
// The tasks (see assets/lineage/SOURCE.md for the rules in full):
//   author  sentence classification: Jane Austen or Charles Dickens. Training sentences from Pride and Prejudice and
//           Great Expectations, dev sentences from Emma and A Tale of Two Cities, so that a model must learn the
//           author's style rather than one book's names.
//   names   tagging: the proper names of a sentence (B-NAME, I-NAME, O), read from the original capitals of the
//           same four books, with the words lowercased so that a model must find names from words and context.
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { gzipSync, gunzipSync } from 'node:zlib';
import { splitSentences } from '../src/text/sentences.js';
import { probeWords } from '../src/tasks/probes/polysemy.js';
import { Rng } from '../src/data/random.js';

const SHARED = join(import.meta.dirname, '..', '..', 'shared', 'data');
const OUT = join(import.meta.dirname, '..', 'assets', 'lineage');

/** The pretraining corpus: short fiction, about 3 MB of text, none of it an author or book of the tasks. */
const CORPUS_BOOKS = [
  'stevenson-treasure-island', 'doyle-the-adventures-of-sherlock-holmes', 'twain-the-adventures-of-tom-sawyer', 'wilde-the-picture-of-dorian-gray',
  'shelley-frankenstein-or-the-modern-prometheus', 'carroll-alices-adventures-in-wonderland', 'baum-the-wonderful-wizard-of-oz',
  'london-the-call-of-the-wild', 'wells-the-war-of-the-worlds', 'montgomery-anne-of-green-gables',
];
/** The task books: [author, training book, dev book]. */
const TASK_BOOKS = [
  ['austen', 'austen-pride-and-prejudice', 'austen-emma'],
  ['dickens', 'dickens-great-expectations', 'dickens-a-tale-of-two-cities'],
] as const;
const SIZES = { train: 1000, dev: 400 };

const book = (slug: string) => gunzipSync(readFileSync(join(SHARED, 'gutenberg', 'books', `${slug}.txt.gz`))).toString('utf8');

/** A book's paragraphs (blank-line separated, wrapped lines joined). */
function paragraphs(text: string): string[] {
  return text.split(/\n\s*\n/).map((p) => p.replace(/\s+/g, ' ').trim()).filter((p) => p.length > 0);
}

/** Sentences of 6 to 25 tokens that read as prose: no headings (all capitals), no chapter titles, no underscores. */
function proseSentences(text: string): string[][] {
  const out: string[][] = [];
  for (const p of paragraphs(text)) {
    for (const s of splitSentences(p)) {
      const words = probeWords(s.replace(/_/g, ''));
      if (words.length < 6 || words.length > 25) continue;
      if (/^chapter\b/i.test(s) || words.some((w) => w.length > 1 && /^\p{Lu}+$/u.test(w) && w !== 'I')) continue;
      out.push(words);
    }
  }
  return out;
}

const isWord = (t: string) => /^[\p{L}\p{N}]/u.test(t);
const capitalised = (t: string) => /^\p{Lu}/u.test(t);

/**
 * How often each lowercased word is capitalised where capitals carry information (not at a sentence's or a quote's
 * start), over the given sentences.
 */
function capitalRates(sentences: readonly string[][]): Map<string, { caps: number; all: number }> {
  const rates = new Map<string, { caps: number; all: number }>();
  for (const words of sentences) {
    words.forEach((w, i) => {
      if (!isWord(w) || i === 0 || !isWord(words[i - 1]!)) return;
      const r = rates.get(w.toLowerCase()) ?? { caps: 0, all: 0 };
      r.all++;
      if (capitalised(w)) r.caps++;
      rates.set(w.toLowerCase(), r);
    });
  }
  return rates;
}

/**
 * The names of a sentence: a capitalised word inside a sentence is a name; one at a sentence's or quote's start
 * (where every word is capitalised) is a name when the books capitalise it in at least 90% of its 2 or more other
 * uses. "I" is never a name. Consecutive names form one entity (B-NAME I-NAME).
 */
function nameTags(words: readonly string[], rates: Map<string, { caps: number; all: number }>): string[] {
  const isName = words.map((w, i) => {
    if (!isWord(w) || !capitalised(w) || w === 'I') return false;
    if (i > 0 && isWord(words[i - 1]!)) return true;
    const r = rates.get(w.toLowerCase());
    return r !== undefined && r.all >= 2 && r.caps / r.all >= 0.9;
  });
  return isName.map((n, i) => (!n ? 'O' : i > 0 && isName[i - 1] ? 'I-NAME' : 'B-NAME'));
}

/** `n` of the items, drawn without replacement by a seeded shuffle, in their original order. */
function sample<T>(items: readonly T[], n: number, seed: number): T[] {
  if (items.length < n) throw new Error(`only ${items.length} sentences for a sample of ${n}`);
  const keep = new Set(new Rng(seed).shuffle(items.map((_, i) => i)).slice(0, n));
  return items.filter((_, i) => keep.has(i));
}

const jsonl = (rows: unknown[]) => `${rows.map((r) => JSON.stringify(r)).join('\n')}\n`;

function main(): void {
  mkdirSync(join(OUT, 'corpus'), { recursive: true });
  let corpusBytes = 0, corpusWords = 0;
  for (const slug of CORPUS_BOOKS) {
    const text = book(slug);
    corpusBytes += Buffer.byteLength(text);
    corpusWords += text.split(/\s+/).filter(Boolean).length;
    writeFileSync(join(OUT, 'corpus', `${slug}.txt.gz`), gzipSync(text, { level: 9 }));
  }
  const bySplit = { train: [] as { author: string; words: string[] }[], dev: [] as { author: string; words: string[] }[] };
  const all: string[][] = [];
  for (const [author, trainBook, devBook] of TASK_BOOKS) {
    for (const [split, slug] of [['train', trainBook], ['dev', devBook]] as const) {
      const sentences = proseSentences(book(slug));
      all.push(...sentences);
      bySplit[split].push(...sentences.map((words) => ({ author, words })));
    }
  }
  const rates = capitalRates(all);
  const lower = (words: readonly string[]) => words.map((w) => w.toLowerCase());
  const counts: Record<string, number> = {};
  for (const split of ['train', 'dev'] as const) {
    const n = SIZES[split];
    // author: half of each author's sentences; names: a sample of the same books that has at least one name
    const authorRows = TASK_BOOKS.flatMap(([author], k) => sample(bySplit[split].filter((s) => s.author === author), n / 2, 11 + k))
      .map((s) => ({ text: lower(s.words).join(' '), label: s.author }));
    const withNames = bySplit[split].map((s) => ({ words: s.words, tags: nameTags(s.words, rates) })).filter((s) => s.tags.some((t) => t !== 'O'));
    const nameRows = sample(withNames, n, 21).map((s) => ({ words: lower(s.words), tags: s.tags }));
    writeFileSync(join(OUT, `author-${split}.jsonl`), jsonl(new Rng(31).shuffle(authorRows)));
    writeFileSync(join(OUT, `names-${split}.jsonl`), jsonl(nameRows));
    counts[`author-${split}`] = authorRows.length;
    counts[`names-${split}`] = nameRows.length;
    counts[`names-${split}-entities`] = nameRows.reduce((s, r) => s + r.tags.filter((t) => t === 'B-NAME').length, 0);
  }
  // polysemy: the first 400 lemmas (in key order) of the dev half that have a sense with two or more examples
  const poly = JSON.parse(gunzipSync(readFileSync(join(SHARED, 'polysemy-wordnet', 'dev.json.gz'))).toString('utf8')) as Record<string, Record<string, string[]>>;
  const lemmas = Object.keys(poly).sort().filter((l) => Object.values(poly[l]!).some((s) => s.length >= 2)).slice(0, 400);
  const subset = Object.fromEntries(lemmas.map((l) => [l, poly[l]!]));
  writeFileSync(join(OUT, 'polysemy.json'), `${JSON.stringify(subset)}\n`);
  counts['polysemy-lemmas'] = lemmas.length;
  counts['polysemy-sentences'] = lemmas.reduce((s, l) => s + Object.values(poly[l]!).flat().length, 0);
  console.log(JSON.stringify({ corpusBooks: CORPUS_BOOKS.length, corpusBytes, corpusWords, ...counts }, null, 2));
}

main();

// Label sets and chunk tags: the label order every reader reports, the tagging scheme of a tag column, and IOB1 to
// IOB2 conversion.
//
// IOB1 (the original CoNLL-2003 release) opens a chunk with I-; B- appears only where a chunk follows one of the same
// type. IOB2 opens every chunk with B-. Converting rewrites an I-X that opens a chunk (at the start of a sentence,
// after O, or after a tag of another type) as B-X; IOB2 input is left unchanged, and so is an I- that continues a chunk.
import type { TagScheme } from './types.js';

const compare = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);

/** Sorts a label set: numerically when every label is a number, else by UTF-16 code units (locale-independent). */
export function sortLabels(labels: Iterable<string>): string[] {
  const out = [...new Set(labels)];
  const numeric = out.length > 0 && out.every((l) => l.trim() !== '' && Number.isFinite(Number(l)));
  return out.sort(numeric ? (a, b) => Number(a) - Number(b) || compare(a, b) : compare);
}

/** Whether tag `i` of a sentence is an I- tag that opens a chunk (so IOB1, or an IOB2 error). */
function opensWithI(tags: readonly string[], i: number): boolean {
  const tag = tags[i]!;
  if (!tag.startsWith('I-')) return false;
  const prev = tags[i - 1];
  return prev === undefined || !/^[BI]-/.test(prev) || prev.slice(2) !== tag.slice(2);
}

/**
 * The scheme of a tag column, over all its sentences (see TagScheme). IOB1 when more chunks open with I- than with
 * B- (in IOB1 B- is kept for a chunk right after one of its type, so I- openings dominate); a few I- openings among
 * B- ones are annotation slips in IOB2 data (MSRA's train split has 6), which conversion repairs as conlleval reads them.
 */
export function detectScheme(sentences: readonly (readonly string[])[]): TagScheme {
  let prefixed = false;
  let bOpenings = 0, iOpenings = 0;
  for (const tags of sentences) {
    for (let i = 0; i < tags.length; i++) {
      const tag = tags[i]!;
      const c = tag.charCodeAt(0);
      if (tag.charCodeAt(1) !== 45 /* - */) continue;
      if (c === 83 /* S */ || c === 69 /* E */) return 'IOBES';
      if (c === 66 /* B */) { prefixed = true; bOpenings++; }
      else if (c === 73 /* I */) { prefixed = true; if (opensWithI(tags, i)) iOpenings++; }
    }
  }
  return !prefixed ? 'none' : iOpenings > bOpenings ? 'IOB1' : 'IOB2';
}

/** A sentence's tags in IOB2, and how many were rewritten (0 for IOB2 input). */
export function toIob2(tags: readonly string[]): { tags: string[]; converted: number } {
  let converted = 0;
  const out = tags.map((tag, i) => {
    if (!opensWithI(tags, i)) return tag;
    converted++;
    return `B-${tag.slice(2)}`;
  });
  return { tags: out, converted };
}

// Character-level Chinese BIO (MSRA NER as in ../shared/data/chinese-ner-msra): one character and its tag a line,
// `char<TAB>tag`, a blank line between sentences; each sentence's words are its characters.
//
// Quirks handled:
// - The separator is a tab; a line without one may use spaces (other copies of MSRA do), split at the last run.
// - The character is kept as it is, not trimmed: a full-width space (U+3000) or NBSP is a character of the sentence.
// - The real file's last sentence has no blank line after it; it is still a sentence. Runs of blank lines make none.
// - A line without exactly a character and a tag (a missing tag, a third field) is an error naming the file and line.
// - Tags are IOB2 in the real file (PER, LOC, ORG), but its train split has 6 I- tags that open an entity (after O
//   or another type); by default they become B-, as conlleval reads them, and are counted in tagging.convertedTags
//   (`iob: 'keep'` keeps them). IOB1 input is detected and converted as for CoNLL (labels.ts).
// - .gz, CRLF, a BOM and invalid UTF-8 (replaced, counted) come from the shared line reader.
import { readTaskLines, requireExamples, sequenceDataset, type Located, type SequenceReadOptions } from './source.js';
import { TaskFormatError, type SequenceDataset, type SequenceExample } from './types.js';

/** Options of readCharBio. */
export type CharBioOptions = SequenceReadOptions;

/** Reads a character-per-line BIO file as sentences of characters and tags. */
export async function readCharBio(path: string, opts: CharBioOptions = {}): Promise<SequenceDataset> {
  const { file, lines, utf8 } = await readTaskLines(path);
  const located: Located<SequenceExample>[] = [];
  let words: string[] = [], labels: string[] = [], start = 0;
  const flush = () => {
    if (words.length > 0) located.push({ example: { words, labels }, line: start });
    words = []; labels = [];
  };
  for (let i = 0; i < lines.length; i++) {
    const text = lines[i]!;
    const line = i + 1;
    const tab = text.indexOf('\t');
    let char: string, tag: string;
    if (tab > 0 && text.indexOf('\t', tab + 1) < 0) {
      // The common case, kept cheap (MSRA's train split is 2.2M lines): one character, a tab, a tag.
      char = text.slice(0, tab);
      tag = text.slice(tab + 1).trim();
    } else if (text.trim() === '') {
      flush();
      continue;
    } else {
      const m = tab >= 0 ? undefined : /^(.*?) +(\S+) *$/u.exec(text);
      const fields = tab >= 0 ? text.split('\t') : m ? [m[1]!, m[2]!] : [text];
      const what = fields.length > 2 ? `${fields.length} fields` : fields[0] === '' ? 'a tag without a character' : 'a character without a tag';
      if (fields.length !== 2 || fields[0] === '') {
        throw new TaskFormatError(file, line, `${what}: expected a character and its tag separated by a tab (char<TAB>tag)`);
      }
      char = fields[0]!;
      tag = fields[1]!.trim();
    }
    if (tag === '') throw new TaskFormatError(file, line, 'a character without a tag: expected a character and its tag separated by a tab (char<TAB>tag)');
    if (words.length === 0) start = line;
    words.push(char);
    labels.push(tag);
  }
  flush();
  requireExamples(file, lines.length, located.length, 'sentences');
  return sequenceDataset(file, 'char-bio', located, {}, utf8, opts);
}

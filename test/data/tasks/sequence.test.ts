// Sequence-labelling readers on fixtures with the real formats' quirks: CoNLL-2003 (IOB1 and IOB2, -DOCSTART-, CRLF,
// .gz, invalid UTF-8), CoNLL-2000, CoNLL-U (ranges, empty nodes, comments) and MSRA's character BIO.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { detectScheme, readCharBio, readConll, readConllu, toIob2 } from '../../../src/data/tasks/index.js';
import { fixture, scratchFile } from './helpers.js';

test('CoNLL-2003 in IOB1 (CRLF, -DOCSTART-, blank-line runs): NER tags come out IOB2 and the scheme is reported', async () => {
  const d = await readConll(fixture('conll2003-iob1.txt'));
  assert.equal(d.kind, 'sequence');
  assert.deepEqual(d.examples, [
    { words: ['EU', 'rejects', 'German', 'call', '.'], labels: ['B-ORG', 'O', 'B-MISC', 'O', 'O'] },
    { words: ['Peter', 'Blackburn'], labels: ['B-PER', 'I-PER'] },
    // Hilton after Paris: another type, so I-PER opens; Brown's B-PER (a PER right after a PER) stays B-.
    { words: ['In', 'Paris', 'Hilton', 'Smith', 'and', 'Jones', 'Brown', '.'], labels: ['O', 'B-LOC', 'B-PER', 'I-PER', 'O', 'B-PER', 'B-PER', 'O'] },
  ]);
  assert.deepEqual(d.tagging, { scheme: 'IOB1', convertedTags: 6 });
  assert.deepEqual(d.counts, { examples: 3, tokens: 15, documents: 2 });
  assert.deepEqual(d.labels, ['B-LOC', 'B-MISC', 'B-ORG', 'B-PER', 'I-PER', 'O']);
  assert.deepEqual(d.labelCounts, { 'B-LOC': 1, 'B-MISC': 1, 'B-ORG': 1, 'B-PER': 4, 'I-PER': 2, O: 6 });
  assert.deepEqual(d.utf8, { invalidSequences: 0, invalidBytes: 0 });
  assert.ok(d.examples.every((e) => e.words.every((w) => !w.includes('\r')) && e.labels.every((l) => !l.includes('\r'))), 'CR stripped');
});

test('CoNLL columns by name or index; iob: keep leaves IOB1 as read; the POS column is scheme none', async () => {
  const kept = await readConll(fixture('conll2003-iob1.txt'), { iob: 'keep' });
  assert.deepEqual(kept.examples[0]!.labels, ['I-ORG', 'O', 'I-MISC', 'O', 'O']);
  assert.deepEqual(kept.tagging, { scheme: 'IOB1', convertedTags: 0 });

  const chunks = await readConll(fixture('conll2003-iob1.txt'), { labelColumn: 'chunk' });
  assert.deepEqual(chunks.examples.map((e) => e.labels), [
    ['B-NP', 'B-VP', 'B-NP', 'I-NP', 'O'],
    ['B-NP', 'I-NP'],
    ['B-PP', 'B-NP', 'I-NP', 'B-NP', 'O', 'B-NP', 'I-NP', 'O'],
  ]);
  assert.deepEqual(chunks.tagging, { scheme: 'IOB1', convertedTags: 7 });

  const pos = await readConll(fixture('conll2003-iob1.txt'), { labelColumn: 1 });
  assert.deepEqual(pos.examples[0]!.labels, ['NNP', 'VBZ', 'JJ', 'NN', '.']);
  assert.deepEqual(pos.tagging, { scheme: 'none', convertedTags: 0 });
  const posByName = await readConll(fixture('conll2003-iob1.txt'), { labelColumn: 'POS' });
  assert.deepEqual(posByName.examples, pos.examples, 'names match case-insensitively');
});

test('CoNLL-2003 as ../shared/data has it: IOB2 in a .gz, a Latin-1 byte replaced and counted, no final newline', async () => {
  const d = await readConll(fixture('conll2003-iob2.txt.gz'));
  assert.deepEqual(d.examples, [
    { words: ['SOCCER', '-', 'JAPAN', 'GET', 'LUCKY', 'WIN', '.'], labels: ['O', 'O', 'B-LOC', 'O', 'O', 'O', 'O'] },
    { words: ['Nadim', 'Ladki', 'at', 'Caf\ufffd', 'Nice'], labels: ['B-PER', 'I-PER', 'O', 'B-LOC', 'I-LOC'] },
  ]);
  assert.deepEqual(d.utf8, { invalidSequences: 1, invalidBytes: 1 });
  assert.deepEqual(d.tagging, { scheme: 'IOB2', convertedTags: 0 });
  assert.equal(d.counts.documents, 1);
});

test('CoNLL-2000 chunking: three columns named token pos chunk, the chunk column by default', async () => {
  const d = await readConll(fixture('conll2000.txt'));
  assert.equal(d.examples.length, 2);
  assert.deepEqual(d.examples[1], { words: ['Chancellor', 'of', 'the', 'Exchequer', '.'], labels: ['O', 'B-PP', 'B-NP', 'I-NP', 'O'] });
  assert.deepEqual(d.counts, { examples: 2, tokens: 13, documents: 0 });
  assert.equal(d.tagging.scheme, 'IOB2');
  const pos = await readConll(fixture('conll2000.txt'), { labelColumn: 'pos' });
  assert.deepEqual(pos.examples[0]!.labels, ['NN', 'IN', 'DT', 'NN', 'VBZ', 'RB', 'VBN', '.']);
  const named = await readConll(fixture('conll2000.txt'), { columnNames: ['word', 'tag', 'chunk'], labelColumn: 'tag', tokenColumn: 'word' });
  assert.deepEqual(named.examples, pos.examples);
});

test('CoNLL files separated by tabs read the same as by spaces', async () => {
  const path = scratchFile('tabs.conll', 'EU\tNNP\tB-NP\tB-ORG\nrejects\tVBZ\tB-VP\tO\n');
  const d = await readConll(path);
  assert.deepEqual(d.examples, [{ words: ['EU', 'rejects'], labels: ['B-ORG', 'O'] }]);
});

test('CoNLL-U: UPOS by default, XPOS or LEMMA by name; ranges, empty nodes and comments skipped and counted', async () => {
  const d = await readConllu(fixture('en-ewt.conllu'));
  assert.deepEqual(d.examples, [
    { words: ['I', 'do', "n't", 'know', '.'], labels: ['PRON', 'AUX', 'PART', 'VERB', 'PUNCT'] },
    { words: ['Sue', 'likes', 'coffee', 'and', 'Bill', 'tea'], labels: ['PROPN', 'VERB', 'NOUN', 'CCONJ', 'PROPN', 'NOUN'] },
    { words: ['50 000'], labels: ['NUM'] },
  ]);
  assert.deepEqual(d.counts, { examples: 3, tokens: 12, multiwordTokens: 1, emptyNodes: 1, comments: 6 });
  assert.deepEqual(d.labels, ['AUX', 'CCONJ', 'NOUN', 'NUM', 'PART', 'PRON', 'PROPN', 'PUNCT', 'VERB']);
  assert.deepEqual(d.labelCounts, { AUX: 1, CCONJ: 1, NOUN: 2, NUM: 1, PART: 1, PRON: 1, PROPN: 2, PUNCT: 1, VERB: 2 });
  assert.equal(d.tagging.scheme, 'none');
  const xpos = await readConllu(fixture('en-ewt.conllu'), { labelColumn: 'xpos' });
  assert.deepEqual(xpos.examples.map((e) => e.labels), [['PRP', 'VBP', 'RB', 'VB', '.'], ['NNP', 'VBZ', 'NN', 'CC', 'NNP', 'NN'], ['CD']]);
  const lemmas = await readConllu(fixture('en-ewt.conllu'), { tokenColumn: 'lemma', labelColumn: 4 });
  assert.deepEqual(lemmas.examples[0], { words: ['I', 'do', 'not', 'know', '.'], labels: ['PRP', 'VBP', 'RB', 'VB', '.'] });
});

test('character BIO (MSRA): a full-width space is a character, a stray I- opening is repaired, invalid bytes counted', async () => {
  const d = await readCharBio(fixture('msra-char.txt'));
  assert.deepEqual(d.examples, [
    { words: [...'中国人民银行在北京。'], labels: ['B-ORG', 'I-ORG', 'I-ORG', 'I-ORG', 'I-ORG', 'I-ORG', 'O', 'B-LOC', 'I-LOC', 'O'] },
    { words: ['\u3000', '张', '三', '说', '李', '\ufffd'], labels: ['O', 'B-PER', 'I-PER', 'O', 'B-PER', 'O'] },
  ]);
  assert.deepEqual(d.tagging, { scheme: 'IOB2', convertedTags: 1 });
  assert.deepEqual(d.utf8, { invalidSequences: 1, invalidBytes: 1 });
  assert.deepEqual(d.counts, { examples: 2, tokens: 16 });
  assert.deepEqual(d.labels, ['B-LOC', 'B-ORG', 'B-PER', 'I-LOC', 'I-ORG', 'I-PER', 'O']);
  const kept = await readCharBio(fixture('msra-char.txt'), { iob: 'keep' });
  assert.equal(kept.examples[1]!.labels[4], 'I-PER');
  assert.equal(kept.labelCounts['B-PER'], 1);
});

test('character BIO separated by spaces (other MSRA copies) reads as by tabs', async () => {
  const d = await readCharBio(scratchFile('space.bio', '北 B-LOC\n京 I-LOC\n\n好 O\n'));
  assert.deepEqual(d.examples, [{ words: ['北', '京'], labels: ['B-LOC', 'I-LOC'] }, { words: ['好'], labels: ['O'] }]);
});

test('scheme detection and IOB1 -> IOB2 conversion', () => {
  assert.equal(detectScheme([['I-PER', 'I-PER', 'O', 'I-LOC']]), 'IOB1');
  assert.equal(detectScheme([['B-PER', 'I-PER', 'O', 'B-LOC']]), 'IOB2');
  assert.equal(detectScheme([['B-PER', 'E-PER', 'S-LOC']]), 'IOBES');
  assert.equal(detectScheme([['NN', 'VB', 'O']]), 'none');
  assert.equal(detectScheme([['B-PER', 'I-PER', 'O', 'B-LOC', 'O', 'I-ORG']]), 'IOB2', 'one stray I- among B- openings is still IOB2');
  assert.deepEqual(toIob2(['I-PER', 'I-PER', 'B-PER', 'I-LOC', 'O', 'I-LOC']), { tags: ['B-PER', 'I-PER', 'B-PER', 'B-LOC', 'O', 'B-LOC'], converted: 3 });
  assert.deepEqual(toIob2(['B-PER', 'I-PER', 'O']), { tags: ['B-PER', 'I-PER', 'O'], converted: 0 });
});

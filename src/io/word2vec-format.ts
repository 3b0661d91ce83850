// word2vec text and binary vector files (word2vec.c, gensim, fastText .vec), plus safetensors + vocabulary.
// Malformed files raise Word2VecFormatError naming the file and the line (text) or byte offset (binary).
import { fsp } from '../platform/node.js';
import { writeFileAtomic, readSafetensors, writeSafetensors } from './safetensors.js';

/** Words and their row-major vectors, as stored in a vector file. */
export interface WordVectorsData {
  words: string[];
  dim: number;
  /** words.length × dim, row-major. */
  vectors: Float32Array;
  /** Optional corpus counts, aligned with words. */
  counts?: number[];
  /**
   * What the file holds past the header's count, which is not loaded (as word2vec.c and gensim read exactly that
   * many): further vector lines (text) or bytes (binary). Absent when there is nothing more.
   */
  beyondHeader?: { lines?: number; bytes?: number };
}

/** Thrown for a malformed vector file; the message names the file and position. */
export class Word2VecFormatError extends Error {
  override name = 'Word2VecFormatError';
}

const decoder = new TextDecoder('utf-8'); // invalid UTF-8 becomes U+FFFD, as gensim's unicode_errors='replace' could do

/** Parses the "count dim" header shared by both formats. */
function parseHeader(line: string, where: string): [number, number] {
  const parts = line.trim().split(/\s+/);
  const n = Number(parts[0]);
  const dim = Number(parts[1]);
  if (parts.length !== 2 || !Number.isInteger(n) || !Number.isInteger(dim) || n < 0 || dim <= 0) {
    throw new Word2VecFormatError(`${where}: expected a header "<count> <dim>", got ${JSON.stringify(line.slice(0, 80))}`);
  }
  return [n, dim];
}

/** Parses word2vec text format (one "word v1 ... vd" line per word after the header). */
export function parseWord2VecText(text: string, where = '<text>'): WordVectorsData {
  const lines = text.split('\n');
  if (lines.length === 0 || lines[0]!.trim() === '') throw new Word2VecFormatError(`${where}:1: empty file, expected a header`);
  const [n, dim] = parseHeader(lines[0]!, `${where}:1`);
  const vectors = new Float32Array(n * dim);
  const words: string[] = [];
  for (let i = 0; i < n; i++) {
    const raw = lines[i + 1];
    if (raw === undefined || (raw.trim() === '' && i + 2 >= lines.length)) {
      throw new Word2VecFormatError(`${where}:${i + 2}: file ends after ${i} of ${n} vectors`);
    }
    // fastText .vec lines end in a space; CRLF files carry \r
    const parts = raw.replace(/\r$/, '').trimEnd().split(' ');
    if (parts.length !== dim + 1) {
      throw new Word2VecFormatError(`${where}:${i + 2}: expected a word and ${dim} numbers, got ${parts.length - 1} numbers`);
    }
    words.push(parts[0]!);
    for (let j = 0; j < dim; j++) {
      const v = Number(parts[j + 1]);
      if (parts[j + 1] === '' || Number.isNaN(v)) {
        throw new Word2VecFormatError(`${where}:${i + 2}: not a number: ${JSON.stringify(parts[j + 1])}`);
      }
      vectors[i * dim + j] = v;
    }
  }
  const more = lines.slice(n + 1).filter((l) => l.trim() !== '').length;
  return { words, dim, vectors, ...(more > 0 ? { beyondHeader: { lines: more } } : {}) };
}

/** Parses word2vec binary format: header line, then per word "word " + dim little-endian float32 (+ optional "\n"). */
export function parseWord2VecBinary(bytes: Uint8Array, where = '<buffer>'): WordVectorsData {
  let pos = bytes.indexOf(0x0a);
  if (pos < 0) throw new Word2VecFormatError(`${where}: byte 0: no header line`);
  const [n, dim] = parseHeader(decoder.decode(bytes.subarray(0, pos)), `${where}: byte 0`);
  pos++;
  const vectors = new Float32Array(n * dim);
  const words: string[] = [];
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  for (let i = 0; i < n; i++) {
    // word2vec.c and gensim skip a newline left before the word (written after each vector by word2vec.c)
    while (pos < bytes.length && bytes[pos] === 0x0a) pos++;
    const start = pos;
    while (pos < bytes.length && bytes[pos] !== 0x20) {
      if (pos - start > 10_000) throw new Word2VecFormatError(`${where}: byte ${start}: word ${i} longer than 10000 bytes (not a binary vector file?)`);
      pos++;
    }
    if (pos >= bytes.length) throw new Word2VecFormatError(`${where}: byte ${start}: file ends inside word ${i} of ${n}`);
    words.push(decoder.decode(bytes.subarray(start, pos)));
    pos++;
    if (pos + dim * 4 > bytes.length) {
      throw new Word2VecFormatError(`${where}: byte ${pos}: file ends inside the vector of word ${i} of ${n} (needs ${dim * 4} bytes)`);
    }
    for (let j = 0; j < dim; j++) vectors[i * dim + j] = view.getFloat32(pos + 4 * j, true);
    pos += dim * 4;
  }
  while (pos < bytes.length && bytes[pos] === 0x0a) pos++;
  return { words, dim, vectors, ...(pos < bytes.length ? { beyondHeader: { bytes: bytes.length - pos } } : {}) };
}

/** Reads a word2vec file; binary unless `binary` is false (auto-detected from the extension when omitted: .txt/.vec are text). */
export async function readWord2Vec(path: string, binary?: boolean): Promise<WordVectorsData> {
  const bytes = await fsp.readFile(path);
  const isBinary = binary ?? !/\.(txt|vec)$/i.test(path);
  return isBinary ? parseWord2VecBinary(bytes, path) : parseWord2VecText(decoder.decode(bytes), path);
}

/** Serialises vectors in word2vec text format (gensim's layout: repr of float32 values, space-separated). */
export function serializeWord2VecText(data: WordVectorsData): string {
  const { words, dim, vectors } = data;
  const out: string[] = [`${words.length} ${dim}`];
  for (let i = 0; i < words.length; i++) {
    const row = new Array<string>(dim);
    for (let j = 0; j < dim; j++) row[j] = shortestFloat32(vectors[i * dim + j]!);
    out.push(`${words[i]} ${row.join(' ')}`);
  }
  return out.join('\n') + '\n';
}

/** The shortest decimal that reads back as the same float32 (so text files round-trip exactly). */
function shortestFloat32(x: number): string {
  for (let p = 1; p <= 9; p++) {
    const s = x.toPrecision(p);
    if (Math.fround(Number(s)) === x) return String(Number(s));
  }
  return String(x);
}

/** Serialises vectors in word2vec binary format, gensim's layout (no newline after a vector; word2vec.c and gensim read both). */
export function serializeWord2VecBinary(data: WordVectorsData): Uint8Array {
  const { words, dim, vectors } = data;
  const enc = new TextEncoder();
  const header = enc.encode(`${words.length} ${dim}\n`);
  const encoded = words.map((w) => enc.encode(w));
  const total = header.length + encoded.reduce((s, w) => s + w.length + 1 + dim * 4, 0);
  const out = new Uint8Array(total);
  const view = new DataView(out.buffer);
  out.set(header, 0);
  let pos = header.length;
  for (let i = 0; i < words.length; i++) {
    const w = encoded[i]!;
    if (w.includes(0x20) || w.includes(0x0a)) throw new Word2VecFormatError(`word ${JSON.stringify(words[i])} contains a space or newline, which the format cannot hold`);
    out.set(w, pos);
    pos += w.length;
    out[pos++] = 0x20;
    for (let j = 0; j < dim; j++) view.setFloat32(pos + 4 * j, vectors[i * dim + j]!, true);
    pos += dim * 4;
  }
  return out;
}

/** Writes a word2vec file (binary or text). */
export async function writeWord2Vec(path: string, data: WordVectorsData, binary = true): Promise<void> {
  await writeFileAtomic(path, binary ? serializeWord2VecBinary(data) : serializeWord2VecText(data));
}

/** Writes a vocabulary file, one "word count" line per word (gensim's save_word2vec_format fvocab layout). */
export async function writeVocab(path: string, words: string[], counts: number[]): Promise<void> {
  await writeFileAtomic(path, words.map((w, i) => `${w} ${counts[i]}\n`).join(''));
}

/** Reads a "word count" vocabulary file. */
export async function readVocab(path: string): Promise<{ words: string[]; counts: number[] }> {
  const text = decoder.decode(await fsp.readFile(path));
  const words: string[] = [];
  const counts: number[] = [];
  text.split('\n').forEach((raw, i) => {
    const line = raw.replace(/\r$/, '');
    if (line === '') return;
    const sp = line.lastIndexOf(' ');
    const c = Number(line.slice(sp + 1));
    if (sp <= 0 || !Number.isInteger(c)) throw new Word2VecFormatError(`${path}:${i + 1}: expected "<word> <count>"`);
    words.push(line.slice(0, sp));
    counts.push(c);
  });
  return { words, counts };
}

/** Writes vectors as safetensors (tensor "vectors", words in metadata as a JSON list) for use with tensor tooling. */
export async function writeVectorsSafetensors(path: string, data: WordVectorsData): Promise<void> {
  const metadata: Record<string, string> = { format: 'word2vec', words: JSON.stringify(data.words) };
  if (data.counts) metadata['counts'] = JSON.stringify(data.counts);
  await writeSafetensors(path, { vectors: { dtype: 'F32', shape: [data.words.length, data.dim], data: data.vectors } }, metadata);
}

/** Reads vectors written by writeVectorsSafetensors. */
export async function readVectorsSafetensors(path: string): Promise<WordVectorsData> {
  const file = await readSafetensors(path);
  const t = file.tensors.get('vectors');
  const wordsJson = file.metadata['words'];
  if (!t || t.shape.length !== 2 || wordsJson === undefined) throw new Word2VecFormatError(`${path}: no "vectors" matrix with a "words" metadata list`);
  const words = JSON.parse(wordsJson) as string[];
  if (words.length !== t.shape[0]) throw new Word2VecFormatError(`${path}: ${words.length} words for ${t.shape[0]} vectors`);
  const counts = file.metadata['counts'] !== undefined ? (JSON.parse(file.metadata['counts']) as number[]) : undefined;
  return { words, dim: t.shape[1]!, vectors: Float32Array.from(t.data), ...(counts ? { counts } : {}) };
}

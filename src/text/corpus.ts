// Text corpora streamed in constant memory: files, folders (recursive, sorted) and .gz, read as lines, sentences or
// documents, with invalid UTF-8 replaced (U+FFFD) and counted, never a crash.
//
// Layouts: 'sentence-per-line' is BERT's (one sentence a line, a blank line between documents); 'prose' is raw
// paragraphs (blank-line separated, wrapped lines joined) split into sentences by rule, English and Chinese; 'raw'
// keeps every line of a file as it is, the file being one document (LM data wants the text unchanged).
import { fs, fsp, nodePath, zlib } from '../platform/node.js';
import { splitSentences } from './sentences.js';
import { Utf8Counter } from './utf8.js';

/** How a corpus is laid out; see the file comment. */
export type CorpusLayout = 'sentence-per-line' | 'prose' | 'raw';

/** A file of a corpus, with its size on disk (compressed size for .gz). */
export interface CorpusFile {
  path: string;
  bytes: number;
}

/** Running counts of a corpus read, updated as it streams (progress bars read them). */
export interface CorpusStats {
  files: number;
  /** Bytes read from disk so far (compressed bytes for .gz), against `totalBytes`. */
  bytesRead: number;
  totalBytes: number;
  lines: number;
  documents: number;
  sentences: number;
  /** Replacement characters produced for invalid UTF-8, and the bytes they replaced. */
  invalidSequences: number;
  invalidBytes: number;
  /** Files that had invalid UTF-8, with their own counts. */
  invalidFiles: { path: string; sequences: number; bytes: number }[];
}

/** Options of a corpus read. */
export interface CorpusOptions {
  layout?: CorpusLayout;
  /** For 'prose': a document is a whole file (books) or each paragraph (news items, reviews). Default 'file'. */
  proseDocuments?: 'file' | 'paragraph';
  /** Called after each chunk read from disk, with the running stats. */
  onProgress?: (stats: Readonly<CorpusStats>) => void;
  /** Chunk size of reads (the memory bound, together with the longest line). Default 64 KiB. */
  chunkBytes?: number;
}

/** Lists the files of paths (files and folders, recursively, sorted by name; hidden entries skipped). */
export async function listCorpusFiles(paths: string | readonly string[]): Promise<CorpusFile[]> {
  const out: CorpusFile[] = [];
  const visit = async (path: string, top: boolean) => {
    let info;
    try {
      info = await fsp.stat(path);
    } catch (err) {
      throw new Error(`${path}: ${(err as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file or folder' : (err as Error).message}`);
    }
    if (info.isDirectory()) {
      const names = (await fsp.readdir(path)).filter((n) => !n.startsWith('.')).sort();
      for (const name of names) await visit(nodePath.join(path, name), false);
    } else if (info.isFile() && (top || !/\.(md|json)$/i.test(path))) {
      // Inside folders, README/SOURCE notes and JSON sidecars are not corpus text; named files are always read.
      out.push({ path, bytes: info.size });
    }
  };
  for (const p of typeof paths === 'string' ? [paths] : paths) await visit(p, true);
  if (out.length === 0) throw new Error(`${[paths].flat().join(', ')}: no corpus files found`);
  return out;
}

/** A corpus over files and folders; each read (lines, sentences, documents) streams it from the start. */
export class Corpus {
  /** Counts of the latest (or current) read. */
  stats: CorpusStats;
  private constructor(readonly files: CorpusFile[], private readonly opts: CorpusOptions) {
    this.stats = this.freshStats();
  }

  /** Lists the files of `paths` (see `listCorpusFiles`). */
  static async open(paths: string | readonly string[], opts: CorpusOptions = {}): Promise<Corpus> {
    return new Corpus(await listCorpusFiles(paths), opts);
  }

  /** Bytes on disk of all files. */
  get totalBytes(): number { return this.files.reduce((s, f) => s + f.bytes, 0); }

  private freshStats(): CorpusStats {
    return { files: 0, bytesRead: 0, totalBytes: this.totalBytes, lines: 0, documents: 0, sentences: 0, invalidSequences: 0, invalidBytes: 0, invalidFiles: [] };
  }

  /** Lines of every file in order (without line ends, \r\n and \n alike), with the file they come from. */
  async *linesWithFiles(): AsyncGenerator<{ line: string; file: string; fileIndex: number }> {
    this.stats = this.freshStats();
    const stats = this.stats;
    for (let fileIndex = 0; fileIndex < this.files.length; fileIndex++) {
      const file = this.files[fileIndex]!;
      const before = stats.bytesRead;
      for await (const line of this.fileLines(file, (n) => { stats.bytesRead = before + n; })) {
        stats.lines++;
        yield { line, file: file.path, fileIndex };
      }
      stats.files++;
    }
  }

  /** Lines of every file in order. */
  async *lines(): AsyncGenerator<string> {
    for await (const { line } of this.linesWithFiles()) yield line;
  }

  private async *fileLines(file: CorpusFile, onBytes: (n: number) => void): AsyncGenerator<string> {
    const raw = fs.createReadStream(file.path, { highWaterMark: this.opts.chunkBytes ?? 65536 });
    const source = /\.gz$/i.test(file.path) ? raw.pipe(zlib.createGunzip()) : raw;
    raw.on('error', (err) => source.destroy(err));
    const decoder = new TextDecoder('utf-8'); // non-fatal: invalid bytes become U+FFFD; a leading BOM is dropped
    const counter = new Utf8Counter();
    let carry = '';
    const lines = (text: string, final: boolean): string[] => {
      const parts = (carry + text).split('\n');
      carry = final ? '' : parts.pop()!;
      if (final && parts[parts.length - 1] === '') parts.pop();
      return parts.map((l) => (l.endsWith('\r') ? l.slice(0, -1) : l));
    };
    try {
      for await (const chunk of source as AsyncIterable<Buffer>) {
        counter.push(chunk);
        onBytes(raw.bytesRead);
        for (const l of lines(decoder.decode(chunk, { stream: true }), false)) yield l;
        this.opts.onProgress?.(this.stats);
      }
    } catch (err) {
      throw new Error(`${file.path}: ${(err as Error).message}`);
    } finally {
      raw.destroy(); // a consumer that stops early must not leak the descriptor
    }
    counter.end();
    for (const l of lines(decoder.decode(), true)) yield l;
    if (counter.invalidSequences > 0) {
      this.stats.invalidSequences += counter.invalidSequences;
      this.stats.invalidBytes += counter.invalidBytes;
      this.stats.invalidFiles.push({ path: file.path, sequences: counter.invalidSequences, bytes: counter.invalidBytes });
    }
    this.opts.onProgress?.(this.stats);
  }

  /** Documents as arrays of sentences, in the corpus layout; a file boundary always ends a document. */
  async *documents(): AsyncGenerator<string[]> {
    const layout = this.opts.layout ?? 'sentence-per-line';
    const perParagraph = this.opts.proseDocuments === 'paragraph';
    let doc: string[] = [];
    let paragraph: string[] = [];
    let file = -1;
    const flushParagraph = () => {
      if (paragraph.length === 0) return;
      for (const s of splitSentences(joinWrapped(paragraph))) doc.push(s);
      paragraph = [];
    };
    /** Ends the current document: returns it (counted) if it has sentences. */
    const finish = (): string[] | undefined => {
      const done = doc;
      doc = [];
      if (done.length === 0) return undefined;
      this.stats.documents++;
      this.stats.sentences += done.length;
      return done;
    };
    let ended: string[] | undefined;
    for await (const { line, fileIndex } of this.linesWithFiles()) {
      if (fileIndex !== file) {
        flushParagraph();
        if ((ended = finish())) yield ended;
        file = fileIndex;
      }
      if (layout === 'raw') { doc.push(line); continue; }
      const text = line.trim();
      if (text && layout === 'sentence-per-line') doc.push(text);
      else if (text) paragraph.push(text);
      else {
        flushParagraph();
        if ((layout === 'sentence-per-line' || perParagraph) && (ended = finish())) yield ended;
      }
    }
    flushParagraph();
    if ((ended = finish())) yield ended;
  }

  /** Sentences of every document, in order. */
  async *sentences(): AsyncGenerator<string> {
    for await (const doc of this.documents()) yield* doc;
  }
}

const CJK = /[\u3000-\u303f\u3400-\u9fff\uf900-\ufaff\uff00-\uffef]/;

/** Joins the wrapped lines of a paragraph: with a space, or with nothing between Chinese characters. */
export function joinWrapped(lines: readonly string[]): string {
  let out = lines[0] ?? '';
  for (let i = 1; i < lines.length; i++) {
    const line = lines[i]!;
    out += CJK.test(out[out.length - 1] ?? '') && CJK.test(line[0] ?? '') ? line : ` ${line}`;
  }
  return out;
}

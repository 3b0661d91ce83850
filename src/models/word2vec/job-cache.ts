// The jobs of the first training epoch, kept on disk for the later epochs: each job's word ids and sentence ends are
// written as they are (int32), so a later epoch reads them straight back into a job slot of the shared memory
// instead of reading, lowercasing, splitting and looking up the text again. The file takes 4 bytes per vocabulary
// word and per sentence, in a temporary folder removed when training ends.
import { fs, os, nodePath } from '../../platform/node.js';

/** A job in a slot: ids back to back, and each sentence's end. */
export interface JobArrays { words: Int32Array; ends: Int32Array }

/** An append-then-replay file of jobs. */
export class JobCache {
  private readonly dir: string;
  private readonly fd: number;
  private readonly header = new Int32Array(2);
  private writeAt = 0;
  private readAt = 0;

  constructor() {
    this.dir = fs.mkdtempSync(nodePath.join(os.tmpdir(), 'pretrain-word2vec-'));
    this.fd = fs.openSync(nodePath.join(this.dir, 'jobs.bin'), 'w+');
  }

  private write(view: Int32Array): void {
    for (let done = 0; done < view.byteLength;) done += fs.writeSync(this.fd, view, done, view.byteLength - done, this.writeAt + done);
    this.writeAt += view.byteLength;
  }

  private read(view: Int32Array): void {
    for (let done = 0; done < view.byteLength;) {
      const n = fs.readSync(this.fd, view, done, view.byteLength - done, this.readAt + done);
      if (n === 0) throw new Error('word2vec: the job cache file ended early');
      done += n;
    }
    this.readAt += view.byteLength;
  }

  /** Appends a job of `words` ids in `sentences` sentences. */
  append(job: JobArrays, words: number, sentences: number): void {
    this.header[0] = words;
    this.header[1] = sentences;
    this.write(this.header);
    this.write(job.words.subarray(0, words));
    this.write(job.ends.subarray(0, sentences));
  }

  /** Starts reading from the first job again. */
  rewind(): void {
    this.readAt = 0;
  }

  /** Reads the next job into `job`; its word and sentence counts, or undefined after the last. */
  next(job: JobArrays): { words: number; sentences: number } | undefined {
    if (this.readAt >= this.writeAt) return undefined;
    this.read(this.header);
    const [words, sentences] = this.header as unknown as [number, number];
    this.read(job.words.subarray(0, words));
    this.read(job.ends.subarray(0, sentences));
    return { words, sentences };
  }

  /** Deletes the file. */
  close(): void {
    fs.closeSync(this.fd);
    fs.rmSync(this.dir, { recursive: true, force: true });
  }
}

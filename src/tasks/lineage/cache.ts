// The lineage's content-hash cache: every pretrained model and every set of frozen features lives in a directory
// named by the hash of what made it (the settings, and the bytes of every input file), so a rerun, an added task or
// an added seed finds what it needs and a changed setting or input makes it anew. Entries are built in a temporary
// sibling and renamed into place with a `done` marker, so an interrupted build never passes for a finished one.
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { mkdir, readFile, readdir, rename, rm, stat, writeFile } from 'node:fs/promises';
import { join, relative } from 'node:path';

/** JSON with object keys sorted, so that equal settings hash equally whatever order their fields were written in. */
export function canonicalJson(value: unknown): string {
  return JSON.stringify(value, (_, v: unknown) => (v && typeof v === 'object' && !Array.isArray(v)
    ? Object.fromEntries(Object.keys(v as object).sort().map((k) => [k, (v as Record<string, unknown>)[k]]))
    : v));
}

/** The first 16 hex digits of SHA-256 over the canonical JSON of a value. */
export function hashOf(value: unknown): string {
  return createHash('sha256').update(canonicalJson(value)).digest('hex').slice(0, 16);
}

/** Every file under the given files and folders (recursively), sorted. */
async function filesUnder(paths: readonly string[]): Promise<string[]> {
  const out: string[] = [];
  const walk = async (path: string): Promise<void> => {
    const s = await stat(path).catch(() => { throw new Error(`${path}: no such file or folder`); });
    if (!s.isDirectory()) { out.push(path); return; }
    for (const name of (await readdir(path)).sort()) await walk(join(path, name));
  };
  for (const p of paths) await walk(p);
  return out;
}

/**
 * SHA-256 (16 hex digits) of the contents of files and folders: each file's path below the folder given and its
 * bytes, so that a moved copy hashes the same and an edited, added or removed file does not.
 */
export async function hashFiles(paths: readonly string[]): Promise<string> {
  const h = createHash('sha256');
  for (const root of paths) {
    for (const file of await filesUnder([root])) {
      h.update(`${relative(root, file) || '.'}\0`);
      for await (const chunk of createReadStream(file)) h.update(chunk as Buffer);
      h.update('\0');
    }
  }
  return h.digest('hex').slice(0, 16);
}

/** A finished cache entry. */
export interface CacheEntry<M> {
  dir: string;
  /** The entry's hash (the last part of its directory name). */
  hash: string;
  /** What the build returned, kept in the entry's `done` file. */
  meta: M;
  /** Whether it was there already (false: built by this call). */
  hit: boolean;
}

/** A directory of entries named `<kind>-<hash of key>`. */
export class ContentCache {
  constructor(readonly root: string) {}

  /** The directory an entry of this kind and key has (whether or not it is built). */
  dirOf(kind: string, key: unknown): string {
    return join(this.root, `${kind}-${hashOf({ kind, key })}`);
  }

  /** The finished entry, or null. */
  async lookup<M>(kind: string, key: unknown): Promise<CacheEntry<M> | null> {
    const dir = this.dirOf(kind, key);
    const done = await readFile(join(dir, 'done'), 'utf8').catch(() => null);
    if (done === null) return null;
    return { dir, hash: dir.slice(dir.lastIndexOf('-') + 1), meta: (JSON.parse(done) as { meta: M }).meta, hit: true };
  }

  /**
   * The entry of this kind and key: the finished one, or built now by `build` into an empty directory (which then
   * becomes the entry). The key is kept in the entry (key.json) for a reader to see what made it.
   */
  async get<M>(kind: string, key: unknown, build: (dir: string) => Promise<M>): Promise<CacheEntry<M>> {
    return (await this.lookup<M>(kind, key)) ?? this.put(kind, key, build);
  }

  /** Builds the entry of this kind and key anew, replacing any finished one (a store that grew). */
  async put<M>(kind: string, key: unknown, build: (dir: string) => Promise<M>): Promise<CacheEntry<M>> {
    const dir = this.dirOf(kind, key);
    const tmp = `${dir}.tmp-${process.pid}`;
    await rm(tmp, { recursive: true, force: true });
    await mkdir(tmp, { recursive: true });
    const meta = await build(tmp);
    await writeFile(join(tmp, 'key.json'), `${JSON.stringify({ kind, key }, null, 2)}\n`);
    await writeFile(join(tmp, 'done'), `${JSON.stringify({ finished: new Date().toISOString(), meta })}\n`);
    await rm(dir, { recursive: true, force: true });
    await rename(tmp, dir);
    return { dir, hash: dir.slice(dir.lastIndexOf('-') + 1), meta, hit: false };
  }
}

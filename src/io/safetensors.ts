// safetensors, read and written to the format's specification: an 8-byte little-endian header length, a JSON header
// of {name: {dtype, shape, data_offsets}} (plus an optional "__metadata__" string map), then the data buffer.
// Malformed files are rejected with an error that names the file and the problem, and nothing is read past the end.
import { fsp, processId } from '../platform/node.js';
import type { FileHandle } from 'node:fs/promises';

/** Element types read here (F16/BF16 widen to float32, I64 narrows to int32 with a range check); written: F32, F64, I32, I64. */
export type SafetensorsDType = 'F32' | 'F16' | 'BF16' | 'I64' | 'I32' | 'F64';

/** One tensor of a safetensors file, with its data as a host array. */
export interface SafetensorsTensor {
  dtype: SafetensorsDType;
  shape: number[];
  data: Float32Array | Int32Array | Float64Array;
}

/** The contents of a safetensors file. */
export interface SafetensorsFile {
  tensors: Map<string, SafetensorsTensor>;
  metadata: Record<string, string>;
}

const BYTES: Record<SafetensorsDType, number> = { F32: 4, F16: 2, BF16: 2, I64: 8, I32: 4, F64: 8 };
/** Headers larger than this are refused (the Rust reference implementation's limit). */
const MAX_HEADER = 100_000_000;

/** Thrown for a malformed safetensors file; the message names the file. */
export class SafetensorsError extends Error {
  override name = 'SafetensorsError';
}

function f16ToF32(h: number): number {
  const sign = h & 0x8000 ? -1 : 1;
  const exp = (h >> 10) & 0x1f, frac = h & 0x3ff;
  if (exp === 0) return sign * frac * 2 ** -24;
  if (exp === 31) return frac ? NaN : sign * Infinity;
  return sign * (1 + frac / 1024) * 2 ** (exp - 15);
}

interface Entry { name: string; dtype: SafetensorsDType; shape: number[]; begin: number; end: number }

/** A parsed and validated header: tensor entries (in data order) and the metadata map. */
function parseHeader(headerBytes: Uint8Array, dataLen: number, fail: (msg: string) => never): { entries: Entry[]; metadata: Record<string, string> } {
  let header: unknown;
  try {
    header = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(headerBytes));
  } catch (err) {
    fail(`header is not valid UTF-8 JSON (${(err as Error).message})`);
  }
  if (typeof header !== 'object' || header === null || Array.isArray(header)) fail('header is not a JSON object');
  const metadata: Record<string, string> = {};
  const entries: Entry[] = [];
  for (const [name, info] of Object.entries(header as Record<string, unknown>)) {
    if (name === '__metadata__') {
      if (typeof info !== 'object' || info === null || Array.isArray(info)) fail('__metadata__ is not an object');
      for (const [k, v] of Object.entries(info as Record<string, unknown>)) {
        if (typeof v !== 'string') fail(`__metadata__ value of '${k}' is not a string`);
        metadata[k] = v as string;
      }
      continue;
    }
    const t = info as { dtype?: unknown; shape?: unknown; data_offsets?: unknown };
    if (typeof t !== 'object' || t === null) fail(`tensor '${name}': entry is not an object`);
    if (typeof t.dtype !== 'string' || !Object.hasOwn(BYTES, t.dtype)) fail(`tensor '${name}': unsupported dtype ${JSON.stringify(t.dtype)}`);
    if (!Array.isArray(t.shape) || t.shape.some((d) => !Number.isSafeInteger(d) || d < 0)) fail(`tensor '${name}': bad shape ${JSON.stringify(t.shape)}`);
    const off = t.data_offsets;
    if (!Array.isArray(off) || off.length !== 2 || off.some((o) => !Number.isSafeInteger(o) || o < 0) || off[0] > off[1]) {
      fail(`tensor '${name}': bad data_offsets ${JSON.stringify(off)}`);
    }
    const [begin, end] = off as [number, number];
    if (end > dataLen) fail(`tensor '${name}': data_offsets [${begin}, ${end}] run past the data buffer of ${dataLen} bytes`);
    const dtype = t.dtype as SafetensorsDType;
    const shape = t.shape as number[];
    const expected = shape.reduce((p, d) => p * d, 1) * BYTES[dtype];
    if (!Number.isSafeInteger(expected)) fail(`tensor '${name}': shape [${shape.join(', ')}] overflows`);
    if (end - begin !== expected) fail(`tensor '${name}': ${end - begin} bytes for ${dtype} shape [${shape.join(', ')}], which needs ${expected}`);
    entries.push({ name, dtype, shape, begin, end });
  }
  // The buffer must be covered exactly: no overlaps, no holes (the Rust reader refuses both).
  entries.sort((a, b) => a.begin - b.begin || a.end - b.end);
  let cursor = 0;
  for (const { name, begin, end } of entries) {
    if (begin < cursor) fail(`tensor '${name}': data_offsets [${begin}, ${end}] overlap the previous tensor (which ends at ${cursor})`);
    if (begin > cursor) fail(`tensor '${name}': a hole of ${begin - cursor} bytes before data_offsets [${begin}, ${end}]`);
    cursor = end;
  }
  if (cursor !== dataLen) fail(`the data buffer has ${dataLen - cursor} bytes after the last tensor`);
  return { entries, metadata };
}

/** Checks the 8-byte header length against the file size; returns it as a number. */
function headerLength(prefix: Uint8Array, fileSize: number, fail: (msg: string) => never): number {
  if (fileSize < 8) fail(`file is ${fileSize} bytes, too short for the 8-byte header length`);
  const headerLen = new DataView(prefix.buffer, prefix.byteOffset, 8).getBigUint64(0, true);
  if (headerLen > BigInt(fileSize - 8)) fail(`header length ${headerLen} runs past the end of the file (${fileSize} bytes)`);
  if (headerLen > BigInt(MAX_HEADER)) fail(`header length ${headerLen} exceeds the limit of ${MAX_HEADER} bytes`);
  return Number(headerLen);
}

const failer = (where: string) => (msg: string): never => { throw new SafetensorsError(`${where}: ${msg}`); };

/** Parses safetensors bytes; `where` names the file in errors. */
export function parseSafetensors(bytes: Uint8Array, where = '<buffer>'): SafetensorsFile {
  const fail = failer(where);
  const n = headerLength(bytes, bytes.length, fail);
  const dataStart = 8 + n;
  const { entries, metadata } = parseHeader(bytes.subarray(8, dataStart), bytes.length - dataStart, fail);
  const tensors = new Map<string, SafetensorsTensor>();
  for (const { name, dtype, shape, begin, end } of entries) {
    tensors.set(name, { dtype, shape, data: decode(bytes.subarray(dataStart + begin, dataStart + end), dtype, name, fail) });
  }
  return { tensors, metadata };
}

/** Decodes one tensor's bytes (exactly its byte range) into a host array. */
function decode(raw: Uint8Array, dtype: SafetensorsDType, name: string, fail: (m: string) => never): SafetensorsTensor['data'] {
  const view = new DataView(raw.buffer, raw.byteOffset, raw.byteLength);
  const count = raw.byteLength / BYTES[dtype];
  // Hosts are little-endian (as the format), so an aligned copy of the bytes is the array. (Node's Buffer.slice does
  // not copy, hence Uint8Array's.)
  const copy = () => Uint8Array.prototype.slice.call(raw).buffer;
  switch (dtype) {
    case 'F32': return new Float32Array(copy());
    case 'F64': return new Float64Array(copy());
    case 'I32': return new Int32Array(copy());
    case 'F16': { const out = new Float32Array(count); for (let i = 0; i < count; i++) out[i] = f16ToF32(view.getUint16(2 * i, true)); return out; }
    case 'BF16': {
      // bfloat16 is the top half of a float32.
      const out = new Float32Array(count), bits = new Uint32Array(out.buffer);
      for (let i = 0; i < count; i++) bits[i] = view.getUint16(2 * i, true) << 16;
      return out;
    }
    case 'I64': {
      // Token ids, labels and positions are what I64 holds in checkpoints; int32 is the engine's integer type, so
      // narrow, and refuse (never wrap) a value that does not fit.
      const out = new Int32Array(count);
      for (let i = 0; i < count; i++) {
        const v = view.getBigInt64(8 * i, true);
        if (v > 2147483647n || v < -2147483648n) fail(`tensor '${name}': I64 value ${v} at element ${i} does not fit int32`);
        out[i] = Number(v);
      }
      return out;
    }
  }
}

/** Reads a safetensors file (or parses bytes). */
export async function readSafetensors(source: string | Uint8Array): Promise<SafetensorsFile> {
  if (typeof source !== 'string') return parseSafetensors(source);
  let bytes: Uint8Array;
  try {
    bytes = await fsp.readFile(source);
  } catch (err) {
    throw new SafetensorsError(`${source}: ${(err as Error).message}`);
  }
  return parseSafetensors(bytes, source);
}

/** Where one tensor lies in a file opened lazily. */
export interface SafetensorsInfo {
  dtype: SafetensorsDType;
  shape: number[];
  /** Byte range in the data buffer. */
  dataOffsets: [number, number];
}

/** A safetensors file opened by descriptor: the header is read and validated, tensors are read one at a time. */
export class SafetensorsReader {
  private constructor(
    readonly path: string,
    private readonly fh: FileHandle,
    private readonly dataStart: number,
    private readonly infos: Map<string, SafetensorsInfo>,
    readonly metadata: Record<string, string>,
  ) {}

  /** Opens `path` and validates its header against the file size (no tensor data is read). */
  static async open(path: string): Promise<SafetensorsReader> {
    const fail = failer(path);
    let fh: FileHandle;
    try {
      fh = await fsp.open(path, 'r');
    } catch (err) {
      throw new SafetensorsError(`${path}: ${(err as Error).message}`);
    }
    try {
      const { size } = await fh.stat();
      const prefix = new Uint8Array(8);
      if (size >= 8) await readExactly(fh, prefix, 0);
      const n = headerLength(prefix, size, fail);
      const header = new Uint8Array(n);
      await readExactly(fh, header, 8);
      const { entries, metadata } = parseHeader(header, size - 8 - n, fail);
      const infos = new Map(entries.map((e) => [e.name, { dtype: e.dtype, shape: e.shape, dataOffsets: [e.begin, e.end] as [number, number] }]));
      return new SafetensorsReader(path, fh, 8 + n, infos, metadata);
    } catch (err) {
      await fh.close();
      throw err;
    }
  }

  /** Tensor names in data order. */
  get names(): string[] { return [...this.infos.keys()]; }

  /** Dtype, shape and byte range of a tensor, or undefined. */
  info(name: string): SafetensorsInfo | undefined { return this.infos.get(name); }

  /** Reads and decodes one tensor. */
  async read(name: string): Promise<SafetensorsTensor> {
    const info = this.infos.get(name);
    if (!info) throw new SafetensorsError(`${this.path}: no tensor named '${name}' (has ${this.names.join(', ')})`);
    const [begin, end] = info.dataOffsets;
    const raw = new Uint8Array(end - begin);
    await readExactly(this.fh, raw, this.dataStart + begin);
    return { dtype: info.dtype, shape: info.shape, data: decode(raw, info.dtype, name, failer(this.path)) };
  }

  /** Closes the file descriptor. */
  close(): Promise<void> { return this.fh.close(); }
}

/** Fills `buf` from `position`; a short read (the file shrank under us) is an error, never a partial tensor. */
async function readExactly(fh: FileHandle, buf: Uint8Array, position: number): Promise<void> {
  let done = 0;
  while (done < buf.length) {
    const { bytesRead } = await fh.read(buf, done, buf.length - done, position + done);
    if (bytesRead === 0) throw new SafetensorsError(`unexpected end of file at byte ${position + done}`);
    done += bytesRead;
  }
}

/** Order of the Rust writer: by dtype rank (its enum order, larger alignment first), then by name. */
const WRITE_RANK: Record<string, number> = { I64: 3, F64: 2, F32: 1, I32: 0 };

/** Serialises tensors (F32, F64, I32, I64) byte for byte as the Rust writer does: tensors ordered by dtype (I64, F64,
 * F32, I32) then name, the header padded with spaces to a multiple of 8 bytes. */
export function serializeSafetensors(tensors: Map<string, SafetensorsTensor> | Record<string, SafetensorsTensor>, metadata?: Record<string, string>): Uint8Array {
  const entries = [...(tensors instanceof Map ? tensors : new Map(Object.entries(tensors)))];
  for (const [name, t] of entries) {
    if (!(t.dtype in WRITE_RANK)) throw new SafetensorsError(`serializeSafetensors: tensor '${name}': writing ${t.dtype} is not supported (F32, F64, I32, I64)`);
    const size = t.shape.reduce((p, d) => p * d, 1);
    if (size !== t.data.length) throw new SafetensorsError(`serializeSafetensors: tensor '${name}': ${t.data.length} values for shape [${t.shape.join(', ')}]`);
  }
  entries.sort(([a, ta], [b, tb]) => WRITE_RANK[tb.dtype]! - WRITE_RANK[ta.dtype]! || (a < b ? -1 : a > b ? 1 : 0));
  const header: Record<string, unknown> = {};
  if (metadata && Object.keys(metadata).length > 0) header.__metadata__ = metadata;
  let offset = 0;
  for (const [name, t] of entries) {
    const bytes = t.data.length * BYTES[t.dtype];
    header[name] = { dtype: t.dtype, shape: t.shape, data_offsets: [offset, offset + bytes] };
    offset += bytes;
  }
  const headerBytes = new TextEncoder().encode(JSON.stringify(header));
  const padded = Math.ceil(headerBytes.length / 8) * 8;
  const out = new Uint8Array(8 + padded + offset);
  new DataView(out.buffer).setBigUint64(0, BigInt(padded), true);
  out.set(headerBytes, 8);
  out.fill(0x20, 8 + headerBytes.length, 8 + padded);
  let pos = 8 + padded;
  for (const [, t] of entries) {
    const typed = t.dtype === 'F32' ? asType(Float32Array, t.data) : t.dtype === 'F64' ? asType(Float64Array, t.data)
      : t.dtype === 'I64' ? BigInt64Array.from(t.data, (v) => BigInt(v)) : asType(Int32Array, t.data);
    out.set(new Uint8Array(typed.buffer, typed.byteOffset, typed.byteLength), pos);
    pos += typed.byteLength;
  }
  return out;
}

/** The data as the given array type, copied only when it is another type. */
function asType<A extends Float32Array | Float64Array | Int32Array>(ctor: { new (n: number): A; from(a: ArrayLike<number>): A }, data: ArrayLike<number>): A {
  return data instanceof ctor ? data : ctor.from(data);
}

/** Writes a safetensors file atomically (a temporary file, then a rename), so a crash never leaves half a file. */
export async function writeSafetensors(path: string, tensors: Map<string, SafetensorsTensor> | Record<string, SafetensorsTensor>, metadata?: Record<string, string>): Promise<void> {
  await writeFileAtomic(path, serializeSafetensors(tensors, metadata));
}

/** Writes bytes to a file atomically (temporary file in the same folder, fsync, rename); no temporary is left behind. */
export async function writeFileAtomic(path: string, data: string | Uint8Array): Promise<void> {
  const tmp = `${path}.tmp-${processId()}-${Date.now()}-${Math.random().toString(36).slice(2, 8)}`;
  try {
    const fh = await fsp.open(tmp, 'w');
    try {
      await fh.writeFile(data);
      await fh.sync();
    } finally {
      await fh.close();
    }
    await fsp.rename(tmp, path);
  } catch (err) {
    await fsp.rm(tmp, { force: true });
    throw err;
  }
}

// safetensors, read and written to the format's specification: an 8-byte little-endian header length, a JSON header
// of {name: {dtype, shape, data_offsets}} (plus an optional "__metadata__" string map), then the data buffer.
// Malformed files are rejected with an error that names the file and the problem, and nothing is read past the end.
import { open, readFile, rename, rm, writeFile } from 'node:fs/promises';

/** Element types read here (F16/BF16 widen to float32, I64 narrows to int32 with a range check); written: F32, I32. */
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

/** Parses safetensors bytes; `where` names the file in errors. */
export function parseSafetensors(bytes: Uint8Array, where = '<buffer>'): SafetensorsFile {
  const fail = (msg: string): never => { throw new SafetensorsError(`${where}: ${msg}`); };
  if (bytes.length < 8) fail(`file is ${bytes.length} bytes, too short for the 8-byte header length`);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const headerLen = view.getBigUint64(0, true);
  if (headerLen > BigInt(bytes.length - 8)) fail(`header length ${headerLen} runs past the end of the file (${bytes.length} bytes)`);
  if (headerLen > BigInt(MAX_HEADER)) fail(`header length ${headerLen} exceeds the limit of ${MAX_HEADER} bytes`);
  const n = Number(headerLen);
  let header: unknown;
  try {
    header = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(bytes.subarray(8, 8 + n)));
  } catch (err) {
    fail(`header is not valid UTF-8 JSON (${(err as Error).message})`);
  }
  if (typeof header !== 'object' || header === null || Array.isArray(header)) fail('header is not a JSON object');
  const dataStart = 8 + n;
  const dataLen = bytes.length - dataStart;
  const metadata: Record<string, string> = {};
  const entries: [string, SafetensorsDType, number[], number, number][] = [];
  for (const [name, info] of Object.entries(header as Record<string, unknown>)) {
    if (name === '__metadata__') {
      if (typeof info !== 'object' || info === null) fail('__metadata__ is not an object');
      for (const [k, v] of Object.entries(info as Record<string, unknown>)) {
        if (typeof v !== 'string') fail(`__metadata__ value of '${k}' is not a string`);
        metadata[k] = v as string;
      }
      continue;
    }
    const t = info as { dtype?: unknown; shape?: unknown; data_offsets?: unknown };
    if (typeof t !== 'object' || t === null) fail(`tensor '${name}': entry is not an object`);
    if (typeof t.dtype !== 'string' || !(t.dtype in BYTES)) fail(`tensor '${name}': unsupported dtype ${JSON.stringify(t.dtype)}`);
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
    if (end - begin !== expected) fail(`tensor '${name}': ${end - begin} bytes for ${dtype} shape [${shape.join(', ')}], which needs ${expected}`);
    entries.push([name, dtype, shape, begin, end]);
  }
  // The buffer must be covered exactly: no overlaps, no holes (the specification forbids both).
  const sorted = [...entries].sort((a, b) => a[3] - b[3] || a[4] - b[4]);
  let cursor = 0;
  for (const [name, , , begin, end] of sorted) {
    if (begin < cursor) fail(`tensor '${name}': data_offsets [${begin}, ${end}] overlap the previous tensor (which ends at ${cursor})`);
    if (begin > cursor) fail(`tensor '${name}': a hole of ${begin - cursor} bytes before data_offsets [${begin}, ${end}]`);
    cursor = end;
  }
  if (cursor !== dataLen) fail(`the data buffer has ${dataLen - cursor} bytes after the last tensor`);
  const tensors = new Map<string, SafetensorsTensor>();
  for (const [name, dtype, shape, begin, end] of entries) {
    tensors.set(name, { dtype, shape, data: decode(bytes, dataStart + begin, dataStart + end, dtype, name, fail) });
  }
  return { tensors, metadata };
}

function decode(bytes: Uint8Array, begin: number, end: number, dtype: SafetensorsDType, name: string, fail: (m: string) => never): SafetensorsTensor['data'] {
  const view = new DataView(bytes.buffer, bytes.byteOffset + begin, end - begin);
  const count = (end - begin) / BYTES[dtype];
  switch (dtype) {
    // Hosts are little-endian (as the format), so an aligned copy of the bytes is the array. (Node's Buffer.slice
    // does not copy, hence Uint8Array's.)
    case 'F32': return new Float32Array(Uint8Array.prototype.slice.call(bytes, begin, end).buffer);
    case 'F64': return new Float64Array(Uint8Array.prototype.slice.call(bytes, begin, end).buffer);
    case 'I32': return new Int32Array(Uint8Array.prototype.slice.call(bytes, begin, end).buffer);
    case 'F16': { const out = new Float32Array(count); for (let i = 0; i < count; i++) out[i] = f16ToF32(view.getUint16(2 * i, true)); return out; }
    case 'BF16': {
      // bfloat16 is the top half of a float32.
      const out = new Float32Array(count), bits = new Uint32Array(out.buffer);
      for (let i = 0; i < count; i++) bits[i] = view.getUint16(2 * i, true) << 16;
      return out;
    }
    case 'I64': {
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
    bytes = await readFile(source);
  } catch (err) {
    throw new SafetensorsError(`${source}: ${(err as Error).message}`);
  }
  return parseSafetensors(bytes, source);
}

/** Serialises tensors (F32, F64, I32; sorted by name, header padded with spaces to 8 bytes, as the Rust writer does). */
export function serializeSafetensors(tensors: Map<string, SafetensorsTensor> | Record<string, SafetensorsTensor>, metadata?: Record<string, string>): Uint8Array {
  const entries = [...(tensors instanceof Map ? tensors : new Map(Object.entries(tensors)))].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  const header: Record<string, unknown> = {};
  if (metadata && Object.keys(metadata).length > 0) header.__metadata__ = metadata;
  let offset = 0;
  for (const [name, t] of entries) {
    if (t.dtype !== 'F32' && t.dtype !== 'I32' && t.dtype !== 'F64') throw new SafetensorsError(`serializeSafetensors: tensor '${name}': writing ${t.dtype} is not supported (F32, F64, I32)`);
    const size = t.shape.reduce((p, d) => p * d, 1);
    if (size !== t.data.length) throw new SafetensorsError(`serializeSafetensors: tensor '${name}': ${t.data.length} values for shape [${t.shape.join(', ')}]`);
    const bytes = size * BYTES[t.dtype];
    header[name] = { dtype: t.dtype, shape: t.shape, data_offsets: [offset, offset + bytes] };
    offset += bytes;
  }
  let json = JSON.stringify(header);
  const headerBytes = new TextEncoder().encode(json);
  const padded = Math.ceil(headerBytes.length / 8) * 8;
  json += ' '.repeat(padded - headerBytes.length);
  const out = new Uint8Array(8 + padded + offset);
  const view = new DataView(out.buffer);
  view.setBigUint64(0, BigInt(padded), true);
  out.set(new TextEncoder().encode(json), 8);
  let pos = 8 + padded;
  for (const [, t] of entries) {
    const typed = t.dtype === 'F32' ? Float32Array.from(t.data) : t.dtype === 'F64' ? Float64Array.from(t.data) : Int32Array.from(t.data);
    out.set(new Uint8Array(typed.buffer, typed.byteOffset, typed.byteLength), pos);
    pos += typed.byteLength;
  }
  return out;
}

/** Writes a safetensors file atomically (a temporary file, then a rename), so a crash never leaves half a file. */
export async function writeSafetensors(path: string, tensors: Map<string, SafetensorsTensor> | Record<string, SafetensorsTensor>, metadata?: Record<string, string>): Promise<void> {
  const tmp = `${path}.tmp-${process.pid}-${Date.now()}`;
  try {
    const fh = await open(tmp, 'w');
    try {
      await fh.writeFile(serializeSafetensors(tensors, metadata));
      await fh.sync();
    } finally {
      await fh.close();
    }
    await rename(tmp, path);
  } catch (err) {
    await rm(tmp, { force: true });
    throw err;
  }
}

/** Writes bytes to a file atomically; used for small sidecar files next to safetensors. */
export async function writeFileAtomic(path: string, data: string | Uint8Array): Promise<void> {
  const tmp = `${path}.tmp-${process.pid}-${Date.now()}`;
  await writeFile(tmp, data);
  await rename(tmp, path);
}

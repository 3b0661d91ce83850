import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseSafetensors, readSafetensors, serializeSafetensors, writeSafetensors, SafetensorsError } from '../../src/io/safetensors.js';

/** Builds a file by hand from a header object and a data buffer, exactly as the specification lays it out. */
function craft(header: unknown, data: Uint8Array, headerText = JSON.stringify(header)): Uint8Array {
  const h = new TextEncoder().encode(headerText);
  const out = new Uint8Array(8 + h.length + data.length);
  new DataView(out.buffer).setBigUint64(0, BigInt(h.length), true);
  out.set(h, 8);
  out.set(data, 8 + h.length);
  return out;
}

test('round trip of F32, F64 and I32 tensors with metadata; names sorted, header 8-byte aligned', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'st-'));
  const path = join(dir, 'model.safetensors');
  await writeSafetensors(path, {
    'b.weight': { dtype: 'F32', shape: [2, 3], data: Float32Array.from([1, -2.5, 3e-8, 4, 5, 6]) },
    'a.ids': { dtype: 'I32', shape: [3], data: Int32Array.from([7, -8, 2147483647]) },
    'c.scalar': { dtype: 'F64', shape: [], data: Float64Array.from([Math.PI]) },
    'd.empty': { dtype: 'F32', shape: [0, 4], data: new Float32Array(0) },
  }, { format: 'pt' });
  assert.deepEqual(readdirSync(dir), ['model.safetensors'], 'no temporary file is left behind');
  const bytes = readFileSync(path);
  const headerLen = Number(new DataView(bytes.buffer, bytes.byteOffset).getBigUint64(0, true));
  assert.equal(headerLen % 8, 0);
  const header = JSON.parse(bytes.subarray(8, 8 + headerLen).toString());
  assert.deepEqual(Object.keys(header), ['__metadata__', 'a.ids', 'b.weight', 'c.scalar', 'd.empty']);
  assert.deepEqual(header['a.ids'].data_offsets, [0, 12]);
  const { tensors, metadata } = await readSafetensors(path);
  assert.deepEqual(metadata, { format: 'pt' });
  assert.deepEqual(Array.from(tensors.get('b.weight')!.data), Array.from(Float32Array.from([1, -2.5, 3e-8, 4, 5, 6])));
  assert.deepEqual(tensors.get('b.weight')!.shape, [2, 3]);
  assert.deepEqual(Array.from(tensors.get('a.ids')!.data), [7, -8, 2147483647]);
  assert.equal(tensors.get('c.scalar')!.data[0], Math.PI);
  assert.equal(tensors.get('d.empty')!.data.length, 0);
});

test('reads F16, BF16 and I64 (widened to float32 / narrowed to int32)', () => {
  const data = new Uint8Array(2 * 4 + 2 * 3 + 8 * 2);
  const v = new DataView(data.buffer);
  // F16: 1.0, -2.0, 65504 (max), 2^-24 (smallest subnormal)
  [0x3c00, 0xc000, 0x7bff, 0x0001].forEach((h, i) => v.setUint16(2 * i, h, true));
  // BF16: 1.0, -0.5, 3.140625
  [0x3f80, 0xbf00, 0x4049].forEach((h, i) => v.setUint16(8 + 2 * i, h, true));
  v.setBigInt64(14, -5n, true);
  v.setBigInt64(22, 123456789n, true);
  const file = craft({
    h: { dtype: 'F16', shape: [4], data_offsets: [0, 8] },
    b: { dtype: 'BF16', shape: [3], data_offsets: [8, 14] },
    i: { dtype: 'I64', shape: [2], data_offsets: [14, 30] },
  }, data);
  const { tensors } = parseSafetensors(file, 'x.safetensors');
  assert.deepEqual(Array.from(tensors.get('h')!.data), [1, -2, 65504, 2 ** -24]);
  assert.deepEqual(Array.from(tensors.get('b')!.data), [1, -0.5, 3.140625]);
  assert.deepEqual(Array.from(tensors.get('i')!.data), [-5, 123456789]);
  assert.ok(tensors.get('i')!.data instanceof Int32Array);
});

test('malformed files are rejected with the file name and the problem, never read past the end', () => {
  const four = new Uint8Array(16);
  const ok = { t: { dtype: 'F32', shape: [4], data_offsets: [0, 16] } };
  const cases: [string, Uint8Array, RegExp][] = [
    ['too short', new Uint8Array(5), /too short/],
    ['header length past the end', (() => { const b = craft(ok, four); new DataView(b.buffer).setBigUint64(0, 1n << 40n, true); return b; })(), /runs past the end/],
    ['bad JSON', craft(null, four, '{"t": {'), /not valid UTF-8 JSON/],
    ['not an object', craft([1, 2], four), /not a JSON object/],
    ['unknown dtype', craft({ t: { dtype: 'Q4', shape: [4], data_offsets: [0, 16] } }, four), /unsupported dtype "Q4"/],
    ['bad shape', craft({ t: { dtype: 'F32', shape: [-4], data_offsets: [0, 16] } }, four), /bad shape/],
    ['offsets past the buffer', craft({ t: { dtype: 'F32', shape: [8], data_offsets: [0, 32] } }, four), /run past the data buffer/],
    ['reversed offsets', craft({ t: { dtype: 'F32', shape: [0], data_offsets: [8, 4] } }, four), /bad data_offsets/],
    ['size mismatch', craft({ t: { dtype: 'F32', shape: [3], data_offsets: [0, 16] } }, four), /16 bytes for F32 shape \[3\], which needs 12/],
    ['overlap', craft({ a: { dtype: 'F32', shape: [3], data_offsets: [0, 12] }, b: { dtype: 'F32', shape: [2], data_offsets: [8, 16] } }, four), /overlap/],
    ['hole', craft({ a: { dtype: 'F32', shape: [1], data_offsets: [0, 4] }, b: { dtype: 'F32', shape: [2], data_offsets: [8, 16] } }, four), /hole of 4 bytes/],
    ['trailing bytes', craft({ a: { dtype: 'F32', shape: [2], data_offsets: [0, 8] } }, four), /8 bytes after the last tensor/],
    ['metadata not strings', craft({ __metadata__: { n: 1 }, ...ok }, four), /__metadata__ value of 'n'/],
    ['I64 out of int32 range', (() => { const d = new Uint8Array(8); new DataView(d.buffer).setBigInt64(0, 1n << 40n, true); return craft({ t: { dtype: 'I64', shape: [1], data_offsets: [0, 8] } }, d); })(), /does not fit int32/],
  ];
  for (const [label, bytes, message] of cases) {
    assert.throws(() => parseSafetensors(bytes, 'broken.safetensors'), (err: Error) => {
      assert.ok(err instanceof SafetensorsError, label);
      assert.match(err.message, /^broken\.safetensors: /, label);
      assert.match(err.message, message, label);
      return true;
    });
  }
});

test('a missing file names the path', async () => {
  await assert.rejects(readSafetensors('/nonexistent/dir/model.safetensors'), /\/nonexistent\/dir\/model\.safetensors: ENOENT/);
});

test('serialising checks sizes and refuses dtypes it does not write', () => {
  assert.throws(() => serializeSafetensors({ t: { dtype: 'F32', shape: [3], data: new Float32Array(2) } }), /2 values for shape \[3\]/);
  assert.throws(() => serializeSafetensors({ t: { dtype: 'F16', shape: [1], data: new Float32Array(1) } }), /writing F16 is not supported/);
});

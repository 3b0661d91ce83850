import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseSafetensors, readSafetensors, serializeSafetensors, writeSafetensors, SafetensorsError, SafetensorsReader } from '../../src/io/safetensors.js';

/** Builds a file by hand from a header object and a data buffer, exactly as the specification lays it out. */
function craft(header: unknown, data: Uint8Array, headerText = JSON.stringify(header)): Uint8Array {
  const h = new TextEncoder().encode(headerText);
  const out = new Uint8Array(8 + h.length + data.length);
  new DataView(out.buffer).setBigUint64(0, BigInt(h.length), true);
  out.set(h, 8);
  out.set(data, 8 + h.length);
  return out;
}

test('round trip of F32, F64 and I32 tensors with metadata; Rust order (dtype, then name), header 8-byte aligned', async () => {
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
  assert.deepEqual(Object.keys(header), ['__metadata__', 'c.scalar', 'b.weight', 'd.empty', 'a.ids']);
  assert.deepEqual(header['c.scalar'].data_offsets, [0, 8]);
  assert.deepEqual(header['a.ids'].data_offsets, [32, 44]);
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

test('bytes identical to the Rust writer (its own test vectors: header padded with spaces to 8 bytes)', () => {
  const f32 = Float32Array.from([0, 1, 2, 3, 4, 5]);
  // safetensors/src/tensor.rs test_serialization_forced_alignement: one F32 tensor "attn0" of shape [1, 1, 2, 3].
  const expected = Uint8Array.from([
    72, 0, 0, 0, 0, 0, 0, 0, 123, 34, 97, 116, 116, 110, 48, 34, 58, 123, 34, 100, 116,
    121, 112, 101, 34, 58, 34, 70, 51, 50, 34, 44, 34, 115, 104, 97, 112, 101, 34, 58,
    91, 49, 44, 49, 44, 50, 44, 51, 93, 44, 34, 100, 97, 116, 97, 95, 111, 102, 102,
    115, 101, 116, 115, 34, 58, 91, 48, 44, 50, 52, 93, 125, 125, 32, 32, 32, 32, 32,
    32, 32, 0, 0, 0, 0, 0, 0, 128, 63, 0, 0, 0, 64, 0, 0, 64, 64, 0, 0, 128, 64, 0, 0, 160, 64,
  ]);
  assert.deepEqual(serializeSafetensors({ attn0: { dtype: 'F32', shape: [1, 1, 2, 3], data: f32 } }), expected);
  // test_empty with metadata {"framework": "pt"}.
  assert.deepEqual(serializeSafetensors({}, { framework: 'pt' }), Uint8Array.from([
    40, 0, 0, 0, 0, 0, 0, 0, 123, 34, 95, 95, 109, 101, 116, 97, 100, 97, 116, 97, 95,
    95, 34, 58, 123, 34, 102, 114, 97, 109, 101, 119, 111, 114, 107, 34, 58, 34, 112,
    116, 34, 125, 125, 32, 32, 32, 32, 32,
  ]));
  const parsed = parseSafetensors(expected);
  assert.deepEqual(Array.from(parsed.tensors.get('attn0')!.data), [0, 1, 2, 3, 4, 5]);
});

test('tensors are laid out as the Rust writer does: by dtype (I64, F64, F32, I32), then by name; I64 round-trips', () => {
  const bytes = serializeSafetensors({
    z: { dtype: 'I32', shape: [1], data: Int32Array.from([1]) },
    a: { dtype: 'I32', shape: [1], data: Int32Array.from([2]) },
    m: { dtype: 'F32', shape: [1], data: Float32Array.from([3]) },
    ids: { dtype: 'I64', shape: [2], data: Int32Array.from([-7, 2147483647]) },
  });
  const n = Number(new DataView(bytes.buffer).getBigUint64(0, true));
  const header = JSON.parse(new TextDecoder().decode(bytes.subarray(8, 8 + n)));
  assert.deepEqual(Object.keys(header), ['ids', 'm', 'a', 'z']);
  assert.deepEqual(header.ids.data_offsets, [0, 16]);
  assert.equal(new DataView(bytes.buffer).getBigInt64(8 + n, true), -7n);
  const { tensors } = parseSafetensors(bytes);
  assert.deepEqual(Array.from(tensors.get('ids')!.data), [-7, 2147483647]);
  assert.equal(tensors.get('ids')!.dtype, 'I64');
});

test('a file laid out by the Python library (torch save_file: __metadata__ first, F32 before I64 would be wrong)', () => {
  // What safetensors.torch.save_file({"weight": [[1, 2], [3, 4]] f32, "pos": [0, 1] i64}, metadata={"format": "pt"})
  // writes: I64 first (larger dtype rank), offsets in data order, header padded with spaces.
  const headerText = '{"__metadata__":{"format":"pt"},"pos":{"dtype":"I64","shape":[2],"data_offsets":[0,16]},"weight":{"dtype":"F32","shape":[2,2],"data_offsets":[16,32]}}';
  const pad = (8 - (headerText.length % 8)) % 8;
  const data = new Uint8Array(32);
  const v = new DataView(data.buffer);
  v.setBigInt64(0, 0n, true); v.setBigInt64(8, 1n, true);
  [1, 2, 3, 4].forEach((x, i) => v.setFloat32(16 + 4 * i, x, true));
  const file = craft(null, data, headerText + ' '.repeat(pad));
  const { tensors, metadata } = parseSafetensors(file, 'torch.safetensors');
  assert.deepEqual(metadata, { format: 'pt' });
  assert.deepEqual(Array.from(tensors.get('pos')!.data), [0, 1]);
  assert.deepEqual(Array.from(tensors.get('weight')!.data), [1, 2, 3, 4]);
  assert.deepEqual(tensors.get('weight')!.shape, [2, 2]);
  // Our writer produces the same bytes for the same tensors.
  assert.deepEqual(serializeSafetensors({
    weight: { dtype: 'F32', shape: [2, 2], data: Float32Array.from([1, 2, 3, 4]) },
    pos: { dtype: 'I64', shape: [2], data: Int32Array.from([0, 1]) },
  }, { format: 'pt' }), file);
});

test('more malformed headers: zero length, overflowing shape, metadata not a map', () => {
  const cases: [string, Uint8Array, RegExp][] = [
    ['zero header length', (() => { const b = new Uint8Array(8); return b; })(), /not valid UTF-8 JSON/],
    ['header over the limit', (() => { const b = new Uint8Array(200_000_016); new DataView(b.buffer).setBigUint64(0, 200_000_000n, true); return b; })(), /exceeds the limit/],
    ['shape overflow', craft({ t: { dtype: 'F32', shape: [2 ** 40, 2 ** 40], data_offsets: [0, 0] } }, new Uint8Array(0)), /overflows/],
    ['metadata array', craft({ __metadata__: ['a'] }, new Uint8Array(0)), /__metadata__ is not an object/],
    ['invalid UTF-8 header', craft(null, new Uint8Array(0), '{"\xff": 1}'.replace('\xff', '\u00ff')).map((b, i) => (i === 10 ? 0xff : b)), /not valid UTF-8 JSON/],
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

test('SafetensorsReader reads the header only, then single tensors by file descriptor; validates like the parser', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'st-'));
  const path = join(dir, 'shard.safetensors');
  await writeSafetensors(path, {
    input_ids: { dtype: 'I32', shape: [2, 3], data: Int32Array.from([1, 2, 3, 4, 5, 6]) },
    weights: { dtype: 'F32', shape: [2], data: Float32Array.from([0.5, 1]) },
  }, { layout: 'test' });
  const reader = await SafetensorsReader.open(path);
  try {
    assert.deepEqual(reader.names.sort(), ['input_ids', 'weights']);
    assert.deepEqual(reader.metadata, { layout: 'test' });
    assert.deepEqual(reader.info('input_ids'), { dtype: 'I32', shape: [2, 3], dataOffsets: [8, 32] });
    assert.deepEqual(Array.from((await reader.read('input_ids')).data), [1, 2, 3, 4, 5, 6]);
    assert.deepEqual(Array.from((await reader.read('weights')).data), [0.5, 1]);
    await assert.rejects(reader.read('nope'), /shard\.safetensors: no tensor named 'nope'/);
  } finally {
    await reader.close();
  }
  // A truncated file is refused at open, naming the file.
  const bytes = readFileSync(path);
  const cut = join(dir, 'cut.safetensors');
  writeFileSync(cut, bytes.subarray(0, bytes.length - 4));
  await assert.rejects(SafetensorsReader.open(cut), /cut\.safetensors: the data buffer|cut\.safetensors: tensor '.*' run past|cut\.safetensors: .*run past/);
  writeFileSync(cut, bytes.subarray(0, 5));
  await assert.rejects(SafetensorsReader.open(cut), /cut\.safetensors: file is 5 bytes, too short/);
  await assert.rejects(SafetensorsReader.open(join(dir, 'missing.safetensors')), /missing\.safetensors: ENOENT/);
});

// initWasm, the browser's way to the WebAssembly kernels, run in Node: the kernel set it registers computes what the
// reference does (on its worker threads), and fetching the modules names the URL that failed.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import { readFile } from 'node:fs/promises';
import { getBackend, initWasm, setBackend } from '../../src/backend/registry.js';
import { nextTurn, preloadPackageWasm } from '../../src/platform/node.js';
import * as ops from '../../src/tensor/ops.js';
import { manualSeed } from '../../src/tensor/random.js';

test('initWasm registers a ready cpu-wasm backend whose threaded GEMM matches the reference', async () => {
  const before = getBackend().name;
  try {
    const backend = await initWasm({ threads: 2 });
    assert.equal(backend.name, 'cpu-wasm');
    assert.match(backend.kernels ?? '', /^WebAssembly (relaxed )?SIMD, 2 threads$/);
    assert.equal(setBackend('cpu-wasm'), backend);
    manualSeed(7);
    // 96 × 160 × 128: above the size that splits a product across the threads
    const a = ops.randn([96, 160]), b = ops.randn([160, 128]);
    const fast = (await ops.matmul(a, b).data()) as Float32Array;
    setBackend('cpu-reference');
    const ref = (await ops.matmul(ops.fromArray(await a.data(), [96, 160]), ops.fromArray(await b.data(), [160, 128])).data()) as Float32Array;
    const worst = fast.reduce((m, x, i) => Math.max(m, Math.abs(x - ref[i]!)), 0);
    assert.ok(worst < 1e-3, `largest difference ${worst}`);
  } finally {
    setBackend(before);
  }
});

test('preloadPackageWasm fetches each module by the URL locate gives, and names one that is missing', async () => {
  const root = new URL('../../build/wasm/', import.meta.url);
  const server = createServer((req, res) => {
    readFile(new URL(req.url!.slice(1), root)).then((b) => res.writeHead(200, { 'Content-Type': 'application/wasm' }).end(b), () => res.writeHead(404).end());
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const base = `http://127.0.0.1:${(server.address() as { port: number }).port}/`;
  try {
    await preloadPackageWasm((file) => new URL(file, base), ['vecmath']);
    await assert.rejects(preloadPackageWasm((file) => new URL(`missing/${file}`, base), ['no-such-module']), /missing\/no-such-module\.relaxed\.wasm answered 404/);
  } finally {
    await new Promise((r) => server.close(r));
  }
});

test('nextTurn waits for a turn of the event loop: a long chain of microtasks finishes first', async () => {
  let n = 0;
  const spin = () => { if (++n < 100) queueMicrotask(spin); };
  queueMicrotask(spin);
  await nextTurn();
  assert.equal(n, 100);
});

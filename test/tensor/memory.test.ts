// Memory stays flat without dispose calls: the tape lets go of intermediates after backward (on every backend), a
// synchronous training loop keeps host memory flat (on the CPU backends), and buffers are freed once their tensors are
// collected (counted on a wrapper of the reference backend that frees like a device).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import * as T from '../../src/tensor/index.js';
import type { Backend, View } from '../../src/backend/backend.js';
import { registerBackend } from '../../src/backend/registry.js';
import { createReferenceBackend } from '../../src/backend/cpu/reference.js';
import { forEachBackend, withBackend } from '../helpers/backends.js';

// The test runner does not pass --expose-gc; this enables it for this process.
setFlagsFromString('--expose-gc');
const gc = runInNewContext('gc') as () => void;

/**
 * The reference backend dressed as a device: it counts buffers made by its kernels and released through `free`,
 * and `read` answers on a later turn of the event loop, as a GPU's does. (That turn is what lets finalizers run;
 * a promise that resolves in a microtask would not.)
 */
function countingBackend(): { backend: Backend; live: () => number } {
  const inner = createReferenceBackend();
  let live = 0;
  const notMaking = new Set<PropertyKey>(['read', 'readSync', 'free', 'adamw']);
  const backend = new Proxy(inner, {
    get(target, prop) {
      if (prop === 'name') return 'cpu-counting';
      if (prop === 'free') return () => { live--; };
      if (prop === 'read') return async (x: View) => { await new Promise((r) => setImmediate(r)); return target.read(x); };
      const v = Reflect.get(target, prop) as unknown;
      if (typeof v !== 'function' || notMaking.has(prop)) return v;
      return (...args: unknown[]) => { live++; return (v as (...a: unknown[]) => unknown).apply(target, args); };
    },
  });
  return { backend, live: () => live };
}

/** Collects garbage and lets FinalizationRegistry callbacks (which free buffers) run. */
async function settle(): Promise<void> {
  for (let i = 0; i < 3; i++) {
    gc();
    await new Promise((r) => setImmediate(r));
  }
}

/** A small MLP classifier trained by plain SGD (new leaves each step, under noGrad), as a user would write it. */
function mlp(seed: number) {
  T.manualSeed(seed);
  const [N, D, H, C] = [32, 16, 32, 4];
  const x = T.randn([N, D]);
  const y = T.argmax(T.matmul(x, T.randn([D, C])), 1); // a learnable labelling
  let params = [T.mul(T.randn([D, H]), 0.3), T.zeros([H]), T.mul(T.randn([H, C]), 0.3), T.zeros([C])].map((p) => p.requireGrad());
  return (): T.Tensor => {
    const [w1, b1, w2, b2] = params as [T.Tensor, T.Tensor, T.Tensor, T.Tensor];
    const loss = T.crossEntropy(T.add(T.matmul(T.relu(T.add(T.matmul(x, w1), b1)), w2), b2), y);
    loss.backward();
    params = T.noGrad(() => params.map((p) => T.sub(p, T.mul(p.grad!, 0.1)).requireGrad()));
    return loss;
  };
}

const mb = (n: number) => `${(n / 2 ** 20).toFixed(1)} MB`;

forEachBackend('a synchronous 2,000-step training loop keeps retained memory and RSS flat with no dispose calls', () => {
  const step = mlp(0);
  const first = step().dataSync()[0]!;
  const samples: { retained: number; rss: number }[] = [];
  let last = 0;
  for (let i = 2; i <= 2000; i++) {
    const loss = step();
    if (i === 200 || i === 2000) {
      // No event-loop turn here: a synchronous loop must not depend on finalizer callbacks to release memory.
      gc();
      const m = process.memoryUsage();
      samples.push({ retained: m.heapUsed + m.arrayBuffers, rss: m.rss });
      last = loss.dataSync()[0]!;
    }
  }
  assert.ok(last < 0.5 * first, `the loop trains: loss ${first} -> ${last}`);
  const [a, b] = samples as [{ retained: number; rss: number }, { retained: number; rss: number }];
  assert.ok(b.retained - a.retained < 2 * 2 ** 20, `heap + array buffers after GC grew ${mb(b.retained - a.retained)} between steps 200 and 2,000`);
  // RSS is loose: V8 may double its young generation once during the run, which is a bounded warm-up, not a leak.
  assert.ok(b.rss < a.rss + 40 * 2 ** 20, `RSS grew from ${mb(a.rss)} to ${mb(b.rss)}`);
}, { exclude: {
  'cpu-reference': 'its TypeScript loops take 8 s for the 2,000 steps; its buffers are counted through the finalizers in the next test',
  webgpu: 'a synchronous loop cannot read a device\'s loss; WebGPU\'s device memory is checked in test/backend/webgpu-memory.test.ts',
} });

test('on a backend that frees through finalizers, live buffers stay flat over 2,000 steps', async () => {
  const counting = countingBackend();
  registerBackend('cpu-counting', () => counting.backend);
  await withBackend('cpu-counting', async () => {
    const step = mlp(1);
    const live = new Map<number, number>();
    for (let i = 1; i <= 2000; i++) {
      const loss = step();
      // An asynchronous trainer reads its loss now and then, which gives finalizers their turn.
      if (i % 50 === 0) await loss.item();
      if (i === 200 || i === 2000) {
        await settle();
        live.set(i, counting.live());
      }
    }
    const [a, b] = [live.get(200)!, live.get(2000)!];
    // Live: the parameters, the data and a few cached constants, not a growing pile of activations.
    assert.ok(b <= a + 5, `live buffers grew from ${a} at step 200 to ${b} at step 2,000`);
    assert.ok(b < 40, `${b} buffers are live after 2,000 steps`);
  });
});

forEachBackend('backward releases the tape: intermediates are collected while the loss is still held', async () => {
  const w = T.randn([8, 8]).requireGrad();
  const refs: WeakRef<T.Tensor>[] = [];
  const forward = () => {
    const h = T.tanh(T.matmul(T.randn([4, 8]), w));
    const z = T.mul(h, h);
    refs.push(new WeakRef(h), new WeakRef(z));
    return T.sum(z);
  };
  const loss = forward();
  await settle();
  // The graph holds its intermediates until backward...
  assert.ok(refs.every((r) => r.deref() !== undefined), 'intermediates were collected before backward');
  loss.backward();
  await settle();
  // ...and lets them go after it, though the loss tensor itself is still reachable.
  assert.equal(loss.node, null);
  assert.ok(refs.every((r) => r.deref() === undefined), 'intermediates survived backward');
  assert.ok(w.grad);
});

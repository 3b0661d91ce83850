// `npm run bench -- webgpu-dispatch`: the host's cost per dispatch on the WebGPU backend, with bind groups cached
// and created per dispatch, on two backends over one device with rounds alternated (shared machines drift).
// Two workloads: a chain of small elementwise ops (host cost dominates: 1024 elements each) and training steps of
// a small GPT (every kernel family, fused attention included; buffers come back through the finalizer, as in real
// training, so which pooled buffer a tensor gets varies from step to step).
//   npm run bench -- webgpu-dispatch [--ops 4000] [--steps 6] [--rounds 3]
import { acquireDevice } from '../src/backend/webgpu/device.js';
import { createWebGPUBackendOn, type WebGPUBackend } from '../src/backend/webgpu/backend.js';
import { registerBackend, setBackend } from '../src/backend/registry.js';
import { GPT, gptConfig } from '../src/models/gpt.js';
import { AdamW } from '../src/optim/index.js';
import * as T from '../src/tensor/index.js';

function arg(args: string[], name: string, fallback: number): number {
  const i = args.indexOf(`--${name}`);
  return i >= 0 && args[i + 1] ? Number(args[i + 1]) : fallback;
}

/** Microseconds per dispatch to record `n` elementwise adds (the GPU's time excluded), and the bind groups made. */
async function opChain(gpu: WebGPUBackend, n: number): Promise<{ us: number; created: number }> {
  const size = 1024;
  const view = (buf: object) => ({ buf, dtype: 'float32' as const, shape: [size], strides: [1], offset: 0 });
  const a = view(gpu.fill('float32', size, 1)), b = view(gpu.fill('float32', size, 2));
  await gpu.sync();
  const before = gpu.counters();
  const t = performance.now();
  for (let i = 0; i < n; i++) gpu.free!(gpu.binary('add', a, b, [size]));
  const us = ((performance.now() - t) * 1000) / n;
  await gpu.sync();
  gpu.free!(a.buf); gpu.free!(b.buf);
  return { us, created: gpu.counters().bindGroupsCreated - before.bindGroupsCreated };
}

/** A small GPT's training steps: wall microseconds per dispatch (GPU included) and bind groups made per dispatch. */
async function gptSteps(name: string, gpu: WebGPUBackend, steps: number): Promise<{ us: number; dispatches: number; created: number }> {
  setBackend(name);
  T.manualSeed(1);
  const model = new GPT(gptConfig({ vocab_size: 64, n_positions: 33, n_embd: 32, n_layer: 2, n_head: 2, attn_pdrop: 0 }));
  const opt = new AdamW(model.parameters(), { lr: 1e-3 });
  const ids = T.fromArray(Int32Array.from({ length: 4 * 33 }, (_, i) => (i * 7) % 64), [4, 33], { dtype: 'int32' });
  const step = async () => {
    const loss = model.forward({ inputIds: ids.slice(1, 0, 32), targets: ids.slice(1, 1, 33) }).loss!;
    loss.backward();
    opt.step();
    opt.zeroGrad();
    await loss.item();
  };
  await step(); // compile the pipelines
  const before = gpu.counters();
  const t = performance.now();
  for (let s = 0; s < steps; s++) await step();
  const after = gpu.counters();
  const dispatches = after.dispatches - before.dispatches;
  return { us: ((performance.now() - t) * 1000) / dispatches, dispatches: dispatches / steps, created: (after.bindGroupsCreated - before.bindGroupsCreated) / dispatches };
}

export default async function main(args: string[]): Promise<void> {
  const ops = arg(args, 'ops', 4000), steps = arg(args, 'steps', 6), rounds = arg(args, 'rounds', 3);
  const { device, info } = await acquireDevice();
  console.log(`adapter: ${info.adapter}${/llvmpipe|swiftshader|software/i.test(info.adapter) ? ' (a software adapter: the GPU is emulated on this CPU)' : ''}`);
  const variants = [false, true].map((cache) => {
    const name = `webgpu-bench-${cache ? 'cached' : 'uncached'}`;
    const gpu = createWebGPUBackendOn(device, info, { cacheBindGroups: cache });
    registerBackend(name, () => gpu);
    return { cache, name, gpu, chain: [] as number[], chainMade: 0, gpt: [] as number[], gptDispatches: 0, gptMade: 0 };
  });
  for (const v of variants) await opChain(v.gpu, 256); // warm up both
  for (let r = 0; r < rounds; r++) {
    for (const v of variants) {
      const c = await opChain(v.gpu, ops);
      v.chain.push(c.us);
      v.chainMade = c.created / ops;
      const g = await gptSteps(v.name, v.gpu, steps);
      v.gpt.push(g.us);
      v.gptDispatches = g.dispatches;
      v.gptMade = g.created;
    }
  }
  const best = (xs: number[]) => Math.min(...xs).toFixed(1);
  for (const v of variants) {
    console.log(`bind groups ${v.cache ? 'cached:      ' : 'per dispatch:'} op chain ${best(v.chain)} µs/dispatch recorded ` +
      `(${v.chainMade.toFixed(3)} bind groups made per dispatch); GPT step ${best(v.gpt)} µs/dispatch wall ` +
      `(${v.gptDispatches.toFixed(0)} dispatches per step, ${v.gptMade.toFixed(3)} bind groups made per dispatch)`);
  }
  process.exit(0);
}

// `npm run bench -- webgpu`: the WebGPU backend's GEMM TFLOP/s and BERT-mini / GPT-mini training tokens/s, next to
// PyTorch + transformers on the same GPU (../shared/peers/torch_gpu_hf.py) in fp32, tf32 and bf16, run in the same
// command. On a software adapter (lavapipe's llvmpipe, as in CI) only the 1024³ GEMM runs by default: the others
// take minutes there and say nothing about a GPU. docs/webgpu.md says how to run it on the GPU machine.
//   npm run bench -- webgpu [--sizes 1024,2048,4096] [--models | --no-models] [--steps 10] [--warmup 3]
import { initWebGPU } from '../src/backend/registry.js';
import type { WebGPUBackend } from '../src/backend/webgpu/index.js';
import type { View } from '../src/backend/backend.js';
import { setBackend } from '../src/backend/registry.js';
import { BertForPreTraining, bertConfig } from '../src/models/bert.js';
import { GPT, gptConfig } from '../src/models/gpt.js';
import { AdamW } from '../src/optim/index.js';
import * as T from '../src/tensor/index.js';
import { SHARED_PEERS, runPython } from './peer.js';
import { throughput, writeResults, type BenchRow } from './results.js';
import { medianStepMs } from './steps.js';

function arg(args: string[], name: string, fallback: string): string {
  const i = args.indexOf(`--${name}`);
  return i >= 0 && args[i + 1] ? args[i + 1]! : fallback;
}

/** Median seconds of one n³ GEMM, from batches of dispatches timed between GPU idles. */
async function gemmSeconds(gpu: WebGPUBackend, n: number): Promise<number> {
  const view = (buf: object): View => ({ buf, dtype: 'float32', shape: [1, n, n], strides: [n * n, n, 1], offset: 0 });
  const a = view(gpu.random('float32', n * n, 'normal', 1, 0, 1)), b = view(gpu.random('float32', n * n, 'normal', 2, 0, 1));
  gpu.free!(gpu.matmul(a, b)); // compile and warm up
  await gpu.sync();
  const reps = n <= 1024 ? 5 : 3, rounds = 3, times: number[] = [];
  for (let r = 0; r < rounds; r++) {
    const t = performance.now();
    for (let i = 0; i < reps; i++) gpu.free!(gpu.matmul(a, b));
    await gpu.sync();
    times.push((performance.now() - t) / 1000 / reps);
  }
  gpu.free!(a.buf); gpu.free!(b.buf);
  return times.sort((x, y) => x - y)[Math.floor(rounds / 2)]!;
}

/** The model shapes: L4, H256, A4, FFN 1024; BERT vocab 30522 seq 128 batch 128; GPT vocab 50257 seq 256 batch 64. */
function makeStep(kind: 'bert' | 'gpt'): { tokens: number; step: () => Promise<void> } {
  const rng = new T.Generator(0);
  T.manualSeed(0);
  const ids = (n: number, vocab: number) => Int32Array.from({ length: n }, () => Math.floor(rng.random() * vocab));
  if (kind === 'gpt') {
    const vocab = 50257, seq = 256, batch = 64;
    const model = new GPT(gptConfig({ vocab_size: vocab, n_positions: 1024, n_embd: 256, n_layer: 4, n_head: 4, n_inner: 1024 }));
    const opt = new AdamW(model.parameters(), { lr: 1e-4 });
    return {
      tokens: batch * seq,
      step: async () => {
        const x = T.fromArray(ids(batch * (seq + 1), vocab), [batch, seq + 1], { dtype: 'int32' });
        const loss = model.forward({ inputIds: x.slice(1, 0, seq), targets: x.slice(1, 1, seq + 1) }).loss!;
        opt.zeroGrad(); loss.backward(); opt.step();
        await loss.item();
      },
    };
  }
  const vocab = 30522, seq = 128, batch = 128;
  const model = new BertForPreTraining(bertConfig({ vocab_size: vocab, hidden_size: 256, num_hidden_layers: 4, num_attention_heads: 4,
    intermediate_size: 1024, max_position_embeddings: 512 }));
  const opt = new AdamW(model.parameters(), { lr: 1e-4 });
  return {
    tokens: batch * seq,
    step: async () => {
      const x = ids(batch * seq, vocab);
      const labels = Int32Array.from(x, (id) => (rng.random() < 0.15 ? id : -100));
      const out = model.forward({
        inputIds: T.fromArray(x, [batch, seq], { dtype: 'int32' }), mlmLabels: T.fromArray(labels, [batch, seq], { dtype: 'int32' }),
        nextSentenceLabels: T.fromArray(ids(batch, 2), [batch], { dtype: 'int32' }),
      });
      opt.zeroGrad(); out.loss!.backward(); opt.step();
      await out.loss!.item();
    },
  };
}

/** Median tokens/s after warmup; each step ends by reading its loss, as a logging trainer would. */
async function tokensPerSecond(kind: 'bert' | 'gpt', steps: number, warmup: number): Promise<number> {
  const { step, tokens } = makeStep(kind);
  return tokens / ((await medianStepMs(step, steps, warmup)) / 1000);
}

export default async function webgpu(args: string[]): Promise<void> {
  let gpu: WebGPUBackend;
  try {
    gpu = await initWebGPU();
  } catch (e) {
    console.error(`webgpu bench skipped: ${(e as Error).message}`);
    return;
  }
  const software = /llvmpipe|lavapipe|swiftshader/i.test(gpu.info.adapter);
  console.log(`adapter: ${gpu.info.adapter}; features: ${gpu.info.features.join(', ') || 'none'}${software ? ' (software: figures are not GPU figures)' : ''}`);
  const sizes = arg(args, 'sizes', software ? '1024' : '1024,2048,4096').split(',').map(Number);
  const models = args.includes('--models') || (!software && !args.includes('--no-models'));
  const steps = Number(arg(args, 'steps', '10')), warmup = Number(arg(args, 'warmup', '3'));

  const rows: BenchRow[] = [];
  for (const n of sizes) {
    const sec = await gemmSeconds(gpu, n);
    rows.push(throughput(`gemm-${n}`, (2 * n ** 3) / sec / 1e12, 'TFLOP/s'));
  }
  if (models) {
    setBackend('webgpu');
    for (const [kind, peerModel] of [['bert', 'bert-mini'], ['gpt', 'gpt-mini']] as const) {
      // one model failing (GPT-mini's 3.3 GB logits can exceed a device's largest binding) keeps the other's rows
      let ours: number;
      try {
        ours = await tokensPerSecond(kind, steps, warmup);
      } catch (e) {
        console.error(`${peerModel}: not measured: ${(e as Error).message}`);
        continue;
      }
      for (const precision of ['fp32', 'tf32', 'bf16'] as const) {
        const peer = runPython(`${SHARED_PEERS}torch_gpu_hf.py`, [peerModel, precision]);
        const peerValue = (peer?.[0]?.tokens_per_second as number | undefined) ?? null;
        rows.push(throughput(`${peerModel}-vs-${precision}`, ours, 'tokens/s', `torch-gpu-hf ${precision}`, peerValue));
      }
    }
  } else {
    console.log('model rows skipped (software adapter; pass --models to run them anyway)');
  }
  console.table(rows);
  console.log(`wrote ${writeResults('webgpu', rows)}`);
}

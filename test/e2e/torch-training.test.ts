// Ten training steps against PyTorch: a tiny character LSTM LM under AdamW with weight decay and global-norm clipping,
// from the same weights on the same batches, must give PyTorch's loss and gradient norm at every step and its
// parameters after the last (test/fixtures/torch-train, written by scripts/gen_torch_fixtures.py); on every backend,
// in float64 where it has it, and on the reference without fused kernels.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import * as T from '../../src/tensor/index.js';
import { Parameter } from '../../src/nn/index.js';
import { AdamW, clipGradNorm } from '../../src/optim/index.js';
import { forEachBackend } from '../helpers/backends.js';
import { CharLM } from './char-lm.js';

interface Encoded { shape: number[]; data: number[] }
const fx = JSON.parse(readFileSync(new URL('../fixtures/torch-train/char_lstm_adamw.json', import.meta.url), 'utf8')) as {
  config: { vocab: number; embed_dim: number; hidden: number; num_layers: number; lr: number; betas: [number, number]; eps: number; weight_decay: number; max_norm: number };
  batches: Encoded;
  params: Record<string, Encoded>;
  losses: number[];
  grad_norms: number[];
  final: Record<string, Encoded>;
};

/**
 * Relative error allowed per dtype: on losses and norms, and on final parameters against their largest magnitude.
 * Measured worst errors: in float32 1.5e-7 on losses and norms and 3.7e-6 on parameters (WebGPU; 2.4e-6 native), in
 * float64 2.3e-12.
 */
const TOLERANCE = { float32: 2e-5, float64: 2e-11 } as const;

for (const dtype of ['float32', 'float64'] as const) {
  forEachBackend(`ten AdamW steps of a character LSTM LM follow PyTorch's trajectory (${dtype})`, async () => {
    const c = fx.config;
    const model = new CharLM(c.vocab, c.embed_dim, c.hidden, c.num_layers);
    model.loadStateDict(new Map(Object.entries(fx.params).map(([k, v]) => [k, T.fromArray(Float32Array.from(v.data), v.shape)])));
    if (dtype === 'float64') for (const [name, p] of model.namedParameters()) model.setParameter(name, new Parameter(p.cast('float64').detach()));
    const opt = new AdamW(model.namedParameters(), { lr: c.lr, betas: c.betas, eps: c.eps, weightDecay: c.weight_decay });
    const [steps, B, L1] = fx.batches.shape as [number, number, number];
    const batches = T.fromArray(Int32Array.from(fx.batches.data), fx.batches.shape);
    const tol = TOLERANCE[dtype];
    for (let s = 0; s < steps; s++) {
      const ids = T.reshape(T.slice(batches, 0, s, s + 1), [B, L1]);
      opt.zeroGrad();
      const loss = model.loss(T.slice(ids, 1, 0, L1 - 1), T.slice(ids, 1, 1, L1));
      loss.backward();
      const norm = await clipGradNorm(model.parameters(), c.max_norm).item();
      opt.step();
      const got = await loss.item();
      assert.ok(Math.abs(got - fx.losses[s]!) <= tol * fx.losses[s]!, `step ${s}: loss ${got}, PyTorch ${fx.losses[s]}`);
      assert.ok(Math.abs(norm - fx.grad_norms[s]!) <= tol * fx.grad_norms[s]!, `step ${s}: gradient norm ${norm}, PyTorch ${fx.grad_norms[s]}`);
    }
    const params = new Map(model.namedParameters());
    assert.deepEqual([...params.keys()].sort(), Object.keys(fx.final).sort());
    for (const [name, want] of Object.entries(fx.final)) {
      const got = await params.get(name)!.data();
      const scale = Math.max(...want.data.map(Math.abs));
      const worst = Math.max(...want.data.map((w, i) => Math.abs(got[i]! - w)));
      assert.ok(worst <= tol * scale, `${name} after ${steps} steps: error ${worst} > ${tol} x ${scale}`);
    }
  }, { unfused: true, float64: dtype === 'float64' });
}

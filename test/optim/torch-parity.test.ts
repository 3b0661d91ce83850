// Optimizers, clipping and schedules against PyTorch trajectories (test/fixtures/optim/optim.json, written by
// scripts/gen_optim_fixtures.py), on every backend (float64 where it has it) and on the reference without fused kernels.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import * as T from '../../src/tensor/index.js';
import {
  Adam, AdamW, LambdaLR, SGD, clipGradNorm, constantScheduleWithWarmup, cosineScheduleWithWarmup, linearScheduleWithWarmup,
  type LrLambda, type Optimizer,
} from '../../src/optim/index.js';
import { forEachBackend } from '../helpers/backends.js';

interface Flat { shape: number[]; data: number[] }
interface Step { grads: Record<string, number[]>; norm?: number; lr: number[]; params: Record<string, number[]> }
interface Case {
  name: string; dtype: 'float32' | 'float64'; optimizer: 'SGD' | 'Adam' | 'AdamW'; options: Record<string, unknown>;
  groups: ({ params: string[] } & Record<string, unknown>)[] | null; clip: { maxNorm: number; normType: number | 'inf' } | null;
  schedule: { name: string; args: number[] } | null; scale: number; steps: Step[];
}
interface Fixture {
  torch: string;
  problem: { x: Flat; y: Flat; params: Record<'weight' | 'bias', Flat> };
  cases: Case[];
  clip: { dtype: 'float32' | 'float64'; normType: number | 'inf'; maxNorm: number; grads: Flat[]; norm: number; clipped: Flat[] }[];
  schedules: { name: string; args: number[]; baseLr: number; lrs: number[] }[];
}

const fixture = JSON.parse(readFileSync(new URL('../fixtures/optim/optim.json', import.meta.url), 'utf8')) as Fixture;

/** float32 results are held to ~1e-6 relative (PyTorch's CPU kernels fuse multiply-adds; ours round each op). */
const TOL = { float32: { rtol: 2e-6, atol: 1e-7 }, float64: { rtol: 1e-12, atol: 1e-14 } };

function assertClose(actual: ArrayLike<number>, expected: ArrayLike<number>, dtype: 'float32' | 'float64', what: string): void {
  const { rtol, atol } = TOL[dtype];
  assert.equal(actual.length, expected.length, `${what}: length`);
  for (let i = 0; i < expected.length; i++) {
    const a = actual[i]!, e = expected[i]!;
    assert.ok(Math.abs(a - e) <= atol + rtol * Math.abs(e), `${what}[${i}]: got ${a}, PyTorch ${e} (diff ${Math.abs(a - e)})`);
  }
}

const schedules: Record<string, (...args: number[]) => LrLambda> = {
  linear: (w, t) => linearScheduleWithWarmup(w!, t!),
  cosine: (w, t, numCycles, minLrRate) => cosineScheduleWithWarmup(w!, t!, { numCycles, minLrRate }),
  constant_warmup: (w) => constantScheduleWithWarmup(w!),
};

const optimizers = { SGD, Adam, AdamW } as const;

/** The case's parameters, optimizer and scheduler, built the way a user would from named parameters. */
function build(c: Case) {
  const dtype = c.dtype;
  const p = fixture.problem.params;
  const params = {
    weight: T.fromArray(p.weight.data, p.weight.shape, { dtype, requiresGrad: true }),
    bias: T.fromArray(p.bias.data, p.bias.shape, { dtype, requiresGrad: true }),
  };
  const named = Object.entries(params) as [string, T.Tensor][];
  const input = c.groups ? c.groups.map((g) => ({ ...g, params: g.params.map((n) => [n, params[n as 'weight']] as const) })) : named;
  const opt: Optimizer<{ lr: number }> = new optimizers[c.optimizer](input as never, c.options as never);
  const sched = c.schedule ? new LambdaLR(opt, schedules[c.schedule.name]!(...c.schedule.args)) : null;
  return { params, opt, sched };
}

const normTypeOf = (n: number | 'inf') => (n === 'inf' ? Infinity : n);

for (const c of fixture.cases) {
  forEachBackend(`${c.name} (${c.dtype}) follows PyTorch ${fixture.torch} for ${c.steps.length} steps`, async () => {
    const { params, opt, sched } = build(c);
    const storage = params.weight.storage;
    const heldView = params.weight.reshape(-1); // what a model holding the parameter sees
    for (const [k, s] of c.steps.entries()) {
      for (const [name, p] of Object.entries(params)) p.grad = T.fromArray(s.grads[name]!, p.shape, { dtype: c.dtype });
      if (c.clip) {
        const norm = clipGradNorm(Object.values(params), c.clip.maxNorm, normTypeOf(c.clip.normType));
        assertClose([await norm.item()], [s.norm!], c.dtype, `step ${k} norm`);
      }
      assertClose(opt.paramGroups.map((g) => g.lr), s.lr, 'float64', `step ${k} lr`);
      opt.step();
      sched?.step();
      for (const [name, p] of Object.entries(params)) assertClose(await p.data(), s.params[name]!, c.dtype, `step ${k} ${name}`);
    }
    assert.equal(params.weight.storage, storage, 'the parameter keeps its storage');
    assertClose(await heldView.data(), c.steps.at(-1)!.params.weight!, c.dtype, 'a view taken before the steps');
  }, { unfused: true, float64: c.dtype === 'float64' });
}

forEachBackend('the whole loop on our autograd (loss, backward, clip, AdamW, schedule) follows PyTorch in float64', async () => {
  const c = fixture.cases.find((k) => k.name === 'adamw_groups_clip_linear' && k.dtype === 'float64')!;
  const { params, opt, sched } = build(c);
  const x = T.fromArray(fixture.problem.x.data, fixture.problem.x.shape, { dtype: 'float64' });
  const y = T.fromArray(fixture.problem.y.data, fixture.problem.y.shape, { dtype: 'float64' });
  for (const [k, s] of c.steps.entries()) {
    opt.zeroGrad();
    x.matmul(params.weight).add(params.bias).tanh().sub(y).square().mean().mul(c.scale).backward();
    for (const [name, p] of Object.entries(params)) assertClose(await p.grad!.data(), s.grads[name]!, 'float64', `step ${k} grad ${name}`);
    assertClose([await clipGradNorm(Object.values(params), c.clip!.maxNorm).item()], [s.norm!], 'float64', `step ${k} norm`);
    opt.step();
    sched!.step();
    for (const [name, p] of Object.entries(params)) assertClose(await p.data(), s.params[name]!, 'float64', `step ${k} ${name}`);
  }
}, { unfused: true, float64: true });

for (const dtype of ['float32', 'float64'] as const) {
  forEachBackend(`clipGradNorm matches torch.nn.utils.clip_grad_norm_ for norms 1, 2, 3 and inf (${dtype})`, async () => {
    for (const k of fixture.clip.filter((c) => c.dtype === dtype)) {
      const params = k.grads.map((g) => {
        const p = T.zeros(g.shape, { dtype, requiresGrad: true });
        p.grad = T.fromArray(g.data, g.shape, { dtype });
        return p;
      });
      const what = `normType ${k.normType}, maxNorm ${k.maxNorm}`;
      const norm = clipGradNorm(params, k.maxNorm, normTypeOf(k.normType));
      assert.deepEqual(norm.shape, []);
      assertClose([await norm.item()], [k.norm], dtype, `${what}: total norm`);
      for (const [i, p] of params.entries()) assertClose(await p.grad!.data(), k.clipped[i]!.data, dtype, `${what}: grad ${i}`);
    }
  }, { float64: dtype === 'float64' });
}

test('LambdaLR with the Hugging Face schedules gives PyTorch LambdaLR\'s learning rates step by step', () => {
  for (const s of fixture.schedules) {
    const opt = new SGD([T.zeros([1], { requiresGrad: true })], { lr: s.baseLr });
    const sched = new LambdaLR(opt, schedules[s.name]!(...s.args));
    const lrs = [sched.getLastLr()[0]!];
    for (let i = 1; i < s.lrs.length; i++) {
      sched.step();
      lrs.push(sched.getLastLr()[0]!);
    }
    assertClose(lrs, s.lrs, 'float64', `${s.name}(${s.args.join(', ')})`);
  }
});

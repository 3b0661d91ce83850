// Optimizer behaviour beyond the PyTorch trajectories, on every backend and on the reference without fused kernels:
// in-place updates seen by models, the fused AdamW kernel against its composite, parameter groups, validation, gradient
// accumulation, and bit-exact resume from saved state.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as T from '../../src/tensor/index.js';
import { LayerNorm, Linear, Module, Parameter } from '../../src/nn/index.js';
import {
  Adam, AdamW, LambdaLR, SGD, accumulateGradients, assignInPlace, clipGradNorm, linearScheduleWithWarmup, weightDecayGroups,
  type AdamOptions, type NamedTensor, type Optimizer, type OptimizerState,
} from '../../src/optim/index.js';
import { UNFUSED, forEachBackend, withBackend } from '../helpers/backends.js';

/** A small model with every kind of parameter the decay rule sorts: matrices, biases and a LayerNorm. */
class TinyNet extends Module {
  fc = new Linear(4, 6);
  LayerNorm = new LayerNorm(6);
  head = new Linear(6, 3);
  forward(x: T.Tensor): T.Tensor {
    return this.head.forward(T.tanh(this.LayerNorm.forward(this.fc.forward(x))));
  }
}

/** Fixed inputs and targets of 8 rows, and a mean-reduced loss over any rows of them. */
function problem() {
  const x = T.fromArray(Array.from({ length: 32 }, (_, i) => Math.sin(1.3 * i + 0.2)), [8, 4]);
  const y = T.fromArray(Array.from({ length: 24 }, (_, i) => 0.8 * Math.cos(0.7 * i)), [8, 3]);
  const loss = (model: TinyNet, from = 0, to = 8) => model.forward(x.slice(0, from, to)).sub(y.slice(0, from, to)).square().mean();
  return { loss };
}

/** The loss over all rows. */
function loss1(model: TinyNet): T.Tensor {
  return problem().loss(model);
}

async function values(params: readonly NamedTensor[]): Promise<Map<string, Float32Array | Float64Array | Int32Array>> {
  return new Map(await Promise.all(params.map(async ([n, p]) => [n, await p.data()] as const)));
}

function assertAllClose(a: ArrayLike<number>, b: ArrayLike<number>, rtol: number, atol: number, what: string): void {
  assert.equal(a.length, b.length, what);
  for (let i = 0; i < a.length; i++) {
    assert.ok(Math.abs(a[i]! - b[i]!) <= atol + rtol * Math.abs(b[i]!), `${what}[${i}]: ${a[i]} vs ${b[i]}`);
  }
}

forEachBackend('step() updates parameters in place: the module, its Parameter objects and views all see the new values', async () => {
  T.manualSeed(1);
  const model = new TinyNet();
  const { loss } = problem();
  const weight = model.fc.weight;
  const view = weight.transpose(0, 1); // a strided view taken before the step
  const before = await weight.data();
  const opt = new SGD(model.namedParameters(), { lr: 0.1 });
  loss(model).backward();
  const grad = await weight.grad!.data();
  opt.step();
  assert.equal(model.fc.weight, weight, 'the module still holds the same Parameter object');
  const after = await weight.data();
  assertAllClose(after, before.map((v, i) => Math.fround(v - Math.fround(0.1 * grad[i]!))), 0, 1e-7, 'p - lr g');
  assert.deepEqual(await view.data(), await weight.transpose(0, 1).contiguous().data());
}, { unfused: true });

forEachBackend('a parameter that is a strided view of a larger buffer is updated in place, and only its elements change', async () => {
  const base = T.fromArray(Array.from({ length: 24 }, (_, i) => i / 10), [4, 6]);
  const p = base.slice(1, 1, 4).requireGrad(); // columns 1..3: not contiguous, not the whole storage
  const q = p.contiguous().detach().requireGrad(); // the same values as a standalone parameter
  const grads = Array.from({ length: 12 }, (_, i) => Math.cos(i));
  const optP = new AdamW([p], { lr: 0.05 }), optQ = new AdamW([q], { lr: 0.05 });
  for (let s = 0; s < 3; s++) {
    p.grad = T.fromArray(grads.map((g) => g * (s + 1)), [4, 3]);
    q.grad = p.grad;
    optP.step();
    optQ.step();
  }
  assertAllClose(await p.data(), await q.data(), 1e-6, 1e-7, 'view vs standalone');
  const all = await base.data();
  for (let r = 0; r < 4; r++) {
    for (const c of [0, 4, 5]) assert.equal(all[r * 6 + c], Math.fround((r * 6 + c) / 10), `untouched element (${r}, ${c})`);
  }
}, { unfused: true });

forEachBackend('the fused adamw kernel agrees with the composite path over 25 steps (AdamW and Adam with L2 decay)', async () => {
  const cases: [typeof Adam, Partial<AdamOptions>][] = [[AdamW, { lr: 0.01, weightDecay: 0.1 }], [Adam, { lr: 0.01, weightDecay: 0.1, betas: [0.8, 0.9] }]];
  // Drawn once on the host, so both runs see the same values (WebGPU's normal draws differ in the last bits).
  const gen = new T.Generator(4);
  const normal = () => Float32Array.from({ length: 40 * 25 }, () => Math.sqrt(-2 * Math.log(1 - gen.random())) * Math.cos(2 * Math.PI * gen.random()));
  const init = normal(), grads = Array.from({ length: 25 }, (_, s) => normal().map((g) => g * 0.1 * (s % 5 + 1)));
  for (const [Opt, options] of cases) {
    const run = async () => {
      const p = T.fromArray(init, [40, 25], { requiresGrad: true });
      const opt = new Opt([p], options);
      for (const g of grads) {
        p.grad = T.fromArray(g, [40, 25]);
        opt.step();
      }
      const st = opt.stateOf(p)!;
      return { p: await p.data(), m: await st.buffers.get('exp_avg')!.data(), v: await st.buffers.get('exp_avg_sq')!.data(), step: st.step };
    };
    const fused = await run(), composite = await withBackend(UNFUSED, run);
    assert.equal(fused.step, 25);
    assertAllClose(fused.p, composite.p, 1e-5, 1e-6, `${Opt.name} params`);
    assertAllClose(fused.m, composite.m, 1e-5, 1e-7, `${Opt.name} exp_avg`);
    assertAllClose(fused.v, composite.v, 1e-5, 1e-9, `${Opt.name} exp_avg_sq`);
  }
});

forEachBackend('maximize ascends: the same as descending on the negated gradient (SGD and Adam)', async () => {
  for (const make of [(ps: T.Tensor[], max: boolean) => new SGD(ps, { lr: 0.1, momentum: 0.9, maximize: max }),
    (ps: T.Tensor[], max: boolean) => new Adam(ps, { lr: 0.1, weightDecay: 0.01, maximize: max })]) {
    const a = T.fromArray([1, -2, 3], [3], { requiresGrad: true }), b = T.fromArray([1, -2, 3], [3], { requiresGrad: true });
    const oa = make([a], true), ob = make([b], false);
    for (let s = 0; s < 3; s++) {
      a.grad = T.fromArray([0.5, s, -1], [3]);
      b.grad = T.fromArray([-0.5, -s, 1], [3]);
      oa.step();
      ob.step();
    }
    assertAllClose(await a.data(), await b.data(), 1e-7, 1e-7, oa.constructor.name);
  }
}, { unfused: true });

forEachBackend('zeroGrad clears to null by default or to zeros; parameters without a gradient are skipped and get no state', async () => {
  const a = T.ones([2], { requiresGrad: true }), b = T.ones([2], { requiresGrad: true });
  const opt = new AdamW([a, b], { lr: 0.1 });
  a.grad = T.fromArray([1, 1], [2]);
  opt.step();
  assert.deepEqual(Array.from(await b.data()), [1, 1]);
  assert.equal(opt.stateOf(b), undefined);
  assert.equal(opt.stateOf(a)!.step, 1);
  opt.zeroGrad(false);
  assert.deepEqual(Array.from(await a.grad!.data()), [0, 0]);
  assert.equal(b.grad, null);
  opt.zeroGrad();
  assert.equal(a.grad, null);
}, { unfused: true });

forEachBackend('weightDecayGroups exempts biases, LayerNorm and ln_* weights and rank-1 tensors; decay applies per group', async () => {
  T.manualSeed(2);
  const model = new TinyNet();
  const fake = (shape: number[]) => T.ones(shape, { requiresGrad: true });
  const extra: NamedTensor[] = [['h.0.ln_1.weight', fake([2, 2])], ['bert.LayerNorm.weight', fake([2, 2])], ['h.0.attn.c_attn.bias', fake([2, 2])],
    ['wte.weight', fake([2, 2])], ['scale', fake([3])]];
  const [decay, keep] = weightDecayGroups([...model.namedParameters(), ...extra], 0.1);
  assert.deepEqual(decay!.params.map(([n]) => n), ['fc.weight', 'head.weight', 'wte.weight']);
  assert.deepEqual(keep!.params.map(([n]) => n),
    ['fc.bias', 'LayerNorm.weight', 'LayerNorm.bias', 'head.bias', 'h.0.ln_1.weight', 'bert.LayerNorm.weight', 'h.0.attn.c_attn.bias', 'scale']);
  assert.equal(keep!.weightDecay, 0);
  // With zero gradients AdamW moves parameters only by decay: the exempt group must not move.
  const opt = new AdamW(weightDecayGroups(model.namedParameters(), 0.5), { lr: 0.1 });
  const before = await values(model.namedParameters());
  for (const p of model.parameters()) p.grad = p.zerosLike();
  opt.step();
  for (const [name, p] of model.namedParameters()) {
    const expected = before.get(name)!.map((v) => (name.endsWith('.weight') && p.rank === 2 ? Math.fround(v * Math.fround(1 - 0.05)) : v));
    assertAllClose(await p.data(), expected, 1e-6, 0, name);
  }
}, { unfused: true });

test('constructors reject bad input with a clear message', () => {
  const p = T.ones([2], { requiresGrad: true });
  assert.throws(() => new SGD([], { lr: 0.1 }), /empty parameter list/);
  assert.throws(() => new SGD([p, p], { lr: 0.1 }), /appears more than once/);
  assert.throws(() => new SGD([['a', p], ['a', T.ones([1])]], { lr: 0.1 }), /two parameters are named 'a'/);
  assert.throws(() => new SGD([T.ones([2], { dtype: 'int32' })], { lr: 0.1 }), /dtype int32/);
  assert.throws(() => new SGD([['wte', p], ['lm_head', new Parameter(p)]], { lr: 0.1 }), /'wte' and 'lm_head' are two tensors over the same data/);
  new SGD([p.slice(0, 0, 1), p.slice(0, 1, 2)], { lr: 0.1 }); // disjoint views of one buffer are fine
  const grown = new SGD([p], { lr: 0.1, momentum: 0.5 });
  assert.throws(() => grown.addParamGroup({ params: [T.ones([1]), p] }), /parameter '2' appears more than once/);
  assert.throws(() => grown.addParamGroup({ params: [T.ones([1])], lr: -2 }), /invalid learning rate -2/);
  grown.addParamGroup({ params: [T.ones([1])], lr: 0.2 });
  assert.deepEqual(grown.paramGroups.map((g) => [g.keys, g.lr, g.momentum]), [[['0'], 0.1, 0.5], [['1'], 0.2, 0.5]]);
  assert.throws(() => new SGD([p], { lr: -1 }), /invalid learning rate -1/);
  assert.throws(() => new SGD([p], { lr: 0.1, nesterov: true }), /Nesterov momentum requires a momentum > 0/);
  assert.throws(() => new Adam([p], { betas: [0.9, 1] }), /invalid beta at index 1: 1/);
  assert.throws(() => new AdamW([{ params: [p], lr: Number.NaN }]), /invalid learning rate NaN/);
  assert.throws(() => clipGradNorm([p], 1, 0), /normType must be positive/);
  assert.throws(() => accumulateGradients(0, () => p.sum()), /positive integer/);
  const opt = new SGD([['w', p]], { lr: 0.1 });
  p.grad = T.ones([3]);
  assert.throws(() => opt.step(), /SGD.step: parameter 'w' is float32 \[2\] but its grad is float32 \[3\]/);
});

forEachBackend('gradients accumulate across backward() calls; k micro-batches of loss/k equal one batch of 4k rows', async () => {
  const { loss } = problem();
  T.manualSeed(5);
  const big = new TinyNet();
  T.manualSeed(5);
  const micro = new TinyNet();
  const twice = new TinyNet();
  loss(twice).backward();
  const once = await twice.fc.weight.grad!.data();
  loss(twice).backward();
  assertAllClose(await twice.fc.weight.grad!.data(), once.map((g) => 2 * g), 1e-6, 0, 'two backward calls add up');

  const optBig = new AdamW(big.namedParameters(), { lr: 0.01 }), optMicro = new AdamW(micro.namedParameters(), { lr: 0.01 });
  for (let step = 0; step < 3; step++) {
    optBig.zeroGrad();
    optMicro.zeroGrad();
    const bigLoss = loss(big);
    bigLoss.backward();
    const meanLoss = accumulateGradients(4, (i) => loss(micro, 2 * i, 2 * i + 2));
    assertAllClose([await meanLoss.item()], [await bigLoss.item()], 1e-6, 0, `step ${step} loss`);
    for (const [[name, p], [, q]] of big.namedParameters().map((e, i) => [e, micro.namedParameters()[i]!] as const)) {
      assertAllClose(await q.grad!.data(), await p.grad!.data(), 1e-5, 1e-7, `step ${step} grad ${name}`);
    }
    optBig.step();
    optMicro.step();
  }
  for (const [[name, p], [, q]] of big.namedParameters().map((e, i) => [e, micro.namedParameters()[i]!] as const)) {
    assertAllClose(await q.data(), await p.data(), 1e-5, 1e-6, `params ${name}`);
  }
}, { unfused: true });

/** Saved state as it comes back from disk: JSON metadata and copies of the raw bytes (as safetensors would give). */
function throughDisk(state: OptimizerState): OptimizerState {
  const tensors = Object.fromEntries(Object.entries(state.tensors).map(([k, t]) => {
    const bytes = new Uint8Array(t.data.buffer, t.data.byteOffset, t.data.byteLength).slice();
    const data = t.dtype === 'float64' ? new Float64Array(bytes.buffer) : new Float32Array(bytes.buffer);
    return [k, { dtype: t.dtype, shape: [...t.shape], data }];
  }));
  return { meta: JSON.parse(JSON.stringify(state.meta)), tensors };
}

const resumeCases: [string, (model: TinyNet) => Optimizer<{ lr: number }>, boolean][] = [
  ['SGD Nesterov with decay groups', (m) => new SGD(weightDecayGroups(m.namedParameters(), 0.01), { lr: 0.05, momentum: 0.9, nesterov: true }), false],
  ['Adam AMSGrad with L2 decay', (m) => new Adam(m.namedParameters(), { lr: 0.01, amsgrad: true, weightDecay: 0.01 }), false],
  ['AdamW with groups, clipping and a warmup schedule', (m) => new AdamW(weightDecayGroups(m.namedParameters(), 0.1), { lr: 0.02 }), true],
];

for (const [name, makeOpt, scheduled] of resumeCases) {
  forEachBackend(`${name}: 7 steps == 3 steps, save, load into a fresh model and optimizer, 4 steps, bit for bit`, async () => {
    const { loss } = problem();
    const setup = (seed: number) => {
      T.manualSeed(seed);
      const model = new TinyNet();
      const opt = makeOpt(model);
      const sched = scheduled ? new LambdaLR(opt, linearScheduleWithWarmup(2, 7)) : null;
      return { model, opt, sched };
    };
    const train = (s: ReturnType<typeof setup>, steps: number) => {
      for (let i = 0; i < steps; i++) {
        s.opt.zeroGrad();
        loss(s.model).backward();
        if (scheduled) clipGradNorm(s.model.parameters(), 0.5);
        s.opt.step();
        s.sched?.step();
      }
    };
    const straight = setup(7);
    train(straight, 7);

    const first = setup(7);
    train(first, 3);
    const saved = throughDisk(await first.opt.stateDict());
    const savedSched = JSON.parse(JSON.stringify(first.sched?.stateDict() ?? null));
    const checkpoint = await values(first.model.namedParameters());

    const resumed = setup(99); // different initial weights: everything must come from the checkpoint
    for (const [n, p] of resumed.model.namedParameters()) assignInPlace(p, T.fromArray(checkpoint.get(n)!, p.shape));
    resumed.opt.loadStateDict(saved);
    if (savedSched) resumed.sched!.loadStateDict(savedSched);
    assert.deepEqual(resumed.opt.paramGroups.map((g) => g.lr), first.opt.paramGroups.map((g) => g.lr));
    train(resumed, 4);

    assert.deepEqual(await values(resumed.model.namedParameters()), await values(straight.model.namedParameters()));
    const [a, b] = [await resumed.opt.stateDict(), await straight.opt.stateDict()];
    assert.deepEqual(a.meta, b.meta);
    assert.deepEqual(a.tensors, b.tensors);
  }, { unfused: true });
}

forEachBackend('stateDict is JSON metadata plus typed arrays keyed <param>.<buffer>, with PyTorch buffer names', async () => {
  T.manualSeed(3);
  const model = new TinyNet();
  const opt = new AdamW(weightDecayGroups(model.namedParameters(), 0.1), { lr: 0.02, amsgrad: true });
  loss1(model).backward();
  opt.step();
  const { meta, tensors } = await opt.stateDict();
  assert.equal(meta.format, 'pretrain.optimizer');
  assert.equal(meta.version, 1);
  assert.equal(meta.optimizer, 'AdamW');
  assert.deepEqual(meta.groups.map((g) => g.params), [['fc.weight', 'head.weight'], ['fc.bias', 'LayerNorm.weight', 'LayerNorm.bias', 'head.bias']]);
  assert.deepEqual(meta.groups[1]!.hyper, { lr: 0.02, betas: [0.9, 0.999], eps: 1e-8, weightDecay: 0, amsgrad: true, maximize: false });
  assert.deepEqual(meta.params['fc.weight'], { step: 1, buffers: ['exp_avg', 'exp_avg_sq', 'max_exp_avg_sq'] });
  assert.deepEqual(tensors['fc.weight.exp_avg']!.shape, [6, 4]);
  assert.ok(tensors['fc.weight.exp_avg']!.data instanceof Float32Array);
  assert.equal(Object.keys(tensors).length, 6 * 3);
}, { unfused: true });

forEachBackend('loadStateDict rejects state of another optimizer, layout or version, and leaves its own state untouched', async () => {
  T.manualSeed(4);
  const model = new TinyNet();
  const opt = new AdamW(model.namedParameters(), { lr: 0.01 });
  loss1(model).backward();
  opt.step();
  const good = await opt.stateDict();
  const before = await opt.stateDict();
  const variant = (edit: (s: OptimizerState) => void) => { const s = throughDisk(good); edit(s); return s; };

  assert.throws(() => new Adam(model.namedParameters()).loadStateDict(good), /saved by AdamW, not Adam/);
  assert.throws(() => new AdamW(model.parameters()).loadStateDict(good), /group 0 differs at parameter 0: state has 'fc.weight', optimizer has '0'/);
  assert.throws(() => new AdamW(weightDecayGroups(model.namedParameters(), 0.1)).loadStateDict(good), /2 parameter groups, this optimizer 1|1 parameter groups, this optimizer 2/);
  assert.throws(() => opt.loadStateDict(variant((s) => { s.meta.version = 2 as 1; })), /state version 2 is not supported/);
  assert.throws(() => opt.loadStateDict(variant((s) => { s.meta.format = 'x' as 'pretrain.optimizer'; })), /not optimizer state/);
  assert.throws(() => opt.loadStateDict(variant((s) => { s.tensors['head.bias.exp_avg']!.shape = [2]; })),
    /'head.bias.exp_avg' is float32 \[2\] but parameter 'head.bias' is float32 \[3\]/);
  assert.throws(() => opt.loadStateDict(variant((s) => { delete s.tensors['fc.bias.exp_avg_sq']; })), /'fc.bias.exp_avg_sq' is listed .* but missing/);
  assert.throws(() => opt.loadStateDict(variant((s) => { s.tensors['fc.bias.extra'] = s.tensors['fc.bias.exp_avg']!; })), /buffers for no parameter of this optimizer: fc.bias.extra/);
  assert.throws(() => opt.loadStateDict(variant((s) => { s.meta.groups[0]!.hyper.lr = -1; })), /invalid learning rate -1/);
  const after = await opt.stateDict();
  assert.deepEqual(after, before);
}, { unfused: true });

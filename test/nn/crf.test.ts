// The linear-chain CRF (src/nn/crf.ts) against brute force: the log-partition, path scores, every reduction, the
// gradient (as expected minus observed feature counts, and by finite differences) and Viterbi, each checked by
// enumerating all K^n tag sequences on tiny sizes; decoding constraints; mask and tag errors; and PyTorch fixtures
// (scripts/gen_crf_fixtures.py). Every case runs on every backend, in float64 where the backend has it and float32.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import * as T from '../../src/tensor/index.js';
import { Parameter } from '../../src/nn/module.js';
import { CRF, allowedTransitions, crfLogLikelihood, type CRFReduction } from '../../src/nn/crf.js';
import { forEachBackend, type BackendRun } from '../helpers/backends.js';
import { gradcheck } from '../helpers/gradcheck.js';

type FloatDType = 'float32' | 'float64';

/** A small problem: emissions [B, T, K], tags with junk under the padding, lengths, and CRF parameters. */
interface Problem {
  B: number; T: number; K: number;
  emissions: number[]; tags: number[]; lengths: number[];
  start: number[]; end: number[]; trans: number[];
}

function uniformValues(g: T.Generator, n: number, low: number, high: number): number[] {
  return Array.from({ length: n }, () => low + (high - low) * g.random());
}

/** A random problem; padding holds junk (large emissions, tag -100) that must not matter. */
function problem(B: number, Tn: number, K: number, lengths: number[], seed: number): Problem {
  const g = new T.Generator(seed);
  const emissions = uniformValues(g, B * Tn * K, -2, 2);
  const tags: number[] = [];
  for (let b = 0; b < B; b++) {
    for (let t = 0; t < Tn; t++) {
      if (t < lengths[b]!) tags.push(Math.floor(g.random() * K));
      else { tags.push(-100); for (let k = 0; k < K; k++) emissions[(b * Tn + t) * K + k] = 50 + k; }
    }
  }
  return { B, T: Tn, K, emissions, tags, lengths, start: uniformValues(g, K, -1, 1), end: uniformValues(g, K, -1, 1), trans: uniformValues(g, K * K, -1, 1) };
}

const SMALL = problem(2, 4, 3, [4, 2], 11); // K=3, T=4, the second sequence padded after 2 steps

/** Every tag sequence of length n over K tags. */
function* paths(n: number, K: number): Generator<number[]> {
  const y = new Array<number>(n).fill(0);
  for (;;) {
    yield [...y];
    let i = n - 1;
    while (i >= 0 && ++y[i]! === K) y[i--] = 0;
    if (i < 0) return;
  }
}

/** The score of path y of sequence b, written out from the definition. */
function pathScore(p: Problem, b: number, y: readonly number[]): number {
  const { T: Tn, K } = p;
  let s = p.start[y[0]!]! + p.end[y[y.length - 1]!]!;
  y.forEach((k, t) => { s += p.emissions[(b * Tn + t) * K + k]!; if (t > 0) s += p.trans[y[t - 1]! * K + k]!; });
  return s;
}

/** Brute force over all K^n paths of each sequence: log-partition, gold score, best path, and the gradient of the mean NLL. */
function bruteForce(p: Problem, allowed?: (y: readonly number[]) => boolean) {
  const { B, T: Tn, K } = p;
  const logZ: number[] = [], gold: number[] = [], best: number[][] = [];
  const grad = { emissions: new Array<number>(B * Tn * K).fill(0), start: new Array<number>(K).fill(0), end: new Array<number>(K).fill(0), trans: new Array<number>(K * K).fill(0) };
  for (let b = 0; b < B; b++) {
    const n = p.lengths[b]!;
    const all = [...paths(n, K)].map((y) => ({ y, s: pathScore(p, b, y) }));
    const m = Math.max(...all.map((a) => a.s));
    const z = m + Math.log(all.reduce((acc, a) => acc + Math.exp(a.s - m), 0));
    logZ.push(z);
    const y0 = p.tags.slice(b * Tn, b * Tn + n);
    gold.push(pathScore(p, b, y0));
    const candidates = allowed ? all.filter((a) => allowed(a.y)) : all;
    best.push(candidates.reduce((u, v) => (v.s > u.s ? v : u)).y);
    // d(mean NLL) = (expected feature counts under the model - the gold path's counts) / B.
    const add = (y: readonly number[], w: number) => {
      grad.start[y[0]!]! += w; grad.end[y[n - 1]!]! += w;
      y.forEach((k, t) => { grad.emissions[(b * Tn + t) * K + k]! += w; if (t > 0) grad.trans[y[t - 1]! * K + k]! += w; });
    };
    for (const a of all) add(a.y, Math.exp(a.s - z) / B);
    add(y0, -1 / B);
  }
  return { logZ, gold, best, grad };
}

function floats(values: readonly number[], shape: number[], dtype: FloatDType): T.Tensor {
  return T.fromArray(dtype === 'float64' ? Float64Array.from(values) : Float32Array.from(values), shape, { dtype });
}

/** The problem's tensors on the selected backend, and a CRF holding its parameters in `dtype`. */
function tensors(p: Problem, dtype: FloatDType, opts: ConstructorParameters<typeof CRF>[1] = {}) {
  const crf = new CRF(p.K, opts);
  crf.setParameter('start_transitions', new Parameter(floats(p.start, [p.K], dtype)));
  crf.setParameter('end_transitions', new Parameter(floats(p.end, [p.K], dtype)));
  crf.setParameter('transitions', new Parameter(floats(p.trans, [p.K, p.K], dtype)));
  const mask = T.fromArray(Int32Array.from({ length: p.B * p.T }, (_, i) => (i % p.T < p.lengths[Math.floor(i / p.T)]! ? 1 : 0)), [p.B, p.T]);
  return { crf, emissions: floats(p.emissions, [p.B, p.T, p.K], dtype), tags: T.fromArray(Int32Array.from(p.tags), [p.B, p.T]), mask };
}

function assertClose(what: string, got: ArrayLike<number>, want: readonly number[], tol: number): number {
  assert.equal(got.length, want.length, `${what}: ${got.length} values, expected ${want.length}`);
  let worst = 0;
  for (let i = 0; i < want.length; i++) {
    const d = Math.abs(got[i]! - want[i]!);
    worst = Math.max(worst, d);
    assert.ok(d <= tol * Math.max(1, Math.abs(want[i]!)), `${what}[${i}]: ${got[i]} vs ${want[i]} (diff ${d}, tolerance ${tol})`);
  }
  return worst;
}

/**
 * Tolerances relative to max(1, |value|). Measured worst differences on every backend here (reference, native,
 * WebAssembly, WebGPU on lavapipe): 5e-16 in float64, 9e-7 in float32 (values up to ~10).
 */
const TOL: Record<FloatDType, number> = { float64: 1e-12, float32: 5e-6 };

function bodies(dtype: FloatDType) {
  const opts = { float64: dtype === 'float64' };

  forEachBackend(`CRF ${dtype}: log-partition, path scores and every reduction match brute-force enumeration (padding ignored)`, async (run: BackendRun) => {
    const { crf, emissions, tags, mask } = tensors(SMALL, dtype);
    const want = bruteForce(SMALL);
    const tol = run.tol(TOL[dtype]);
    assertClose('logPartition', await crf.logPartition(emissions, mask).data(), want.logZ, tol);
    assertClose('score', await crf.score(emissions, tags, mask).data(), want.gold, tol);
    const llh = want.gold.map((g, b) => g - want.logZ[b]!);
    const total = llh[0]! + llh[1]!, tokens = SMALL.lengths[0]! + SMALL.lengths[1]!;
    const expected: Record<CRFReduction, number[]> = { none: llh, sum: [total], mean: [total / 2], token_mean: [total / tokens] };
    for (const reduction of ['none', 'sum', 'mean', 'token_mean'] as const) {
      assertClose(`forward(${reduction})`, await crf.forward(emissions, tags, mask, reduction).data(), expected[reduction], tol);
    }
    assertClose('forward default (sum)', await crf.forward(emissions, tags, mask).data(), [total], tol);
    assertClose('negLogLikelihood', await crf.negLogLikelihood(emissions, tags, mask).data(), [-total / 2], tol);
    // Without a mask every step is real: the first sequence alone (no padding) must give the same values.
    const one: Problem = { ...SMALL, B: 1, emissions: SMALL.emissions.slice(0, 12), tags: SMALL.tags.slice(0, 4), lengths: [4] };
    const single = tensors(one, dtype);
    assertClose('no mask', await single.crf.forward(single.emissions, single.tags, null, 'none').data(), [llh[0]!], tol);
  }, opts);

  forEachBackend(`CRF ${dtype}: the gradient of the mean NLL is expected minus observed feature counts (brute force), for emissions and all three transition parameters`, async (run: BackendRun) => {
    const { crf, tags, mask, emissions: e } = tensors(SMALL, dtype);
    const emissions = e.requireGrad();
    crf.negLogLikelihood(emissions, tags, mask).backward();
    const want = bruteForce(SMALL).grad;
    const tol = run.tol(TOL[dtype]);
    assertClose('d emissions', await emissions.grad!.data(), want.emissions, tol);
    assertClose('d start_transitions', await crf.start_transitions.grad!.data(), want.start, tol);
    assertClose('d end_transitions', await crf.end_transitions.grad!.data(), want.end, tol);
    assertClose('d transitions', await crf.transitions.grad!.data(), want.trans, tol);
  }, opts);

  forEachBackend(`CRF ${dtype}: Viterbi finds the brute-force best path`, async () => {
    const cases = [SMALL, problem(3, 5, 4, [5, 1, 3], 12), problem(4, 5, 3, [2, 5, 4, 1], 13), problem(2, 3, 2, [3, 3], 14)];
    for (const p of cases) {
      const { crf, emissions, mask } = tensors(p, dtype);
      assert.deepEqual(await crf.decode(emissions, mask), bruteForce(p).best, `K=${p.K}, lengths ${p.lengths}`);
    }
    const full = problem(2, 4, 3, [4, 4], 15);
    const { crf, emissions } = tensors(full, dtype);
    assert.deepEqual(await crf.decode(emissions), bruteForce(full).best, 'no mask');
  }, opts);
}

bodies('float64');
bodies('float32');

forEachBackend('CRF: gradients of the log-likelihood w.r.t. emissions and all three transition parameters pass finite differences', () => {
  const p = problem(3, 4, 3, [4, 2, 1], 21);
  const { tags, mask } = tensors(p, 'float64');
  const f = (emissions: T.Tensor, start: T.Tensor, end: T.Tensor, transitions: T.Tensor) =>
    crfLogLikelihood(emissions, tags, mask, { start_transitions: start, end_transitions: end, transitions });
  gradcheck(f, [floats(p.emissions.map((v) => (v > 10 ? 0.3 : v)), [3, 4, 3], 'float64'), floats(p.start, [3], 'float64'), floats(p.end, [3], 'float64'), floats(p.trans, [3, 3], 'float64')],
    { atol: 1e-7, rtol: 1e-6 });
}, { float64: true });

forEachBackend('CRF: large emissions stay finite (log-sum-exp shifts by the maximum)', async (run: BackendRun) => {
  const p = problem(1, 4, 3, [4], 31);
  p.emissions = p.emissions.map((v) => v * 500);
  const { crf, emissions, tags } = tensors(p, 'float32');
  const got = await crf.logPartition(emissions).data();
  assertClose('logPartition', got, bruteForce(p).logZ, run.tol(1e-6));
  const e = emissions.requireGrad();
  crf.negLogLikelihood(e, tags).backward();
  assert.ok((await e.grad!.data()).every(Number.isFinite), 'finite gradient');
});

const BIO = ['O', 'B-PER', 'I-PER', 'B-LOC', 'I-LOC'];

test('allowedTransitions(BIO) gives AllenNLP\'s pairs: O → I-x and B-X → I-Y forbidden, START → O or B-x, anything but START → END', () => {
  const names = [...BIO, 'START', 'END'];
  const got = new Set(allowedTransitions('BIO', BIO).map(([i, j]) => `${names[i]}>${names[j]}`));
  const want = new Set<string>();
  for (const from of ['O', 'B-PER', 'I-PER', 'B-LOC', 'I-LOC']) {
    for (const to of ['O', 'B-PER', 'B-LOC', 'END']) want.add(`${from}>${to}`);
    const entity = from.slice(2);
    if (entity) want.add(`${from}>I-${entity}`);
  }
  for (const to of ['O', 'B-PER', 'B-LOC']) want.add(`START>${to}`);
  assert.deepEqual([...got].sort(), [...want].sort());
  assert.ok(allowedTransitions('BIOUL', ['O', 'B-X', 'I-X', 'L-X', 'U-X']).some(([i, j]) => i === 1 && j === 3), 'BIOUL: B-X → L-X');
  assert.throws(() => allowedTransitions('XYZ' as never, BIO), /unknown scheme/);
});

forEachBackend('CRF decode with BIO constraints finds the best allowed path (brute force), even where the unconstrained best is invalid', async () => {
  const p = problem(3, 4, 5, [4, 3, 4], 41);
  // Emissions that favour invalid paths: I-PER first, then I-LOC after B-PER.
  for (const [b, t, k] of [[0, 0, 2], [1, 0, 4], [2, 1, 1], [2, 2, 4]] as const) p.emissions[(b * p.T + t) * p.K + k] = 6;
  const pairs = allowedTransitions('BIO', BIO);
  const ok = new Set(pairs.map(([i, j]) => `${i},${j}`));
  const allowed = (y: readonly number[]) => ok.has(`5,${y[0]}`) && ok.has(`${y[y.length - 1]},6`) && y.every((k, t) => t === 0 || ok.has(`${y[t - 1]},${k}`));
  const { crf, emissions, mask } = tensors(p, 'float32', { constraints: pairs });
  const decoded = await crf.decode(emissions, mask);
  assert.deepEqual(decoded, bruteForce(p, allowed).best);
  assert.ok(decoded.every(allowed), 'every decoded path is allowed');
  const free = tensors(p, 'float32');
  assert.ok((await free.crf.decode(free.emissions, free.mask)).some((y) => !allowed(y)), 'the unconstrained best paths include invalid ones');
  // The constraints act at decode time only, and are not parameters.
  assert.deepEqual(crf.namedParameters().map(([n]) => n), ['start_transitions', 'end_transitions', 'transitions']);
  const llh = async (c: CRF) => Array.from(await c.forward(emissions, T.fromArray(Int32Array.from(p.tags), [3, 4]), mask, 'none').data());
  assert.deepEqual(await llh(crf), await llh(free.crf), 'the log-likelihood ignores the constraints');
  assert.throws(() => new CRF(3, { constraints: [[0, 7]] }), /outside tags/);
  const none = new CRF(2, { constraints: [[2, 0], [0, 3]] }); // START → 0 → END only, but 0 → 0 forbidden
  await assert.rejects(none.decode(T.zeros([1, 2, 2])), /no tag sequence is allowed/);
});

test('CRF parameters: pytorch-crf names and shapes, U(-0.1, 0.1)', async () => {
  T.manualSeed(3);
  const crf = new CRF(40);
  assert.deepEqual(crf.namedParameters().map(([n, p]) => [n, [...p.shape]]), [['start_transitions', [40]], ['end_transitions', [40]], ['transitions', [40, 40]]]);
  const v = await crf.transitions.data();
  assert.ok(v.every((x) => x >= -0.1 && x <= 0.1) && Math.max(...v) > 0.099 && Math.min(...v) < -0.099, 'U(-0.1, 0.1) filled');
  assert.throws(() => new CRF(0), /invalid number of tags/);
});

forEachBackend('CRF rejects bad masks, tags and shapes (decode everywhere; forward wherever values read synchronously)', async (run: BackendRun) => {
  const crf = new CRF(3);
  const x = T.zeros([2, 3, 3]);
  const tags = T.fromArray(Int32Array.from([0, 1, 2, 0, 1, 2]), [2, 3]);
  const m = (v: number[]) => T.fromArray(Int32Array.from(v), [2, 3]);
  const bad: [string, T.Tensor, RegExp][] = [
    ['first step masked', m([1, 1, 1, 0, 1, 1]), /first timestep must all be on/],
    ['a gap', m([1, 0, 1, 1, 1, 0]), /padding must come only at the end/],
    ['not 0/1', m([1, 2, 1, 1, 1, 0]), /must be 0 or 1/],
  ];
  for (const [what, mask, error] of bad) {
    await assert.rejects(crf.decode(x, mask), error, `decode: ${what}`);
    if (run.backend.readSync) assert.throws(() => crf.forward(x, tags, mask), error, `forward: ${what}`);
  }
  if (run.backend.readSync) {
    assert.throws(() => crf.forward(x, T.fromArray(Int32Array.from([0, 1, 3, 0, 1, 2]), [2, 3])), /tag 3 at sequence 0, step 2 is not in 0..2/);
    assert.throws(() => crf.forward(x, T.fromArray(Int32Array.from([0, 1, 2, 0, -100, 2]), [2, 3]), m([1, 1, 1, 1, 1, 1])), /tag -100/);
    // -100 under padding is fine.
    crf.forward(x, T.fromArray(Int32Array.from([0, 1, 2, 0, -100, -100]), [2, 3]), m([1, 1, 1, 1, 0, 0]));
  }
  assert.throws(() => crf.forward(T.zeros([2, 3]), tags), /3 dimensions/);
  assert.throws(() => crf.forward(T.zeros([2, 3, 4]), tags), /last dimension of emissions to be 3, got 4/);
  assert.throws(() => crf.forward(x, T.fromArray(Int32Array.from([0, 1, 0, 1]), [2, 2])), /emissions and tags must match/);
  assert.throws(() => crf.forward(x, tags, T.ones([3, 2])), /emissions and mask must match/);
  assert.throws(() => crf.forward(x, T.zeros([2, 3])), /tags must be int32/);
  assert.throws(() => crf.forward(x, tags, null, 'avg' as never), /invalid reduction/);
  assert.throws(() => crf.forward(T.zeros([2, 0, 3]), T.zeros([2, 0], { dtype: 'int32' })), /at least one step/);
});

/** PyTorch fixtures (scripts/gen_crf_fixtures.py): a reference CRF written in plain torch, its values and autograd gradients. */
interface Fixture {
  K: number; B: number; T: number;
  emissions: number[]; tags: number[]; mask: number[];
  start_transitions: number[]; end_transitions: number[]; transitions: number[];
  llh: Record<CRFReduction, number[]>;
  grad: { emissions: number[]; start_transitions: number[]; end_transitions: number[]; transitions: number[] };
  decode: number[][];
}

const FIXTURE: Fixture = JSON.parse(readFileSync(new URL('../fixtures/crf/crf.json', import.meta.url), 'utf8'));

for (const dtype of ['float64', 'float32'] as const) {
  forEachBackend(`CRF ${dtype} matches a PyTorch reference: every reduction, the gradient of the mean NLL, Viterbi`, async (run: BackendRun) => {
    const fx = FIXTURE;
    const crf = new CRF(fx.K);
    crf.setParameter('start_transitions', new Parameter(floats(fx.start_transitions, [fx.K], dtype)));
    crf.setParameter('end_transitions', new Parameter(floats(fx.end_transitions, [fx.K], dtype)));
    crf.setParameter('transitions', new Parameter(floats(fx.transitions, [fx.K, fx.K], dtype)));
    const emissions = floats(fx.emissions, [fx.B, fx.T, fx.K], dtype).requireGrad();
    const tags = T.fromArray(Int32Array.from(fx.tags), [fx.B, fx.T]);
    const mask = T.fromArray(Int32Array.from(fx.mask), [fx.B, fx.T]);
    const tol = run.tol(TOL[dtype]);
    for (const reduction of ['none', 'sum', 'mean', 'token_mean'] as const) {
      assertClose(`llh ${reduction}`, await T.noGrad(() => crf.forward(emissions, tags, mask, reduction)).data(), fx.llh[reduction], tol);
    }
    crf.negLogLikelihood(emissions, tags, mask).backward();
    assertClose('d emissions', await emissions.grad!.data(), fx.grad.emissions, tol);
    for (const name of ['start_transitions', 'end_transitions', 'transitions'] as const) {
      assertClose(`d ${name}`, await crf[name].grad!.data(), fx.grad[name], tol);
    }
    assert.deepEqual(await crf.decode(emissions, mask), fx.decode);
  }, { float64: dtype === 'float64' });
}


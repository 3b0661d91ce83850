// Finite-difference gradient checking in the float64 path, shared by the engine's gradient tests.
import assert from 'node:assert/strict';
import * as T from '../../src/tensor/index.js';

/** Options of `gradcheck`. */
export interface GradcheckOptions {
  /** Central-difference step. */
  eps?: number;
  /** Absolute tolerance. */
  atol?: number;
  /** Relative tolerance (against the numeric gradient). */
  rtol?: number;
  /** Seed of the random cotangent R. */
  seed?: number;
}

/** Float64 values from a seeded generator, uniform in [low, high), optionally kept at least `gap` away from `avoid`. */
export function randF64(shape: readonly number[], opts: { low?: number; high?: number; seed?: number; avoid?: number[]; gap?: number } = {}): T.Tensor {
  const { low = -2, high = 2, seed = 1, avoid = [], gap = 0.05 } = opts;
  const g = new T.Generator(seed);
  const n = shape.reduce((p, d) => p * d, 1);
  const values = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    let v: number;
    do v = low + (high - low) * g.random(); while (avoid.some((a) => Math.abs(v - a) < gap));
    values[i] = v;
  }
  return T.fromArray(values, shape, { dtype: 'float64' });
}

/** Distinct float64 values (a shuffled grid plus small jitter), so max/min/sort-like ops have no ties. */
export function distinctF64(shape: readonly number[], seed = 1): T.Tensor {
  const g = new T.Generator(seed);
  const n = shape.reduce((p, d) => p * d, 1);
  const values = Array.from({ length: n }, (_, i) => (i - n / 2) * 0.37 + 0.05 * g.random());
  for (let i = n - 1; i > 0; i--) {
    const j = Math.floor(g.random() * (i + 1));
    [values[i], values[j]] = [values[j]!, values[i]!];
  }
  return T.fromArray(values, shape, { dtype: 'float64' });
}

function scalarOf(t: T.Tensor): number {
  return t.dataSync()[0]!;
}

/**
 * Checks the autograd gradients of `f` at `inputs` against central differences. The scalar compared is
 * sum(f(x) * R) for a fixed random R, so every output element and every input element is exercised. Float inputs
 * must be float64 and are checked; int32 inputs (indices, masks) pass through unperturbed. Throws with the input,
 * flat index and both values of the first mismatch. Returns the largest absolute difference seen.
 */
export function gradcheck(f: (...xs: T.Tensor[]) => T.Tensor, inputs: readonly T.Tensor[], opts: GradcheckOptions = {}): number {
  const { eps = 1e-6, atol = 1e-6, rtol = 1e-5, seed = 7 } = opts;
  const checked = inputs.map((x) => x.dtype === 'float64');
  for (const x of inputs) {
    if (x.dtype === 'float32') throw new Error(`gradcheck: float inputs must be float64, got float32 ${JSON.stringify(x.shape)}`);
  }
  const leaves = inputs.map((x, i) => (checked[i] ? T.fromArray(x.dataSync(), x.shape, { dtype: 'float64' }).requireGrad() : x));
  const y = f(...leaves);
  assert.equal(y.dtype, 'float64', 'gradcheck: f must return float64');
  const r = randF64(y.shape, { seed, low: -1, high: 1, gap: 0 });
  T.sum(T.mul(y, r)).backward();

  const objective = (xs: T.Tensor[]) => scalarOf(T.noGrad(() => T.sum(T.mul(f(...xs), r))));
  let worst = 0;
  leaves.forEach((leaf, i) => {
    if (!checked[i]) return;
    const analytic = leaf.grad ? leaf.grad.dataSync() : new Float64Array(leaf.size);
    assert.deepEqual(leaf.grad?.shape ?? leaf.shape, leaf.shape, `gradcheck: gradient of input ${i} has the wrong shape`);
    const base = Float64Array.from(leaf.dataSync());
    for (let j = 0; j < base.length; j++) {
      const at = (delta: number) => {
        const v = Float64Array.from(base);
        v[j] = base[j]! + delta;
        return objective(leaves.map((l, k) => (k === i ? T.fromArray(v, leaf.shape, { dtype: 'float64' }) : l.detach())));
      };
      const numeric = (at(eps) - at(-eps)) / (2 * eps);
      const diff = Math.abs(analytic[j]! - numeric);
      worst = Math.max(worst, diff);
      if (!(diff <= atol + rtol * Math.abs(numeric))) {
        assert.fail(`gradcheck: input ${i} ${JSON.stringify(leaf.shape)} element ${j}: autograd ${analytic[j]} vs numeric ${numeric} (diff ${diff})`);
      }
    }
  });
  return worst;
}

// Neural-network ops: softmax, dropout, layer norm, cross-entropy, attention, embedding, linear, the LSTM cell and
// padding (convolutions and pooling are in conv.ts). Composites of primitives unless a backend offers a fused kernel.
import { noGrad, record } from '../autograd.js';
import { ShapeError, fmt, normalizeAxis } from '../shape.js';
import { fromKernel, type Tensor } from '../tensor.js';
import { fromArray, full, rand } from './creation.js';
import { add, div, exp, ge, gt, le, log, maximum, minimum, mul, neg, relu, sigmoid, sqrt, sub, tanh, where } from './elementwise.js';
import { matmul } from './linalg.js';
import { max, mean, sum } from './reduce.js';
import { concat, contiguous, expand, flatten, gather, indexSelect, permute, reshape, slice, split, transpose } from './shape.js';

/** The most negative float32: masked attention scores take it, so fully masked rows stay finite (as in HF). */
export const MASK_VALUE = -3.4028234663852886e38;

function lastAxisOp(x: Tensor, axis: number, fn: (x: Tensor) => Tensor): Tensor {
  const a = normalizeAxis('softmax', axis, x.rank);
  if (a === x.rank - 1) return fn(x);
  const perm = [...x.shape.keys()];
  [perm[a], perm[x.rank - 1]] = [perm[x.rank - 1]!, perm[a]!];
  return permute(fn(permute(x, perm)), perm);
}

function softmaxLast(x: Tensor, log: boolean): Tensor {
  const xc = contiguous(x.detach());
  let out: Tensor;
  if (x.backend.softmax) {
    out = fromKernel(log ? 'logSoftmax' : 'softmax', x.backend.softmax(xc.view, log), x.shape, x.dtype, x.backend);
  } else {
    out = noGrad(() => {
      const shifted = sub(xc, max(xc, -1, true));
      const e = exp(shifted);
      const s = sum(e, -1, true);
      return log ? sub(shifted, reshape(s, s.shape).log()) : div(e, s);
    });
  }
  return record(log ? 'logSoftmax' : 'softmax', out, [x], (g) => [
    log ? sub(g, mul(exp(out), sum(g, -1, true))) : mul(out, sub(g, sum(mul(g, out), -1, true))),
  ]);
}

/** Softmax along `axis` (default last). */
export function softmax(x: Tensor, axis = -1): Tensor { return lastAxisOp(x, axis, (t) => softmaxLast(t, false)); }
/** Log-softmax along `axis` (default last). */
export function logSoftmax(x: Tensor, axis = -1): Tensor { return lastAxisOp(x, axis, (t) => softmaxLast(t, true)); }

/** Zeroes each element with probability p and scales the rest by 1/(1-p) while `training`. */
export function dropout(x: Tensor, p: number, training = true): Tensor {
  if (p < 0 || p >= 1) throw new RangeError(`dropout: p must be in [0, 1), got ${p}`);
  if (!training || p === 0) return x;
  const keep = noGrad(() => div(ge(rand(x.shape, { dtype: x.dtype }), p), 1 - p));
  return mul(x, keep);
}

/** Layer normalisation over the last `weight.rank` dims (biased variance, as in PyTorch). */
export function layerNorm(x: Tensor, weight: Tensor | null, bias: Tensor | null, eps = 1e-5, normalizedDims = weight?.rank ?? 1): Tensor {
  const backend = x.backend;
  if (normalizedDims === 1 && backend.layerNorm && backend.layerNormBackward && (!weight || weight.rank === 1) && (!bias || bias.rank === 1)) {
    return fusedLayerNorm(x, weight, bias, eps);
  }
  const axes = Array.from({ length: normalizedDims }, (_, i) => x.rank - normalizedDims + i);
  const mu = mean(x, axes, true);
  const centered = sub(x, mu);
  const variance = mean(mul(centered, centered), axes, true);
  let y = div(centered, sqrt(add(variance, eps)));
  if (weight) y = mul(y, weight);
  if (bias) y = add(y, bias);
  return y;
}

/** Layer norm over the last axis through the backend's fused forward and backward kernels. */
function fusedLayerNorm(x: Tensor, weight: Tensor | null, bias: Tensor | null, eps: number): Tensor {
  const backend = x.backend;
  const n = x.shape[x.rank - 1]!;
  const xc = contiguous(x.detach());
  const { y, mean: mu, rstd } = backend.layerNorm!(xc.view, weight?.detach().view ?? null, bias?.detach().view ?? null, n, eps);
  const out = fromKernel('layerNorm', y, x.shape, x.dtype, backend);
  const inputs = [x, ...(weight ? [weight] : []), ...(bias ? [bias] : [])];
  return record('layerNorm', out, inputs, (g) => {
    const gc = contiguous(g);
    const grads = backend.layerNormBackward!(gc.view, xc.view, weight?.detach().view ?? null, mu, rstd, n);
    const dx = fromKernel('layerNorm backward', grads.dx, x.shape, x.dtype, backend);
    const dw = fromKernel('layerNorm backward', grads.dweight, [n], x.dtype, backend);
    const db = fromKernel('layerNorm backward', grads.dbias, [n], x.dtype, backend);
    return [dx, ...(weight ? [dw] : []), ...(bias ? [db] : [])];
  });
}

/** Options of `crossEntropy`, with PyTorch's names and defaults. */
export interface CrossEntropyOptions {
  /** Targets equal to this are skipped (default -100). */
  ignoreIndex?: number;
  /** Mixes the one-hot target with a uniform distribution (default 0). */
  labelSmoothing?: number;
  /** 'mean' over non-ignored targets (default), 'sum', or 'none' (one loss per target). */
  reduction?: 'mean' | 'sum' | 'none';
}

/** Cross-entropy of logits [N, C] (or [N, C, d...]) against int32 class targets [N] (or [N, d...]). */
export function crossEntropy(logits: Tensor, target: Tensor, opts: CrossEntropyOptions = {}): Tensor {
  const { ignoreIndex = -100, labelSmoothing = 0, reduction = 'mean' } = opts;
  if (target.dtype !== 'int32') throw new ShapeError(`crossEntropy: target must be int32 class indices, got ${target.dtype} ${fmt(target.shape)} (logits ${fmt(logits.shape)})`);
  let x = logits;
  if (x.rank > 2) x = flatten(permute(x, [0, ...Array.from({ length: x.rank - 2 }, (_, i) => i + 2), 1]), 0, -2);
  const C = x.shape[x.rank - 1]!;
  const t = reshape(target, [-1]);
  if (x.rank !== 2 || x.shape[0] !== t.shape[0]) {
    throw new ShapeError(`crossEntropy: logits ${fmt(logits.shape)} do not match targets ${fmt(target.shape)}`);
  }
  const valid = noGrad(() => gt(sub(t, ignoreIndex).abs(), 0));
  const mask = noGrad(() => valid.cast(x.dtype));
  let loss: Tensor;
  if (x.backend.crossEntropy && x.backend.crossEntropyBackward) {
    loss = fusedCrossEntropyRows(x, t, ignoreIndex, labelSmoothing);
  } else {
    const safeTarget = noGrad(() => where(valid, t, 0));
    const logp = logSoftmax(x, -1);
    loss = neg(reshape(gather(logp, 1, reshape(safeTarget, [-1, 1])), [-1]));
    if (labelSmoothing > 0) loss = add(mul(loss, 1 - labelSmoothing), mul(neg(mean(logp, -1)), labelSmoothing));
    loss = mul(loss, mask);
  }
  if (reduction === 'none') return reshape(loss, target.shape);
  const total = sum(loss);
  if (reduction === 'sum') return total;
  return div(total, noGrad(() => sum(mask)));
}

/** How a loss over many elements is reduced, with PyTorch's names. */
export type Reduction = 'mean' | 'sum' | 'none';

function reduce(loss: Tensor, reduction: Reduction): Tensor {
  return reduction === 'none' ? loss : reduction === 'sum' ? sum(loss) : mean(loss);
}

/** torch.nn.functional.mse_loss: (input - target)², reduced; shapes must match. */
export function mseLoss(input: Tensor, target: Tensor, reduction: Reduction = 'mean'): Tensor {
  if (input.shape.length !== target.shape.length || input.shape.some((d, i) => d !== target.shape[i])) {
    throw new ShapeError(`mseLoss: input ${fmt(input.shape)} and target ${fmt(target.shape)} differ in shape`);
  }
  const d = sub(input, target);
  return reduce(mul(d, d), reduction);
}

/**
 * torch.nn.functional.binary_cross_entropy_with_logits: −[y·log σ(x) + (1−y)·log(1−σ(x))], computed as
 * max(x, 0) − x·y + log(1 + exp(−|x|)) so that it stays finite for large |x|.
 */
export function binaryCrossEntropyWithLogits(logits: Tensor, target: Tensor, reduction: Reduction = 'mean'): Tensor {
  if (logits.shape.length !== target.shape.length || logits.shape.some((d, i) => d !== target.shape[i])) {
    throw new ShapeError(`binaryCrossEntropyWithLogits: logits ${fmt(logits.shape)} and target ${fmt(target.shape)} differ in shape`);
  }
  const loss = add(sub(relu(logits), mul(logits, target)), log(add(exp(neg(logits.abs())), 1)));
  return reduce(loss, reduction);
}

/**
 * Per-row cross-entropy of logits [N, C] through the backend's fused kernels (0 on ignored rows): one pass for the
 * log-sum-exp forward and one for softmax - target backward, instead of a softmax, a gather and their adjoints over
 * the whole [N, C] matrix.
 */
function fusedCrossEntropyRows(x: Tensor, t: Tensor, ignoreIndex: number, smoothing: number): Tensor {
  const backend = x.backend;
  const xc = contiguous(x.detach()), tc = contiguous(t);
  const { loss, lse } = backend.crossEntropy!(xc.view, tc.view, ignoreIndex, smoothing);
  const out = fromKernel('crossEntropy', loss, [x.shape[0]!], x.dtype, backend);
  return record('crossEntropy', out, [x], (g) => {
    const dx = backend.crossEntropyBackward!(xc.view, tc.view, lse, contiguous(g).view, ignoreIndex, smoothing);
    return [fromKernel('crossEntropy backward', dx, x.shape, x.dtype, backend)];
  });
}

/** Options of `scaledDotProductAttention`. */
export interface AttentionOptions {
  /** Nonzero where a query may attend to a key; broadcastable to [..., Tq, Tk] (e.g. a padding mask [B, 1, 1, Tk]). */
  mask?: Tensor;
  /** Hide future keys (key index > query index). */
  causal?: boolean;
  /** Dropout on the attention weights. */
  dropout?: number;
  training?: boolean;
  /** Defaults to 1/sqrt(head dim). */
  scale?: number;
}

/** softmax(q kᵀ · scale, masked) v over q [..., Tq, D], k [..., Tk, D], v [..., Tk, Dv]. */
export function scaledDotProductAttention(q: Tensor, k: Tensor, v: Tensor, opts: AttentionOptions = {}): Tensor {
  const D = q.shape[q.rank - 1]!;
  const scale = opts.scale ?? 1 / Math.sqrt(D);
  const b = q.backend;
  const weightDropout = (opts.dropout ?? 0) > 0 && (opts.training ?? true);
  if (b.attention && b.attentionBackward && !weightDropout && q.rank === 4 && k.rank === 4 && v.rank === 4 && q.dtype === 'float32' && k.dtype === 'float32' &&
    v.dtype === 'float32' && q.shape[0] === k.shape[0] && q.shape[0] === v.shape[0] && q.shape[1] === k.shape[1] && q.shape[1] === v.shape[1] &&
    k.shape[2] === v.shape[2] && k.shape[3] === D) {
    return fusedAttention(q, k, v, opts.mask, opts.causal ?? false, scale);
  }
  let scores = mul(matmul(q, transpose(k)), scale);
  const Tq = q.shape[q.rank - 2]!, Tk = k.shape[k.rank - 2]!;
  if (opts.causal) {
    const allowed = noGrad(() => {
      const m = new Float32Array(Tq * Tk);
      // Queries are aligned to the last Tq keys, so a KV cache (Tq < Tk) still sees its past.
      for (let i = 0; i < Tq; i++) for (let j = 0; j <= i + Tk - Tq && j < Tk; j++) m[i * Tk + j] = 1;
      return fromArray(m, [Tq, Tk], { dtype: scores.dtype });
    });
    scores = where(allowed, scores, MASK_VALUE);
  }
  if (opts.mask) scores = where(opts.mask, scores, MASK_VALUE);
  let weights = softmax(scores, -1);
  if (opts.dropout) weights = dropout(weights, opts.dropout, opts.training ?? true);
  return matmul(weights, v);
}

/**
 * Attention through the backend's fused kernels: the scores, mask and softmax of each (batch, head) never leave the
 * kernel, q/k/v are read through their strides, and the output comes back laid out [B, Tq, H, Dv], so that the
 * caller's transpose-and-reshape to merge the heads is a free view.
 */
function fusedAttention(q: Tensor, k: Tensor, v: Tensor, mask: Tensor | undefined, causal: boolean, scale: number): Tensor {
  const backend = q.backend;
  const [B, H, Tq] = q.shape as [number, number, number, number];
  const [Tk, Dv] = [k.shape[2]!, v.shape[3]!];
  const m = mask && noGrad(() => expand(mask.dtype === 'float32' ? mask : mask.cast('float32'), [B, H, Tq, Tk]));
  const qd = q.detach(), kd = k.detach(), vd = v.detach();
  const { out, saved } = backend.attention!(qd.view, kd.view, vd.view, m?.view ?? null, causal, scale);
  const merged = fromKernel('attention', out, [B, Tq, H, Dv], q.dtype, backend);
  const y = record('attention', merged, [q, k, v], (g) => {
    const grads = backend.attentionBackward!(transpose(g, 1, 2).view, qd.view, kd.view, vd.view, m?.view ?? null, causal, saved, scale);
    const asHeads = (buf: object, T: number, d: number) => transpose(fromKernel('attention backward', buf, [B, T, H, d], q.dtype, backend), 1, 2);
    return [asHeads(grads.dq, Tq, q.shape[3]!), asHeads(grads.dk, Tk, k.shape[3]!), asHeads(grads.dv, Tk, Dv)];
  });
  return transpose(y, 1, 2);
}

/** Rows of `weight` [V, D] at int32 `ids` [...]: output [..., D]; the gradient scatter-adds into the rows. */
export function embedding(weight: Tensor, ids: Tensor): Tensor {
  if (ids.dtype !== 'int32') throw new ShapeError(`embedding: ids must be int32, got ${ids.dtype} ${fmt(ids.shape)} (weight ${fmt(weight.shape)})`);
  return reshape(indexSelect(weight, 0, reshape(ids, [-1])), [...ids.shape, weight.shape[1]!]);
}

/** x wᵀ + b, with weight [out, in] as in PyTorch. */
export function linear(x: Tensor, weight: Tensor, bias?: Tensor | null): Tensor {
  const backend = x.backend;
  const [N, K] = weight.shape as [number, number];
  if (bias && backend.matmulBias && x.rank >= 2 && weight.rank === 2 && bias.rank === 1 && x.shape[x.rank - 1] === K && bias.shape[0] === N &&
    x.dtype === 'float32' && weight.dtype === 'float32' && bias.dtype === 'float32') {
    return fusedLinear(x, weight, bias);
  }
  const y = matmul(x, transpose(weight));
  return bias ? add(y, bias) : y;
}

/** x wᵀ + b with the bias added in the GEMM's epilogue (one pass over the output instead of two). */
function fusedLinear(x: Tensor, weight: Tensor, bias: Tensor): Tensor {
  const backend = x.backend;
  const [N, K] = weight.shape as [number, number];
  const x2 = reshape(x, [-1, K]);
  const M = x2.shape[0]!;
  const a = reshape(x2.detach(), [1, M, K]), b = reshape(transpose(weight.detach()), [1, K, N]);
  const out = fromKernel('linear', backend.matmulBias!(a.view, b.view, bias.detach().view), [M, N], x.dtype, backend);
  const y = record('linear', out, [x2, weight, bias], (g) => [
    x2.requiresGrad ? matmul(g, weight) : null,
    weight.requiresGrad ? matmul(transpose(g), x2) : null,
    bias.requiresGrad ? sum(g, 0) : null,
  ]);
  return reshape(y, [...x.shape.slice(0, -1), N]);
}

/** One LSTM step with PyTorch's gate order (input, forget, cell, output) and weight layout. */
export function lstmCell(x: Tensor, h: Tensor, c: Tensor, wIh: Tensor, wHh: Tensor, bIh?: Tensor | null, bHh?: Tensor | null): { h: Tensor; c: Tensor } {
  return lstmPointwise(add(linear(x, wIh, bIh), linear(h, wHh, bHh)), c);
}

/** The LSTM cell after its matrix products: gates [B, 4H] (i, f, g, o) and the previous cell state c [B, H]. */
export function lstmPointwise(gates: Tensor, c: Tensor): { h: Tensor; c: Tensor } {
  const [i, f, g, o] = split(gates, gates.shape[gates.rank - 1]! / 4, -1) as [Tensor, Tensor, Tensor, Tensor];
  const cNext = add(mul(sigmoid(f), c), mul(sigmoid(i), tanh(g)));
  return { h: mul(sigmoid(o), tanh(cNext)), c: cNext };
}

/** lstmSequence through the backend's fused recurrence kernels (forward and backward through time). */
function fusedLstmSequence(xw: Tensor, wHh: Tensor, bHh: Tensor | null, h0: Tensor, c0: Tensor, mask: Tensor | null): LSTMSequenceOutput {
  const backend = xw.backend;
  const [B, T, H4] = xw.shape as [number, number, number];
  const H = H4 / 4;
  const w = wHh.detach(), m = mask?.detach() ?? null;
  const { packed, saved } = backend.lstmSequence!(xw.detach().view, w.view, bHh?.detach().view ?? null, h0.detach().view, c0.detach().view, m?.view ?? null);
  const inputs = [xw, wHh, ...(bHh ? [bHh] : []), h0, c0];
  const out = record('lstmSequence', fromKernel('lstmSequence', packed, [B, T + 2, H], xw.dtype, backend), inputs, (grad) => {
    const g = backend.lstmSequenceBackward!(grad.view, w.view, m?.view ?? null, saved, bHh !== null);
    const t = (buf: object, shape: number[]) => fromKernel('lstmSequence backward', buf, shape, xw.dtype, backend);
    return [t(g.dxw, [B, T, H4]), t(g.dw, [H4, H]), ...(bHh ? [t(g.db, [H4])] : []), t(g.dh0, [B, H]), t(g.dc0, [B, H])];
  });
  return {
    output: slice(out, 1, 0, T),
    h: reshape(slice(out, 1, T, T + 1), [B, H]),
    c: reshape(slice(out, 1, T + 1, T + 2), [B, H]),
  };
}

/** Pads the last dims: `pads[k]` = [before, after] for dim rank - pads.length + k. */
export function pad(x: Tensor, pads: readonly (readonly [number, number])[], value = 0): Tensor {
  let y = x;
  pads.forEach(([before, after], k) => {
    const axis = x.rank - pads.length + k;
    const part = (n: number) => full(y.shape.map((d, i) => (i === axis ? n : d)), value, y.dtype);
    const pieces = [...(before > 0 ? [part(before)] : []), y, ...(after > 0 ? [part(after)] : [])];
    if (pieces.length > 1) y = concat(pieces, axis);
  });
  return y;
}

/** Max over the time axis of x [N, C, L] (the character CNN's pooling): [N, C]. */
export function maxOverTime(x: Tensor): Tensor { return max(x, -1); }

/** The result of `lstmSequence`: every step's output and the final states. */
export interface LSTMSequenceOutput {
  /** [B, T, H]; zero where the mask is 0. */
  output: Tensor;
  h: Tensor;
  c: Tensor;
}

/**
 * One LSTM direction over a whole sequence as a single op, with backpropagation through time written out in its
 * backward. `xw` [B, T, 4H] is the input projection of every step (x W_ihᵀ + b_ih, one matrix product outside);
 * `mask` [B, T] (1 = real step) freezes the state on padding. Recording the loop step by step would put T slices of xw
 * on the tape, and each slice's adjoint is a full-size [B, T, 4H] tensor; here the gradient of xw is one stack.
 */
export function lstmSequence(xw: Tensor, wHh: Tensor, bHh: Tensor | null, h0: Tensor, c0: Tensor, mask: Tensor | null): LSTMSequenceOutput {
  const backend = xw.backend;
  if (backend.lstmSequence && backend.lstmSequenceBackward && [xw, wHh, h0, c0, ...(bHh ? [bHh] : []), ...(mask ? [mask] : [])].every((t) => t.dtype === 'float32')) {
    return fusedLstmSequence(xw, wHh, bHh, h0, c0, mask);
  }
  const [B, T, H4] = xw.shape as [number, number, number];
  const H = H4 / 4;
  // Saved for the backward pass, per step: the gate activations, c_t after the cell, tanh of it, and h_{t-1}, c_{t-1}.
  const steps: { i: Tensor; f: Tensor; g: Tensor; o: Tensor; cNew: Tensor; tanhC: Tensor; hPrev: Tensor; cPrev: Tensor; m: Tensor | null }[] = [];
  const { packed } = noGrad(() => {
    let h = h0.detach(), c = c0.detach();
    const outs: Tensor[] = [];
    const xs = xw.detach();
    const w = wHh.detach(), b = bHh?.detach() ?? null;
    for (let t = 0; t < T; t++) {
      const gates = add(reshape(slice(xs, 1, t, t + 1), [B, H4]), linear(h, w, b));
      const [gi, gf, gg, go] = split(gates, H, -1) as [Tensor, Tensor, Tensor, Tensor];
      const i = sigmoid(gi), f = sigmoid(gf), g = tanh(gg), o = sigmoid(go);
      const cNew = add(mul(f, c), mul(i, g));
      const tanhC = tanh(cNew);
      const hNew = mul(o, tanhC);
      const m = mask ? reshape(slice(mask, 1, t, t + 1), [B, 1]) : null;
      steps.push({ i, f, g, o, cNew, tanhC, hPrev: h, cPrev: c, m });
      if (m) {
        const keep = sub(1, m);
        h = add(mul(hNew, m), mul(h, keep));
        c = add(mul(cNew, m), mul(c, keep));
        outs.push(mul(hNew, m));
      } else {
        h = hNew; c = cNew;
        outs.push(hNew);
      }
    }
    // One tensor for the three results, so that one tape node carries all their gradients: [B, T + 2, H].
    return { packed: concat([...outs.map((t) => reshape(t, [B, 1, H])), reshape(h, [B, 1, H]), reshape(c, [B, 1, H])], 1) };
  });
  const inputs = [xw, wHh, ...(bHh ? [bHh] : []), h0, c0];
  const out = record('lstmSequence', packed, inputs, (grad) => {
    let dh = reshape(slice(grad, 1, T, T + 1), [B, H]);
    let dc = reshape(slice(grad, 1, T + 1, T + 2), [B, H]);
    const dGates: Tensor[] = new Array(T);
    let dW: Tensor | null = null, db: Tensor | null = null;
    const w = wHh.detach();
    for (let t = T - 1; t >= 0; t--) {
      const s = steps[t]!;
      const gOut = reshape(slice(grad, 1, t, t + 1), [B, H]);
      // h_t = m·h_new + (1 - m)·h_{t-1} and out_t = m·h_new; without a mask, m = 1.
      const dhNew = s.m ? mul(add(dh, gOut), s.m) : add(dh, gOut);
      const dcNew = add(s.m ? mul(dc, s.m) : dc, mul(mul(dhNew, s.o), sub(1, mul(s.tanhC, s.tanhC))));
      const dgi = mul(mul(dcNew, s.g), mul(s.i, sub(1, s.i)));
      const dgf = mul(mul(dcNew, s.cPrev), mul(s.f, sub(1, s.f)));
      const dgg = mul(mul(dcNew, s.i), sub(1, mul(s.g, s.g)));
      const dgo = mul(mul(dhNew, s.tanhC), mul(s.o, sub(1, s.o)));
      const dg = concat([dgi, dgf, dgg, dgo], 1); // (B, 4H)
      dGates[t] = reshape(dg, [B, 1, H4]);
      const dWt = matmul(transpose(dg), s.hPrev); // (4H, H)
      dW = dW ? add(dW, dWt) : dWt;
      const dbt = sum(dg, 0);
      db = db ? add(db, dbt) : dbt;
      const dhPrev = matmul(dg, w); // (B, H)
      const dcPrev = mul(dcNew, s.f);
      dh = s.m ? add(dhPrev, mul(dh, sub(1, s.m))) : dhPrev;
      dc = s.m ? add(dcPrev, mul(dc, sub(1, s.m))) : dcPrev;
    }
    const dxw = T > 0 ? concat(dGates, 1) : xw.zerosLike();
    return [dxw, dW ?? wHh.zerosLike(), ...(bHh ? [db ?? bHh.zerosLike()] : []), dh, dc];
  });
  return {
    output: slice(out, 1, 0, T),
    h: reshape(slice(out, 1, T, T + 1), [B, H]),
    c: reshape(slice(out, 1, T + 1, T + 2), [B, H]),
  };
}

/** Options of `lstmpSequence`: bilm-tf's `cell_clip` and `proj_clip` (absent: no clipping). */
export interface LSTMPClip {
  cellClip?: number | null;
  projClip?: number | null;
}

/** The result of `lstmpSequence`: every step's projected output, and the final projected and cell states. */
export interface LSTMPSequenceOutput {
  /** [B, T, P]; zero where the mask is 0. */
  output: Tensor;
  /** [B, P]: the projected state at each sequence's last real step. */
  h: Tensor;
  /** [B, H]. */
  c: Tensor;
}

/**
 * One direction of an LSTM with a projection (LSTMP: Sak et al. 2014; PyTorch's `proj_size`, bilm-tf's `num_proj`)
 * as a single op with backpropagation through time in its backward. The recurrent state is the projection
 * r = clip(h W_hrᵀ) [B, P] of h = o·tanh(c); the gates read r through W_hh [4H, P]; c is clipped to ±cellClip before
 * the tanh, as bilm-tf's LSTMCell does. `xw` [B, T, 4H] is the input projection of every step; `mask` [B, T] freezes
 * the states on padding. Clipping passes the gradient where the value is inside the bounds, as clamp does. On a
 * backend with the fused LSTMP kernels (the native and WebAssembly CPU sets), float32 inputs of these exact shapes
 * run there; the composite below is the reference they are tested against.
 */
export function lstmpSequence(xw: Tensor, wHh: Tensor, bHh: Tensor | null, wHr: Tensor, r0: Tensor, c0: Tensor, mask: Tensor | null,
  clip: LSTMPClip = {}): LSTMPSequenceOutput {
  const [B, T, H4] = xw.shape as [number, number, number];
  const H = H4 / 4, P = wHr.shape[0]!;
  if (wHh.shape[0] !== H4 || wHh.shape[1] !== P || wHr.shape[1] !== H) {
    throw new ShapeError(`lstmpSequence: W_hh ${fmt(wHh.shape)} must be [${H4}, ${P}] and W_hr ${fmt(wHr.shape)} [${P}, ${H}] for gates of width ${H4}`);
  }
  const cellClip = clip.cellClip ?? null, projClip = clip.projClip ?? null;
  const backend = xw.backend;
  // The kernels take r0, c0, b_hh and the mask at their full shapes (the composite would also broadcast them).
  const exact = (t: Tensor | null, shape: readonly number[]) => !t || (t.rank === shape.length && t.shape.every((d, i) => d === shape[i]));
  if (backend.lstmpSequence && backend.lstmpSequenceBackward && exact(r0, [B, P]) && exact(c0, [B, H]) && exact(bHh, [H4]) && exact(mask, [B, T]) &&
    [xw, wHh, wHr, r0, c0, ...(bHh ? [bHh] : []), ...(mask ? [mask] : [])].every((t) => t.dtype === 'float32')) {
    return fusedLstmpSequence(xw, wHh, bHh, wHr, r0, c0, mask, cellClip, projClip);
  }
  const clipped = (x: Tensor, bound: number | null) => (bound === null ? x : minimum(maximum(x, -bound), bound));
  /** 1 where a clipped value is inside its bounds (where the gradient passes), or null without clipping. */
  const passes = (x: Tensor, bound: number | null) => (bound === null ? null : mul(ge(x, -bound), le(x, bound)));
  // Saved for the backward pass, per step: the gate activations, the clipped cell and its tanh, the unprojected h, the
  // clip masks, and the previous states.
  const steps: { i: Tensor; f: Tensor; g: Tensor; o: Tensor; tanhC: Tensor; hNew: Tensor; cPass: Tensor | null; rPass: Tensor | null;
    rPrev: Tensor; cPrev: Tensor; m: Tensor | null }[] = [];
  const w = wHh.detach(), wr = wHr.detach();
  const { packed } = noGrad(() => {
    let r = r0.detach(), c = c0.detach();
    const outs: Tensor[] = [];
    const xs = xw.detach(), b = bHh?.detach() ?? null;
    for (let t = 0; t < T; t++) {
      const gates = add(reshape(slice(xs, 1, t, t + 1), [B, H4]), linear(r, w, b));
      const [gi, gf, gg, go] = split(gates, H, -1) as [Tensor, Tensor, Tensor, Tensor];
      const i = sigmoid(gi), f = sigmoid(gf), g = tanh(gg), o = sigmoid(go);
      const cRaw = add(mul(f, c), mul(i, g));
      const cNew = clipped(cRaw, cellClip);
      const tanhC = tanh(cNew);
      const hNew = mul(o, tanhC);
      const rRaw = linear(hNew, wr, null);
      const rNew = clipped(rRaw, projClip);
      const m = mask ? reshape(slice(mask, 1, t, t + 1), [B, 1]) : null;
      steps.push({ i, f, g, o, tanhC, hNew, cPass: passes(cRaw, cellClip), rPass: passes(rRaw, projClip), rPrev: r, cPrev: c, m });
      if (m) {
        const keep = sub(1, m);
        r = add(mul(rNew, m), mul(r, keep));
        c = add(mul(cNew, m), mul(c, keep));
        outs.push(mul(rNew, m));
      } else {
        r = rNew; c = cNew;
        outs.push(rNew);
      }
    }
    // One tensor for the three results, so that one tape node carries all their gradients: [B, T·P + P + H].
    return { packed: concat([...outs, r, c], 1) };
  });
  const inputs = [xw, wHh, ...(bHh ? [bHh] : []), wHr, r0, c0];
  const out = record('lstmpSequence', packed, inputs, (grad) => {
    let dr = slice(grad, 1, T * P, T * P + P);
    let dc = slice(grad, 1, T * P + P, T * P + P + H);
    const dGates: Tensor[] = new Array(T), dProj: Tensor[] = new Array(T);
    for (let t = T - 1; t >= 0; t--) {
      const s = steps[t]!;
      const gOut = slice(grad, 1, t * P, (t + 1) * P);
      // r_t = m·r_new + (1 - m)·r_{t-1} and out_t = m·r_new; without a mask, m = 1.
      const drNew = s.m ? mul(add(dr, gOut), s.m) : add(dr, gOut);
      const drRaw = s.rPass ? mul(drNew, s.rPass) : drNew;
      dProj[t] = reshape(drRaw, [B, 1, P]);
      const dhNew = matmul(drRaw, wr); // (B, H)
      const dcNew = add(s.m ? mul(dc, s.m) : dc, mul(mul(dhNew, s.o), sub(1, mul(s.tanhC, s.tanhC))));
      const dcRaw = s.cPass ? mul(dcNew, s.cPass) : dcNew;
      const dgi = mul(mul(dcRaw, s.g), mul(s.i, sub(1, s.i)));
      const dgf = mul(mul(dcRaw, s.cPrev), mul(s.f, sub(1, s.f)));
      const dgg = mul(mul(dcRaw, s.i), sub(1, mul(s.g, s.g)));
      const dgo = mul(mul(dhNew, s.tanhC), mul(s.o, sub(1, s.o)));
      const dg = concat([dgi, dgf, dgg, dgo], 1); // (B, 4H)
      dGates[t] = reshape(dg, [B, 1, H4]);
      const drPrev = matmul(dg, w); // (B, P)
      const dcPrev = mul(dcRaw, s.f);
      dr = s.m ? add(drPrev, mul(dr, sub(1, s.m))) : drPrev;
      dc = s.m ? add(dcPrev, mul(dc, sub(1, s.m))) : dcPrev;
    }
    if (T === 0) return [xw.zerosLike(), wHh.zerosLike(), ...(bHh ? [bHh.zerosLike()] : []), wHr.zerosLike(), dr, dc];
    // The weight gradients as one product each over all B·T steps: Σ_t dG_tᵀ r_{t-1} and Σ_t dR_tᵀ h_t.
    const dxw = concat(dGates, 1);
    const flatGates = reshape(dxw, [B * T, H4]);
    const stacked = (pick: (s: (typeof steps)[number]) => Tensor, width: number) => reshape(concat(steps.map((s) => reshape(pick(s), [B, 1, width])), 1), [B * T, width]);
    const dW = matmul(transpose(flatGates), stacked((s) => s.rPrev, P));
    const dWr = matmul(transpose(reshape(concat(dProj, 1), [B * T, P])), stacked((s) => s.hNew, H));
    return [dxw, dW, ...(bHh ? [sum(flatGates, 0)] : []), dWr, dr, dc];
  });
  return {
    output: reshape(slice(out, 1, 0, T * P), [B, T, P]),
    h: slice(out, 1, T * P, T * P + P),
    c: slice(out, 1, T * P + P, T * P + P + H),
  };
}

/** lstmpSequence through the backend's fused recurrence kernels (forward and backward through time). */
function fusedLstmpSequence(xw: Tensor, wHh: Tensor, bHh: Tensor | null, wHr: Tensor, r0: Tensor, c0: Tensor, mask: Tensor | null,
  cellClip: number | null, projClip: number | null): LSTMPSequenceOutput {
  const backend = xw.backend;
  const [B, T, H4] = xw.shape as [number, number, number];
  const H = H4 / 4, P = wHr.shape[0]!;
  const w = wHh.detach(), wr = wHr.detach(), m = mask?.detach() ?? null;
  const { packed, saved } = backend.lstmpSequence!(xw.detach().view, w.view, bHh?.detach().view ?? null, wr.view, r0.detach().view, c0.detach().view,
    m?.view ?? null, cellClip, projClip);
  const inputs = [xw, wHh, ...(bHh ? [bHh] : []), wHr, r0, c0];
  const out = record('lstmpSequence', fromKernel('lstmpSequence', packed, [B, T * P + P + H], xw.dtype, backend), inputs, (grad) => {
    const g = backend.lstmpSequenceBackward!(grad.view, w.view, wr.view, m?.view ?? null, saved, bHh !== null);
    const t = (buf: object, shape: number[]) => fromKernel('lstmpSequence backward', buf, shape, xw.dtype, backend);
    return [t(g.dxw, [B, T, H4]), t(g.dw, [H4, P]), ...(bHh ? [t(g.db, [H4])] : []), t(g.dwr, [P, H]), t(g.dr0, [B, P]), t(g.dc0, [B, H])];
  });
  return {
    output: reshape(slice(out, 1, 0, T * P), [B, T, P]),
    h: slice(out, 1, T * P, T * P + P),
    c: slice(out, 1, T * P + P, T * P + P + H),
  };
}

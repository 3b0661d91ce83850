// Adam (L2 weight decay folded into the gradient) and AdamW (decoupled weight decay), as torch.optim.Adam/AdamW,
// with bias correction and AMSGrad. Uses the backend's fused `adamw` kernel when it has one.
import type { Tensor } from '../tensor/tensor.js';
import { maximum } from '../tensor/ops.js';
import { assignInPlace, Optimizer, ownsStorage, zerosLikeOwned, type BaseHyper, type ParamGroup, type Params, type ParamState } from './optimizer.js';

/** Adam's and AdamW's hyper-parameters. */
export interface AdamOptions extends BaseHyper {
  /** Decay rates of the first and second moment estimates. */
  betas: [number, number];
  /** Added to the denominator for numerical stability. */
  eps: number;
  /** Adam: L2 penalty added to the gradient. AdamW: decoupled decay, p ← p(1 − lr·weightDecay). */
  weightDecay: number;
  /** Normalise by the running maximum of the second moment (AMSGrad). */
  amsgrad: boolean;
  /** Ascend the objective instead of descending it. */
  maximize: boolean;
}

/**
 * torch.optim.Adam: g ← g + λp; m ← β1·m + (1−β1)g; v ← β2·v + (1−β2)g²;
 * p ← p − (lr / (1−β1^t)) · m / (√v / √(1−β2^t) + eps).
 */
export class Adam extends Optimizer<AdamOptions> {
  /** Whether weight decay is decoupled from the gradient (AdamW) rather than an L2 term in it (Adam). */
  protected readonly decoupled: boolean = false;

  override get kind(): string { return 'Adam'; }

  constructor(params: Params<AdamOptions>, options: Partial<AdamOptions> = {}) {
    super(params, { lr: 1e-3, betas: [0.9, 0.999], eps: 1e-8, weightDecay: 0, amsgrad: false, maximize: false, ...options });
  }

  protected validate(h: AdamOptions): void {
    const name = this.kind;
    if (!(h.lr >= 0)) throw new Error(`${name}: invalid learning rate ${h.lr}`);
    if (!(h.eps >= 0)) throw new Error(`${name}: invalid eps ${h.eps}`);
    h.betas.forEach((b, i) => { if (!(b >= 0 && b < 1)) throw new Error(`${name}: invalid beta at index ${i}: ${b}`); });
    if (!(h.weightDecay >= 0)) throw new Error(`${name}: invalid weightDecay ${h.weightDecay}`);
  }

  protected update(p: Tensor, grad: Tensor, group: ParamGroup<AdamOptions>, state: ParamState): void {
    const { lr, betas: [beta1, beta2], eps, weightDecay, amsgrad, maximize } = group;
    const t = state.step;
    let g = maximize ? grad.neg() : grad;
    if (!this.decoupled && weightDecay !== 0) g = g.add(p.mul(weightDecay));
    const m = state.buffers.get('exp_avg') ?? zerosLikeOwned(p);
    const v = state.buffers.get('exp_avg_sq') ?? zerosLikeOwned(p);
    const fused = p.backend.adamw;
    if (fused && !amsgrad && ownsStorage(p) && ownsStorage(m) && ownsStorage(v)) {
      // The kernel updates p, m and v in place; L2 decay (Adam) is already in g, so it gets only the decoupled part.
      fused.call(p.backend, p.storage.buf, g.view, m.storage.buf, v.storage.buf, p.size,
        { lr, beta1, beta2, eps, weightDecay: this.decoupled ? weightDecay : 0, step: t });
      state.buffers.set('exp_avg', m);
      state.buffers.set('exp_avg_sq', v);
      return;
    }
    // The composite path, in PyTorch's order of operations so float32 rounding matches it closely.
    const decayed = this.decoupled && weightDecay !== 0 ? p.mul(1 - lr * weightDecay) : p;
    const m1 = m.mul(beta1).add(g.mul(1 - beta1));
    const v1 = v.mul(beta2).add(g.mul(1 - beta2).mul(g));
    state.buffers.set('exp_avg', m1);
    state.buffers.set('exp_avg_sq', v1);
    let second = v1;
    if (amsgrad) {
      const prev = state.buffers.get('max_exp_avg_sq');
      second = prev ? maximum(prev, v1) : v1;
      state.buffers.set('max_exp_avg_sq', second);
    }
    const stepSize = lr / (1 - beta1 ** t);
    const denom = second.sqrt().div(Math.sqrt(1 - beta2 ** t)).add(eps);
    assignInPlace(p, decayed.add(m1.mul(-stepSize).div(denom)));
  }
}

/** torch.optim.AdamW: Adam with decoupled weight decay, p ← p(1 − lr·λ) before the Adam step; weightDecay defaults to 0.01. */
export class AdamW extends Adam {
  protected override readonly decoupled: boolean = true;
  override get kind(): string { return 'AdamW'; }

  constructor(params: Params<AdamOptions>, options: Partial<AdamOptions> = {}) {
    super(params, { weightDecay: 1e-2, ...options });
  }
}

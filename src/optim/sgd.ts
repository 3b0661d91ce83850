// Stochastic gradient descent with momentum, dampening, Nesterov momentum and L2 weight decay, as torch.optim.SGD.
import type { Tensor } from '../tensor/tensor.js';
import { assignInPlace, Optimizer, type BaseHyper, type ParamGroup, type Params, type ParamState } from './optimizer.js';

/** SGD's hyper-parameters (PyTorch's defaults). */
export interface SGDOptions extends BaseHyper {
  /** Momentum factor; 0 is plain SGD. */
  momentum: number;
  /** Dampening of the gradient's share of the momentum buffer (not applied on the first step, as in PyTorch). */
  dampening: number;
  /** L2 penalty: `weightDecay * param` is added to the gradient. */
  weightDecay: number;
  /** Nesterov momentum (needs momentum > 0 and dampening 0). */
  nesterov: boolean;
  /** Ascend the objective instead of descending it. */
  maximize: boolean;
}

/**
 * torch.optim.SGD: with momentum μ, dampening τ and decay λ,
 * g ← g + λp; b ← g on the first step, else μb + (1−τ)g; g ← g + μb (Nesterov) or b; p ← p − lr·g.
 */
export class SGD extends Optimizer<SGDOptions> {
  override get kind(): string { return 'SGD'; }

  constructor(params: Params<SGDOptions>, options: Partial<SGDOptions> & { lr: number }) {
    super(params, { momentum: 0, dampening: 0, weightDecay: 0, nesterov: false, maximize: false, ...options });
  }

  protected validate(h: SGDOptions): void {
    if (!(h.lr >= 0)) throw new Error(`SGD: invalid learning rate ${h.lr}`);
    if (!(h.momentum >= 0)) throw new Error(`SGD: invalid momentum ${h.momentum}`);
    if (!(h.weightDecay >= 0)) throw new Error(`SGD: invalid weightDecay ${h.weightDecay}`);
    if (h.nesterov && (h.momentum <= 0 || h.dampening !== 0)) throw new Error('SGD: Nesterov momentum requires a momentum > 0 and zero dampening');
  }

  protected update(p: Tensor, grad: Tensor, group: ParamGroup<SGDOptions>, state: ParamState): void {
    const { lr, momentum, dampening, weightDecay, nesterov, maximize } = group;
    let d = maximize ? grad.neg() : grad;
    if (weightDecay !== 0) d = d.add(p.mul(weightDecay));
    if (momentum !== 0) {
      const prev = state.buffers.get('momentum_buffer');
      // Buffers are replaced, never written in place, so holding the gradient itself as the first buffer is safe.
      const buf = prev ? prev.mul(momentum).add(d.mul(1 - dampening)) : d;
      state.buffers.set('momentum_buffer', buf);
      d = nesterov ? d.add(buf.mul(momentum)) : buf;
    }
    assignInPlace(p, p.add(d.mul(-lr)));
  }
}

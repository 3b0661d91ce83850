// Global-norm gradient clipping, as torch.nn.utils.clip_grad_norm_.
import { noGrad } from '../tensor/autograd.js';
import { abs, div, full, max, minimum, pow, stack, sum } from '../tensor/ops.js';
import type { Tensor } from '../tensor/tensor.js';

/**
 * Scales the gradients of `params` together so that their global `normType`-norm is at most `maxNorm`:
 * each gradient is multiplied by min(1, maxNorm / (norm + 1e-6)). Returns the norm before clipping as a 0-d tensor,
 * left on the device like PyTorch's (read it with `await norm.item()`). Parameters without a gradient are skipped.
 */
export function clipGradNorm(params: Iterable<Tensor>, maxNorm: number, normType = 2): Tensor {
  if (!(normType > 0)) throw new Error(`clipGradNorm: normType must be positive or Infinity, got ${normType}`);
  if (!(maxNorm >= 0)) throw new Error(`clipGradNorm: maxNorm must be non-negative, got ${maxNorm}`);
  const withGrad = [...params].filter((p) => p.grad);
  if (withGrad.length === 0) return full([], 0);
  return noGrad(() => {
    const grads = withGrad.map((p) => p.grad!);
    const total = normType === Infinity
      ? max(stack(grads.map((g) => max(abs(g)))))
      : pNorm(stack(grads.map((g) => pNorm(g, normType))), normType);
    const coef = minimum(div(maxNorm, total.add(1e-6)), 1);
    // Gradients are replaced rather than scaled in place: a gradient tensor may be shared with other leaves.
    for (const p of withGrad) p.grad = p.grad!.mul(coef);
    return total;
  });
}

/** (Σ|x|^p)^(1/p) over all elements; the square root for p = 2, as torch.norm computes it. */
function pNorm(x: Tensor, p: number): Tensor {
  if (p === 2) return sum(x.square()).sqrt();
  if (p === 1) return sum(abs(x));
  return pow(sum(pow(abs(x), p)), 1 / p);
}

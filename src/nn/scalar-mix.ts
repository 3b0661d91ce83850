// ELMo's scalar mix of a model's layers (Peters et al. 2018, eq. 1), with AllenNLP's ScalarMix semantics and names:
// mix = gamma · Σ_k softmax(w)_k · h_k, optionally layer-normalising each h_k over its unmasked elements first.
import * as ops from '../tensor/ops.js';
import type { Tensor } from '../tensor/tensor.js';
import { constantParam } from './init.js';
import { Module, Parameter } from './module.js';

/** A learned, softmax-normalised weighting of `layers` tensors of the same shape, times a learned scale gamma. */
export class ScalarMix extends Module {
  /** One weight per layer (AllenNLP's scalar_parameters.0, .1, ... become one [layers] tensor here), starting equal. */
  scalar_parameters: Parameter;
  gamma: Parameter;
  constructor(readonly layers: number, readonly opts: { doLayerNorm?: boolean; initialWeights?: number[] } = {}) {
    super();
    const init = opts.initialWeights ?? Array.from({ length: layers }, () => 0);
    if (init.length !== layers) throw new Error(`ScalarMix: ${init.length} initial weights for ${layers} layers`);
    this.scalar_parameters = new Parameter(ops.fromArray(init, [layers]));
    this.gamma = constantParam([1], 1);
  }

  /** The normalised layer weights, softmax(w). */
  weights(): Tensor {
    return ops.softmax(this.scalar_parameters, -1);
  }

  /**
   * Mixes `layers` tensors [..., H]. With doLayerNorm, each is normalised by the mean and variance of its unmasked
   * elements (mask [...] over the leading dims, 1 = real), as AllenNLP's `_do_layer_norm` does.
   */
  forward(tensors: readonly Tensor[], mask?: Tensor): Tensor {
    if (tensors.length !== this.layers) throw new Error(`ScalarMix: got ${tensors.length} tensors for ${this.layers} layers`);
    const w = ops.split(this.weights(), 1, 0);
    let sum: Tensor | null = null;
    for (let k = 0; k < this.layers; k++) {
      const h = this.opts.doLayerNorm ? maskedLayerNorm(tensors[k]!, mask) : tensors[k]!;
      const term = ops.mul(h, w[k]!);
      sum = sum ? ops.add(sum, term) : term;
    }
    return ops.mul(sum!, this.gamma);
  }
}

/** (x - mean) / sqrt(var + 1e-13) (AllenNLP's tiny_value_of_dtype for float32 and float64), the mean and variance taken over the elements at unmasked positions (all without a mask). */
function maskedLayerNorm(x: Tensor, mask?: Tensor): Tensor {
  const H = x.shape[x.rank - 1]!;
  if (!mask) {
    const mean = ops.mean(x);
    const centred = ops.sub(x, mean);
    return ops.div(centred, ops.sqrt(ops.add(ops.mean(ops.mul(centred, centred)), 1e-13)));
  }
  const m = ops.unsqueeze(mask.cast(x.dtype), -1); // (..., 1)
  const count = ops.mul(ops.sum(m), H);
  const mean = ops.div(ops.sum(ops.mul(x, m)), count);
  const centred = ops.mul(ops.sub(x, mean), m);
  const variance = ops.div(ops.sum(ops.mul(centred, centred)), count);
  // padding is normalised too (AllenNLP returns (tensor - mean) / std over the whole tensor); callers mask it out
  return ops.div(ops.sub(x, mean), ops.sqrt(ops.add(variance, 1e-13)));
}

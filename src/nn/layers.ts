// Basic layers with PyTorch's parameter names, shapes and default initialisation.
import * as ops from '../tensor/ops.js';
import type { Tensor } from '../tensor/tensor.js';
import { constantParam, fanInUniform, normalParam } from './init.js';
import { noGrad } from '../tensor/autograd.js';
import { ShapeError } from '../tensor/shape.js';
import { Buffer, Module, Parameter } from './module.js';

/** y = x Wᵀ + b, weight [out, in]. */
export class Linear extends Module {
  weight: Parameter;
  bias: Parameter | null;
  constructor(readonly inFeatures: number, readonly outFeatures: number, bias = true) {
    super();
    this.weight = fanInUniform([outFeatures, inFeatures], inFeatures);
    this.bias = bias ? fanInUniform([outFeatures], inFeatures) : null;
  }
  forward(x: Tensor): Tensor { return ops.linear(x, this.weight, this.bias); }
}

/** A lookup table of `num` vectors of size `dim`, initialised N(0, 1) as in PyTorch. */
export class Embedding extends Module {
  weight: Parameter;
  constructor(readonly num: number, readonly dim: number) {
    super();
    this.weight = normalParam([num, dim], 1);
  }
  /** ids int32 [...] to vectors [..., dim]. */
  forward(ids: Tensor): Tensor { return ops.embedding(this.weight, ids); }
}

/** Layer normalisation over the last dim, with a learned scale (ones) and shift (zeros; none with `bias` false, as torch 2.1's). */
export class LayerNorm extends Module {
  weight: Parameter;
  bias: Parameter | null;
  constructor(readonly dim: number, readonly eps = 1e-5, bias = true) {
    super();
    this.weight = constantParam([dim], 1);
    this.bias = bias ? constantParam([dim], 0) : null;
  }
  forward(x: Tensor): Tensor { return ops.layerNorm(x, this.weight, this.bias, this.eps); }
}

/** Dropout, active only in training mode. */
export class Dropout extends Module {
  constructor(readonly p: number) { super(); }
  forward(x: Tensor): Tensor { return ops.dropout(x, this.p, this.training); }
}

/** Dropout of whole channels of x [N, C, H, W] (F.dropout2d), active only in training mode. */
export class Dropout2d extends Module {
  constructor(readonly p: number) { super(); }
  forward(x: Tensor): Tensor { return ops.dropout2d(x, this.p, this.training); }
}

/** 1-D convolution over x [N, C, L]; weight [out, in / groups, k]. */
export class Conv1d extends Module {
  weight: Parameter;
  bias: Parameter | null;
  constructor(inChannels: number, outChannels: number, readonly kernelSize: number, readonly opts: ops.Conv1dOptions & { bias?: boolean } = {}) {
    super();
    const fanIn = (inChannels / (opts.groups ?? 1)) * kernelSize;
    this.weight = fanInUniform([outChannels, inChannels / (opts.groups ?? 1), kernelSize], fanIn);
    this.bias = opts.bias === false ? null : fanInUniform([outChannels], fanIn);
  }
  forward(x: Tensor): Tensor { return ops.conv1d(x, this.weight, this.bias, this.opts); }
}

/** 2-D convolution over x [N, C, H, W]; weight [out, in / groups, kh, kw]. */
export class Conv2d extends Module {
  weight: Parameter;
  bias: Parameter | null;
  constructor(inChannels: number, outChannels: number, kernelSize: ops.Pair, readonly opts: ops.Conv2dOptions & { bias?: boolean } = {}) {
    super();
    const [kh, kw] = typeof kernelSize === 'number' ? [kernelSize, kernelSize] : kernelSize;
    const cin = inChannels / (opts.groups ?? 1);
    const fanIn = cin * kh * kw;
    this.weight = fanInUniform([outChannels, cin, kh, kw], fanIn);
    this.bias = opts.bias === false ? null : fanInUniform([outChannels], fanIn);
  }
  forward(x: Tensor): Tensor { return ops.conv2d(x, this.weight, this.bias, this.opts); }
}

/**
 * Batch normalisation over the channels of x [N, C, H, W], as PyTorch's BatchNorm2d: a learned scale (ones) and
 * shift (zeros), and the running mean (zeros) and variance (ones) that training moves by `momentum` and evaluation
 * normalises by; num_batches_tracked counts the training batches, as in PyTorch's state_dict.
 */
export class BatchNorm2d extends Module {
  weight: Parameter;
  bias: Parameter;
  running_mean: Buffer;
  running_var: Buffer;
  num_batches_tracked: Buffer;
  constructor(readonly numFeatures: number, readonly eps = 1e-5, readonly momentum = 0.1) {
    super();
    this.weight = constantParam([numFeatures], 1);
    this.bias = constantParam([numFeatures], 0);
    this.running_mean = new Buffer(ops.zeros([numFeatures]));
    this.running_var = new Buffer(ops.ones([numFeatures]));
    this.num_batches_tracked = new Buffer(ops.zeros([], { dtype: 'int32' }));
  }
  /** With `act`, relu(batch norm + residual), fused where the backend can (see ops.batchNorm's relu and residual). */
  forward(x: Tensor, act?: { relu?: boolean; residual?: Tensor | null }): Tensor {
    if (x.rank !== 4) throw new ShapeError(`BatchNorm2d: input must be [N, C, H, W], got [${x.shape.join(', ')}]`);
    if (this.training) {
      const count = this.num_batches_tracked;
      noGrad(() => count.backend.assign(count.view, ops.add(count, 1).view));
    }
    return ops.batchNorm(x, this.weight, this.bias, {
      runningMean: this.running_mean, runningVar: this.running_var, training: this.training, momentum: this.momentum, eps: this.eps,
      relu: act?.relu ?? false, residual: act?.residual ?? null,
    });
  }
}

/**
 * Highway layers (Srivastava et al. 2015) as in ELMo's character encoder: each layer projects x to [h, t],
 * then y = g·x + (1-g)·relu(h) with the carry gate g = sigmoid(t). The gate bias starts at 1, favouring carry.
 */
export class Highway extends Module {
  layers: Linear[];
  constructor(readonly dim: number, numLayers: number) {
    super();
    this.layers = Array.from({ length: numLayers }, () => {
      const layer = new Linear(dim, 2 * dim);
      layer.bias = new Parameter(ops.concat([ops.zeros([dim]), ops.ones([dim])]));
      return layer;
    });
  }
  forward(x: Tensor): Tensor {
    let y = x;
    for (const layer of this.layers) {
      const [h, t] = ops.split(layer.forward(y), this.dim, -1) as [Tensor, Tensor];
      const gate = ops.sigmoid(t);
      y = ops.add(ops.mul(gate, y), ops.mul(ops.sub(1, gate), ops.relu(h)));
    }
    return y;
  }
}

// Initialisers: PyTorch's layer defaults and the BERT/GPT-2 practice (normal, std 0.02).
import { full, normal, uniform } from '../tensor/ops/creation.js';
import type { Tensor } from '../tensor/tensor.js';
import { Parameter } from './module.js';

/** U(-bound, bound) with bound = 1/sqrt(fanIn): PyTorch's default for Linear/Conv weights and biases
 * (kaiming_uniform with a = sqrt(5) reduces to this). */
export function fanInUniform(shape: number[], fanIn: number): Parameter {
  const bound = fanIn > 0 ? 1 / Math.sqrt(fanIn) : 0;
  return new Parameter(uniform(shape, -bound, bound));
}

/** N(mean, std). */
export function normalParam(shape: number[], std: number, mean = 0): Parameter {
  return new Parameter(normal(shape, mean, std));
}

/** A parameter filled with a constant. */
export function constantParam(shape: number[], value: number): Parameter {
  return new Parameter(full(shape, value));
}

/** Xavier/Glorot uniform for a [fanOut, fanIn, ...] weight. */
export function xavierUniform(shape: number[], gain = 1): Parameter {
  const receptive = shape.slice(2).reduce((p, d) => p * d, 1);
  const fanIn = (shape[1] ?? 1) * receptive, fanOut = shape[0]! * receptive;
  const bound = gain * Math.sqrt(6 / (fanIn + fanOut));
  return new Parameter(uniform(shape, -bound, bound));
}

/** A parameter with the same shape as `like`, drawn from N(0, std). */
export function normalLike(like: Tensor, std: number): Parameter {
  return normalParam([...like.shape], std);
}

// Gradient accumulation: several micro-batches' backward passes add into the same `.grad`s before one step.
import { add } from '../tensor/ops.js';
import type { Tensor } from '../tensor/tensor.js';

/**
 * Runs backward on `k` micro-batch losses, each divided by `k`. Gradients accumulate in `.grad` across backward
 * calls, so afterwards they are the gradient of the micro-batches' mean loss: for equal-sized micro-batches of a
 * mean-reduced loss, that of one batch k times larger. Each micro-batch's graph is released before the next is
 * built, so memory stays that of one micro-batch. Returns the mean loss, detached. Zero the grads before, step after.
 */
export function accumulateGradients(k: number, lossOf: (microBatch: number) => Tensor): Tensor {
  if (!(Number.isInteger(k) && k >= 1)) throw new Error(`accumulateGradients: k must be a positive integer, got ${k}`);
  let total: Tensor | null = null;
  for (let i = 0; i < k; i++) {
    const scaled = lossOf(i).div(k);
    scaled.backward();
    const value = scaled.detach();
    total = total ? add(total, value) : value;
  }
  return total!;
}

// Matrix products: batched, broadcasting batch dims; transposed operands are free strided views.
import { record } from '../autograd.js';
import { ShapeError, broadcastShapes, fmt, sizeOf } from '../shape.js';
import { Tensor, fromKernel } from '../tensor.js';
import { contiguous, expand, reshape, squeeze, transpose, unsqueeze } from './shape.js';
import { checkSame, sumToShape } from './util.js';

/** Views a [...batch, R, C] tensor as [B, R, C] without copying when the batch dims merge into one stride. */
function as3d(x: Tensor): Tensor {
  const rank = x.rank;
  const dims = x.shape.slice(0, rank - 2).map((d, i) => [d, x.strides[i]!] as const).filter(([d]) => d !== 1);
  const mergeable = dims.every(([, s], i) => i === dims.length - 1 || s === dims[i + 1]![1] * dims[i + 1]![0]);
  const src = mergeable ? x : contiguous(x).detach();
  const batchStride = mergeable ? (dims.length > 0 ? dims[dims.length - 1]![1] : 0) : src.shape[rank - 2]! * src.shape[rank - 1]!;
  return new Tensor(src.storage, [sizeOf(x.shape.slice(0, rank - 2)), x.shape[rank - 2]!, x.shape[rank - 1]!],
    [batchStride, src.strides[rank - 2]!, src.strides[rank - 1]!], src.offset, x.dtype);
}

/** Matrix product with NumPy/PyTorch semantics: 1-D operands are promoted and squeezed, batch dims broadcast. */
export function matmul(a: Tensor, b: Tensor): Tensor {
  checkSame('matmul', a, b);
  if (a.rank === 0 || b.rank === 0) throw new ShapeError(`matmul: operands must have at least 1 dim, got ${fmt(a.shape)} and ${fmt(b.shape)}`);
  // 1-D @ 1-D is a dot product: the inner call already squeezed b's dim, so squeeze the last one.
  if (a.rank === 1) return squeeze(matmul(unsqueeze(a, 0), b), b.rank === 1 ? -1 : -2);
  if (b.rank === 1) return squeeze(matmul(a, unsqueeze(b, -1)), -1);
  const [M, K] = [a.shape[a.rank - 2]!, a.shape[a.rank - 1]!];
  const [K2, N] = [b.shape[b.rank - 2]!, b.shape[b.rank - 1]!];
  if (K !== K2) throw new ShapeError(`matmul: inner dims differ: ${fmt(a.shape)} @ ${fmt(b.shape)} (${K} vs ${K2})`);
  // A stack of matrices times one matrix is one tall matrix product: no batch loop, no copies of b.
  if (b.rank === 2 && a.rank > 2) {
    const out = matmul(reshape(a, [-1, K]), b);
    return reshape(out, [...a.shape.slice(0, -1), N]);
  }
  const batch = broadcastShapes('matmul', a.shape.slice(0, -2), b.shape.slice(0, -2));
  const a3 = as3d(expand(a.detach(), [...batch, M, K]));
  const b3 = as3d(expand(b.detach(), [...batch, K, N]));
  const out = fromKernel('matmul', a.backend.matmul(a3.view, b3.view), [...batch, M, N], a.dtype, a.backend);
  return record('matmul', out, [a, b], (g) => [
    a.requiresGrad ? sumToShape(matmul(g, transpose(b)), a.shape) : null,
    b.requiresGrad ? sumToShape(matmul(transpose(a), g), b.shape) : null,
  ]);
}

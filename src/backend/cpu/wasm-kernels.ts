// The WebAssembly kernels of the fast CPU backend over one shared memory: the GEMM (build/wasm/gemm.*.wasm), run on
// the calling thread and a pool of worker threads synchronised with Atomics.wait/notify (idle workers sleep; no
// busy-waiting), and the vectorised row kernels (build/wasm/vecmath.*.wasm: activations, softmax, cross-entropy,
// layer norm, AdamW). Operands are copied into the shared memory (the GEMM's with their original strides, so
// transposed views are packed directly) and results copied out.
import { readFileSync } from 'node:fs';
import { setFlagsFromString } from 'node:v8';
import { availableParallelism } from 'node:os';
import { Worker } from 'node:worker_threads';
import { dirname, join } from 'node:path';
import { existsSync } from 'node:fs';
import type { AdamWStep } from '../backend.js';
import { fileURLToPath } from 'node:url';

interface VecmathExports {
  unary(op: number, src: number, dst: number, n: number): void;
  softmaxRows(src: number, dst: number, rows: number, n: number, log: number): void;
  crossEntropyRows(x: number, target: number, loss: number, lse: number, rows: number, n: number, ignore: number, smoothing: number): number;
  crossEntropyGradRows(x: number, target: number, lse: number, grad: number, dx: number, rows: number, n: number, ignore: number, smoothing: number): void;
  layerNormRows(x: number, w: number, b: number, y: number, mean: number, rstd: number, rows: number, n: number, eps: number): void;
  layerNormGradRows(g: number, x: number, w: number, mean: number, rstd: number, dx: number, dw: number, db: number, rows: number, n: number): void;
  adamw(p: number, g: number, m: number, v: number, n: number, keep: number, beta1: number, c1: number, beta2: number, c2: number, step: number, inv2: number, eps: number): void;
}

/** The elementwise functions of vecmath.wasm, by op code. */
export const VEC_OPS = { exp: 0, tanh: 1, sigmoid: 2, gelu_tanh: 3, gelu_tanh_grad: 4, gelu: 5, gelu_grad: 6 } as const;

interface GemmExports {
  sgemm(m0: number, m1: number, N: number, K: number, a: number, rsa: number, csa: number, b: number, rsb: number, csb: number, c: number, ldc: number, scratch: number): void;
  packBytes(): number;
}

/** A strided 3-D operand: element [b, i, j] at data[offset + b*s0 + i*s1 + j*s2]. */
export interface Operand3 {
  data: Float32Array;
  shape: readonly [number, number, number];
  strides: readonly [number, number, number];
  offset: number;
}

/** A strided 4-D operand: element [i0, i1, i2, i3] at data[offset + Σ ik·strides[k]]. */
export interface Operand4 {
  data: Float32Array;
  strides: readonly [number, number, number, number];
  offset: number;
}

/** Sizes and settings of a fused attention: q [B, H, Tq, D], k [B, H, Tk, D], v [B, H, Tk, Dv]. */
export interface AttentionShape {
  B: number; H: number; Tq: number; Tk: number; D: number; Dv: number;
  causal: boolean;
  scale: number;
}

const PAGE = 65536;
/** How long the calling thread waits for GEMM workers before reporting them as stuck. */
const WORKER_TIMEOUT_MS = 120_000;
const CTRL_GENERATION = 0, CTRL_PENDING = 1, CTRL_PARAMS = 4, CTRL_BOUNDS = 64;
/** Rows of the GEMM's register tile: thread row ranges start at multiples of it, so only the last has an edge tile. */
const TILE_ROWS = 6;
/** Below this many multiply-adds a product runs on the calling thread only. */
const PARALLEL_MIN_WORK = 1 << 18;

/** The package's root folder (the one with package.json), where build/ lives. */
export function packageRoot(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  while (!existsSync(join(dir, 'package.json'))) {
    const parent = dirname(dir);
    if (parent === dir) throw new Error('pretrain: cannot find the package root (the folder with build/)');
    dir = parent;
  }
  return dir;
}

/** What the fast CPU backend asks of a kernel set (WebAssembly here, native in native.ts). */
export interface CpuKernels {
  readonly threads: number;
  /** A short account for logs and benchmarks, e.g. "WebAssembly relaxed SIMD, 2 threads". */
  readonly description: string;
  /** out[b] = A[b] · B[b] for strided operands A [Bt, M, K] and B [Bt, K, N]; returns a new [Bt, M, N] array. */
  matmul(a: Operand3, b: Operand3): Float32Array;
  /** op(x) elementwise over a contiguous float32 array, as a new array. */
  unary(op: keyof typeof VEC_OPS, x: Float32Array): Float32Array;
  /** Softmax or log-softmax over each row of a contiguous [rows, n] float32 array, as a new array. */
  softmax(x: Float32Array, n: number, log: boolean): Float32Array;
  /**
   * Per-row cross-entropy of contiguous logits [rows, n] against int32 targets, with label smoothing, and each row's
   * log-sum-exp; throws a RangeError naming the first out-of-range target.
   */
  crossEntropy(x: Float32Array, target: Int32Array, n: number, ignore: number, smoothing: number): { loss: Float32Array; lse: Float32Array };
  /** The cross-entropy's logit gradient (see crossEntropy) from the saved log-sum-exp and the per-row loss gradient. */
  crossEntropyGrad(x: Float32Array, target: Int32Array, lse: Float32Array, grad: Float32Array, n: number, ignore: number, smoothing: number): Float32Array;
  /** Layer norm over the last axis (size n) of a contiguous array; weight and bias optional (see Backend.layerNorm). */
  layerNorm(x: Float32Array, w: Float32Array | null, b: Float32Array | null, n: number, eps: number): { y: Float32Array; mean: Float32Array; rstd: Float32Array };
  /** The layer norm's gradients from the output gradient and the saved mean and rstd (see Backend.layerNormBackward). */
  layerNormGrad(g: Float32Array, x: Float32Array, w: Float32Array | null, mean: Float32Array, rstd: Float32Array, n: number): { dx: Float32Array; dweight: Float32Array; dbias: Float32Array };
  /** One AdamW step in place on param, m and v (contiguous float32 arrays of the same length as grad). */
  adamw(param: Float32Array, grad: Float32Array, m: Float32Array, v: Float32Array, o: AdamWStep): void;
  /** Fused attention (see Backend.attention): the output laid out [B, Tq, H, Dv] and the weights [B, H, Tq, Tk]. */
  attention?(a: AttentionShape, q: Operand4, k: Operand4, v: Operand4, mask: Operand4 | null): { out: Float32Array; weights: Float32Array };
  /** Its gradients (see Backend.attentionBackward), each laid out [B, T, H, D]. */
  attentionBackward?(a: AttentionShape, dOut: Operand4, q: Operand4, k: Operand4, v: Operand4, weights: Float32Array): { dq: Float32Array; dk: Float32Array; dv: Float32Array };
}

const WORKER_SOURCE = `
const { workerData } = require('node:worker_threads');
const { memory, module, ctrl } = workerData;
const inst = new WebAssembly.Instance(module, { env: { memory, abort() { throw new Error('wasm abort'); } } });
const c = new Int32Array(ctrl);
const f = new Float64Array(ctrl);
let gen = 0;
for (;;) {
  Atomics.wait(c, ${CTRL_GENERATION}, gen);
  gen = Atomics.load(c, ${CTRL_GENERATION});
  if (gen < 0) break;
  run(inst.exports, workerData.index);
  if (Atomics.sub(c, ${CTRL_PENDING}, 1) === 1) Atomics.notify(c, ${CTRL_PENDING});
}
function run(e, t) {
  const p = ${CTRL_PARAMS};
  const B = c[p], M = c[p + 1], N = c[p + 2], K = c[p + 3];
  const [a, sa0, sa1, sa2, b, sb0, sb1, sb2, cc, scratch, stride] = Array.from({ length: 11 }, (_, i) => f[8 + i]);
  ${'/* each thread takes the same row range of every batch item; the caller wrote the ranges */'}
  const m0 = c[${CTRL_BOUNDS} + t], m1 = c[${CTRL_BOUNDS} + t + 1];
  if (m0 >= m1) return;
  for (let i = 0; i < B; i++) e.sgemm(m0, m1, N, K, a + 4 * i * sa0, sa1, sa2, b + 4 * i * sb0, sb1, sb2, cc + 4 * i * M * N, N, scratch + t * stride);
}
`;

/** The shared-memory WebAssembly kernels with the GEMM's worker pool. */
export class WasmKernels implements CpuKernels {
  readonly relaxed: boolean;
  readonly threads: number;
  readonly description: string;
  private readonly memory: WebAssembly.Memory;
  private readonly exports: GemmExports;
  private readonly vec: VecmathExports;
  private readonly ctrl: SharedArrayBuffer;
  private readonly ctrlI32: Int32Array;
  private readonly ctrlF64: Float64Array;
  private readonly workers: Worker[] = [];
  private readonly scratchBytes: number;
  private readonly operandsBase: number;

  constructor(threads = availableParallelism()) {
    const dir = join(packageRoot(), 'build', 'wasm');
    const relaxedBytes = readFileSync(join(dir, 'gemm.relaxed.wasm'));
    const load = (name: string) => new WebAssembly.Module(readFileSync(join(dir, `${name}.${this.relaxed ? 'relaxed' : 'simd'}.wasm`)));
    // Node 20 ships relaxed SIMD behind a flag (on by default from Node 22 and in browsers); V8 takes it at run time.
    if (!WebAssembly.validate(relaxedBytes)) setFlagsFromString('--experimental-wasm-relaxed-simd');
    // The relaxed-SIMD build validates only where the runtime supports relaxed SIMD (Node 22+, browsers).
    this.relaxed = WebAssembly.validate(relaxedBytes);
    const module = new WebAssembly.Module(this.relaxed ? relaxedBytes : readFileSync(join(dir, 'gemm.simd.wasm')));
    this.threads = Math.max(1, Math.floor(threads));
    this.description = `WebAssembly ${this.relaxed ? 'relaxed SIMD' : 'SIMD'}, ${this.threads} threads`;
    this.memory = new WebAssembly.Memory({ initial: 64, maximum: 65536, shared: true });
    const instance = new WebAssembly.Instance(module, { env: { memory: this.memory, abort: () => { throw new Error('wasm abort'); } } });
    this.exports = instance.exports as unknown as GemmExports;
    this.vec = new WebAssembly.Instance(load('vecmath'), { env: { memory: this.memory, abort: () => { throw new Error('wasm abort'); } } }).exports as unknown as VecmathExports;
    this.scratchBytes = align(this.exports.packBytes(), 64);
    // The first 64 KiB hold the module's own data; then one scratch area per thread; then the operands.
    this.operandsBase = PAGE + this.threads * this.scratchBytes;
    this.ctrl = new SharedArrayBuffer(align(4 * (CTRL_BOUNDS + this.threads + 1), 8));
    this.ctrlI32 = new Int32Array(this.ctrl);
    this.ctrlF64 = new Float64Array(this.ctrl);
    for (let t = 1; t < this.threads; t++) {
      // execArgv: [] keeps loader hooks (e.g. --import tsx) out of the workers: their code is plain JavaScript.
      const w = new Worker(WORKER_SOURCE, { eval: true, execArgv: [], workerData: { memory: this.memory, module, ctrl: this.ctrl, index: t } });
      w.unref();
      this.workers.push(w);
    }
  }

  private ensure(bytes: number): void {
    const need = Math.ceil(bytes / PAGE) - this.memory.buffer.byteLength / PAGE;
    if (need > 0) this.memory.grow(need);
  }

  /** out[b] = A[b] · B[b] for strided operands A [Bt, M, K] and B [Bt, K, N]; returns a new [Bt, M, N] array. */
  matmul(a: Operand3, b: Operand3): Float32Array {
    const [Bt, M, K] = a.shape;
    const N = b.shape[2];
    const spanA = span(a), spanB = span(b);
    const aPtr = this.operandsBase;
    const bPtr = align(aPtr + 4 * spanA.length, 64);
    const cPtr = align(bPtr + 4 * spanB.length, 64);
    this.ensure(cPtr + 4 * Bt * M * N);
    const heap = new Float32Array(this.memory.buffer);
    heap.set(a.data.subarray(spanA.start, spanA.start + spanA.length), aPtr / 4);
    heap.set(b.data.subarray(spanB.start, spanB.start + spanB.length), bPtr / 4);
    const aBase = aPtr + 4 * (a.offset - spanA.start), bBase = bPtr + 4 * (b.offset - spanB.start);
    const work = Bt * M * N * K;
    const threads = work < PARALLEL_MIN_WORK ? 1 : Math.min(this.threads, Math.ceil(M / TILE_ROWS));
    if (threads === 1) {
      for (let i = 0; i < Bt; i++) {
        this.exports.sgemm(0, M, N, K, aBase + 4 * i * a.strides[0], a.strides[1], a.strides[2], bBase + 4 * i * b.strides[0], b.strides[1], b.strides[2],
          cPtr + 4 * i * M * N, N, PAGE);
      }
    } else {
      this.parallel(Bt, M, N, K, threads, [aBase, a.strides[0], a.strides[1], a.strides[2], bBase, b.strides[0], b.strides[1], b.strides[2], cPtr, PAGE, this.scratchBytes]);
    }
    return new Float32Array(this.memory.buffer, cPtr, Bt * M * N).slice();
  }

  /** op(x) elementwise over a contiguous float32 array, as a new array. */
  unary(op: keyof typeof VEC_OPS, x: Float32Array): Float32Array {
    const [p] = this.stage([x.length], [x]) as [number];
    this.vec.unary(VEC_OPS[op], p, p, x.length);
    return this.copyOut(p, x.length);
  }

  /** Softmax or log-softmax over each row of a contiguous [rows, n] float32 array, as a new array. */
  softmax(x: Float32Array, n: number, log: boolean): Float32Array {
    const [p] = this.stage([x.length], [x]) as [number];
    this.vec.softmaxRows(p, p, n === 0 ? 0 : x.length / n, n, log ? 1 : 0);
    return this.copyOut(p, x.length);
  }

  /**
   * Byte offsets for arrays of the given element counts (4 bytes each) laid out one after another in the operand
   * area, with `inputs` copied into the first ones; the memory is grown to fit.
   */
  private stage(counts: readonly number[], inputs: readonly (Float32Array | Int32Array)[]): number[] {
    const ptrs: number[] = [];
    let end = this.operandsBase;
    for (const n of counts) { ptrs.push(end); end = align(end + 4 * n, 64); }
    this.ensure(end);
    inputs.forEach((x, i) => { (x instanceof Int32Array ? new Int32Array(this.memory.buffer, ptrs[i]!, x.length) : new Float32Array(this.memory.buffer, ptrs[i]!, x.length)).set(x); });
    return ptrs;
  }

  private copyOut(ptr: number, n: number): Float32Array {
    return new Float32Array(this.memory.buffer, ptr, n).slice();
  }

  /**
   * Per-row cross-entropy of contiguous logits [rows, n] against int32 targets, with label smoothing, and each row's
   * log-sum-exp; throws a RangeError naming the first out-of-range target.
   */
  crossEntropy(x: Float32Array, target: Int32Array, n: number, ignore: number, smoothing: number): { loss: Float32Array; lse: Float32Array } {
    const rows = target.length;
    const [px, pt, pl, pe] = this.stage([x.length, rows, rows, rows], [x, target]) as [number, number, number, number];
    const bad = this.vec.crossEntropyRows(px, pt, pl, pe, rows, n, ignore, smoothing);
    if (bad >= 0) throw new RangeError(`crossEntropy: index ${target[bad]} is out of range [0, ${n}) along axis 1`);
    return { loss: this.copyOut(pl, rows), lse: this.copyOut(pe, rows) };
  }

  /** The cross-entropy's logit gradient (see crossEntropy) from the saved log-sum-exp and the per-row loss gradient. */
  crossEntropyGrad(x: Float32Array, target: Int32Array, lse: Float32Array, grad: Float32Array, n: number, ignore: number, smoothing: number): Float32Array {
    const rows = target.length;
    const [px, pt, pe, pg, pd] = this.stage([x.length, rows, rows, rows, x.length], [x, target, lse, grad]) as [number, number, number, number, number];
    this.vec.crossEntropyGradRows(px, pt, pe, pg, pd, rows, n, ignore, smoothing);
    return this.copyOut(pd, x.length);
  }

  /** Layer norm over the last axis (size n) of a contiguous array; weight and bias optional (see Backend.layerNorm). */
  layerNorm(x: Float32Array, w: Float32Array | null, b: Float32Array | null, n: number, eps: number): { y: Float32Array; mean: Float32Array; rstd: Float32Array } {
    const rows = n === 0 ? 0 : x.length / n;
    const inputs = [x, w ?? new Float32Array(0), b ?? new Float32Array(0)];
    const [px, pw, pb, py, pm, pr] = this.stage([x.length, n, n, x.length, rows, rows], inputs) as [number, number, number, number, number, number];
    this.vec.layerNormRows(px, w ? pw : 0, b ? pb : 0, py, pm, pr, rows, n, eps);
    return { y: this.copyOut(py, x.length), mean: this.copyOut(pm, rows), rstd: this.copyOut(pr, rows) };
  }

  /** The layer norm's gradients from the output gradient and the saved mean and rstd (see Backend.layerNormBackward). */
  layerNormGrad(g: Float32Array, x: Float32Array, w: Float32Array | null, mean: Float32Array, rstd: Float32Array, n: number): { dx: Float32Array; dweight: Float32Array; dbias: Float32Array } {
    const rows = n === 0 ? 0 : x.length / n;
    const [pg, px, pw, pm, pr, pd, pdw, pdb] = this.stage([g.length, x.length, n, rows, rows, x.length, n, n], [g, x, w ?? new Float32Array(0), mean, rstd]) as
      [number, number, number, number, number, number, number, number];
    this.vec.layerNormGradRows(pg, px, w ? pw : 0, pm, pr, pd, pdw, pdb, rows, n);
    return { dx: this.copyOut(pd, x.length), dweight: this.copyOut(pdw, n), dbias: this.copyOut(pdb, n) };
  }

  /** One AdamW step in place on param, m and v (contiguous float32 arrays of the same length as grad). */
  adamw(param: Float32Array, grad: Float32Array, m: Float32Array, v: Float32Array, o: AdamWStep): void {
    const n = grad.length;
    const [pp, pg, pm, pv] = this.stage([n, n, n, n], [param, grad, m, v]) as [number, number, number, number];
    this.vec.adamw(pp, pg, pm, pv, n, 1 - o.lr * o.weightDecay, o.beta1, 1 - o.beta1, o.beta2, 1 - o.beta2, o.lr / (1 - Math.pow(o.beta1, o.step)),
      1 / (1 - Math.pow(o.beta2, o.step)), o.eps);
    param.set(new Float32Array(this.memory.buffer, pp, n));
    m.set(new Float32Array(this.memory.buffer, pm, n));
    v.set(new Float32Array(this.memory.buffer, pv, n));
  }

  private parallel(B: number, M: number, N: number, K: number, threads: number, params: number[]): void {
    const c = this.ctrlI32;
    const p = CTRL_PARAMS;
    c[p] = B; c[p + 1] = M; c[p + 2] = N; c[p + 3] = K;
    params.forEach((v, i) => { this.ctrlF64[8 + i] = v; });
    // Row ranges of equal size, cut at multiples of the tile height; workers past `threads` get an empty range.
    for (let t = 0; t <= this.threads; t++) c[CTRL_BOUNDS + t] = t >= threads ? M : Math.min(M, TILE_ROWS * Math.round((t * M) / threads / TILE_ROWS));
    Atomics.store(c, CTRL_PENDING, this.workers.length);
    Atomics.add(c, CTRL_GENERATION, 1);
    Atomics.notify(c, CTRL_GENERATION);
    // The calling thread does range 0 while the workers do the others.
    const m1 = c[CTRL_BOUNDS + 1]!;
    const [a, sa0, sa1, sa2, b, sb0, sb1, sb2, cc, scratch] = params as [number, number, number, number, number, number, number, number, number, number];
    if (m1 > 0) for (let i = 0; i < B; i++) this.exports.sgemm(0, m1, N, K, a + 4 * i * sa0, sa1, sa2, b + 4 * i * sb0, sb1, sb2, cc + 4 * i * M * N, N, scratch);
    // A worker that never answers (it died, or the process is starved beyond reason) becomes an error, not a hang.
    const deadline = Date.now() + WORKER_TIMEOUT_MS;
    for (let pending = Atomics.load(c, CTRL_PENDING); pending !== 0; pending = Atomics.load(c, CTRL_PENDING)) {
      if (Atomics.wait(c, CTRL_PENDING, pending, 1000) === 'timed-out' && Date.now() > deadline) {
        throw new Error(`cpu backend: ${pending} GEMM worker thread(s) did not finish within ${WORKER_TIMEOUT_MS / 1000} s (generation ${Atomics.load(c, CTRL_GENERATION)})`);
      }
    }
  }
}

function align(x: number, to: number): number {
  return Math.ceil(x / to) * to;
}

/** The contiguous range of the backing array that a strided operand touches. */
function span(x: Operand3): { start: number; length: number } {
  let lo = x.offset, hi = x.offset;
  for (let d = 0; d < 3; d++) {
    if (x.shape[d] === 0) return { start: x.offset, length: 0 };
    const reach = (x.shape[d] - 1) * x.strides[d];
    if (reach < 0) lo += reach; else hi += reach;
  }
  return { start: lo, length: hi - lo + 1 };
}

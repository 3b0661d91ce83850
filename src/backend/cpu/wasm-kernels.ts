// The WebAssembly kernels of the fast CPU backend over one shared memory: the GEMM and the fused kernels built on it
// (build/wasm/gemm.*.wasm: scaled-dot-product attention, the LSTM recurrence with and without a projection), run on
// the calling thread and a pool of worker threads synchronised with Atomics.wait/notify (idle workers sleep; no
// busy-waiting), and the vectorised row kernels (build/wasm/vecmath.*.wasm: activations, softmax, cross-entropy,
// layer norm, AdamW). Operands are copied into the shared memory (strided ones as the span they touch, with their
// original strides, so transposed views are packed directly) and results copied out.
import type { Worker as NodeWorker } from 'node:worker_threads';
import { compilePackageWasm, hardwareThreads, isNode, node } from '../../platform/node.js';
import type { AdamWStep } from '../backend.js';
import { VEC_OPS, type AttentionShape, type CpuKernels, type LstmSaved, type LstmpSaved, type Operand3, type Operand4 } from './kernels.js';

interface VecmathExports {
  unary(op: number, src: number, dst: number, n: number): void;
  softmaxRows(src: number, dst: number, rows: number, n: number, log: number): void;
  crossEntropyRows(x: number, target: number, loss: number, lse: number, rows: number, n: number, ignore: number, smoothing: number): number;
  crossEntropyGradRows(x: number, target: number, lse: number, grad: number, dx: number, rows: number, n: number, ignore: number, smoothing: number): void;
  layerNormRows(x: number, w: number, b: number, y: number, mean: number, rstd: number, rows: number, n: number, eps: number): void;
  layerNormGradRows(g: number, x: number, w: number, mean: number, rstd: number, dx: number, dw: number, db: number, rows: number, n: number): void;
  adamw(p: number, g: number, m: number, v: number, n: number, keep: number, beta1: number, c1: number, beta2: number, c2: number, stepSize: number, inv2: number, eps: number): void;
}

interface GemmExports {
  sgemm(m0: number, m1: number, N: number, K: number, a: number, rsa: number, csa: number, b: number, rsb: number, csb: number, c: number, ldc: number, scratch: number): void;
  packBytes(): number;
  packedFloats(K: number, N: number): number;
  packPanels(K: number, N: number, b: number, rs: number, cs: number, dst: number): void;
  sgemmPacked(m0: number, m1: number, N: number, K: number, a: number, rsa: number, csa: number, packed: number, c: number, ldc: number, scratch: number): void;
  attentionForward(n0: number, n1: number, params: number, scratch: number): void;
  attentionBackward(n0: number, n1: number, params: number, scratch: number, dS: number): void;
  lstmStepForward(B: number, T: number, H: number, t: number, xw: number, gates: number, bias: number, mask: number, h: number, c: number,
    acts: number, cNew: number, hPrev: number, cPrev: number, out: number): void;
  lstmStepBackward(B: number, T: number, H: number, t: number, grad: number, mask: number, acts: number, cNew: number, cPrev: number,
    dh: number, dc: number, dxw: number): void;
  lstmCarry(B: number, T: number, W: number, t: number, mask: number, d: number, dPrev: number): void;
  lstmpGatesForward(B: number, T: number, H: number, t: number, xw: number, gates: number, bias: number, mask: number, c: number,
    acts: number, cRaw: number, cPrev: number, hNew: number, cellClip: number): void;
  lstmpProjectForward(B: number, T: number, H: number, P: number, t: number, proj: number, mask: number, r: number, rPrev: number, rRaw: number,
    out: number, projClip: number): void;
  lstmpProjectBackward(B: number, T: number, H: number, P: number, t: number, grad: number, mask: number, rRaw: number, projClip: number,
    dr: number, dProj: number): void;
  lstmpGatesBackward(B: number, T: number, H: number, t: number, mask: number, acts: number, cRaw: number, cPrev: number, dh: number, dc: number,
    dxw: number, cellClip: number): void;
  columnSums(x: number, rows: number, n: number, out: number): void;
}

const PAGE = 65536;
/** How long the calling thread waits for the workers before reporting them as stuck. */
const WORKER_TIMEOUT_MS = 120_000;
const CTRL_GENERATION = 0, CTRL_PENDING = 1, CTRL_TASK = 2, CTRL_PARAMS = 4, CTRL_BOUNDS = 64;
/** What the workers run: row ranges of a (batched) GEMM, or (batch, head) pair ranges of the attention kernels. */
const TASK_GEMM = 0, TASK_ATTENTION = 1, TASK_ATTENTION_BACKWARD = 2;
/** i32 slots of the attention kernels' parameter block (see assembly/gemm.ts). */
const ATTENTION_SLOTS = 32;
/** Rows of the GEMM's register tile: thread row ranges start at multiples of it, so only the last has an edge tile. */
const TILE_ROWS = 6;
/** Below this many multiply-adds a product runs on the calling thread only. */
const PARALLEL_MIN_WORK = 1 << 18;

/** A kernel worker's body: `workerData` ({ memory, module, ctrl, index }) is in scope, `ready()` is called once instantiated. */
const WORKER_LOOP = `
const { memory, module, ctrl } = workerData;
const inst = new WebAssembly.Instance(module, { env: { memory, abort() { throw new Error('wasm abort'); } } });
const c = new Int32Array(ctrl);
const f = new Float64Array(ctrl);
let gen = 0;
ready();
for (;;) {
  ${'/* a wake-up with the generation unchanged (the notify of a generation this worker already ran) waits again */'}
  let next;
  while ((next = Atomics.load(c, ${CTRL_GENERATION})) === gen) Atomics.wait(c, ${CTRL_GENERATION}, gen);
  gen = next;
  run(inst.exports, workerData.index);
  if (Atomics.sub(c, ${CTRL_PENDING}, 1) === 1) Atomics.notify(c, ${CTRL_PENDING});
}
function run(e, t) {
  ${'/* the caller wrote each thread its range: rows of every batch item (GEMM), or (batch, head) pairs */'}
  const lo = c[${CTRL_BOUNDS} + t], hi = c[${CTRL_BOUNDS} + t + 1];
  if (lo >= hi) return;
  const task = c[${CTRL_TASK}];
  if (task === ${TASK_ATTENTION}) return e.attentionForward(lo, hi, f[8], f[9] + t * f[10]);
  if (task === ${TASK_ATTENTION_BACKWARD}) return e.attentionBackward(lo, hi, f[8], f[9] + t * f[10], f[11] + t * f[12]);
  const p = ${CTRL_PARAMS};
  const B = c[p], M = c[p + 1], N = c[p + 2], K = c[p + 3];
  const [a, sa0, sa1, sa2, b, sb0, sb1, sb2, cc, scratch, stride, packed] = Array.from({ length: 12 }, (_, i) => f[8 + i]);
  for (let i = 0; i < B; i++) {
    if (packed) e.sgemmPacked(lo, hi, N, K, a + 4 * i * sa0, sa1, sa2, b, cc + 4 * i * M * N, N, scratch + t * stride);
    else e.sgemm(lo, hi, N, K, a + 4 * i * sa0, sa1, sa2, b + 4 * i * sb0, sb1, sb2, cc + 4 * i * M * N, N, scratch + t * stride);
  }
}
`;

/** The worker in Node: its data comes with it. */
const NODE_WORKER_SOURCE = `const { workerData } = require('node:worker_threads'); const ready = () => {};\n${WORKER_LOOP}`;
/**
 * The worker in a browser: its data comes in the first message, and it answers once instantiated, because a nested
 * worker may not start while the thread that made it blocks in Atomics.wait (see WasmKernels.ready).
 */
const WEB_WORKER_SOURCE = `self.onmessage = ({ data: workerData }) => { self.onmessage = null; const ready = () => self.postMessage('ready');\n${WORKER_LOOP}\n};`;

/** Starts the kernel worker of thread `index`; `started` resolves once it has instantiated the kernels. */
function startWorker(data: { memory: WebAssembly.Memory; module: WebAssembly.Module; ctrl: SharedArrayBuffer; index: number }): { worker: NodeWorker | Worker; started: Promise<void> } {
  if (isNode) {
    // execArgv: [] keeps loader hooks (e.g. --import tsx) out of the workers: their code is plain JavaScript.
    const w = new (node('worker_threads', 'the WebAssembly kernels on several threads').Worker)(NODE_WORKER_SOURCE, { eval: true, execArgv: [], workerData: data });
    w.unref();
    return { worker: w, started: Promise.resolve() };
  }
  if (typeof Worker === 'undefined') throw new Error('cpu-wasm backend: more than one thread needs Web Workers, which this runtime does not have (use threads: 1)');
  const url = URL.createObjectURL(new Blob([WEB_WORKER_SOURCE], { type: 'text/javascript' }));
  const w = new Worker(url);
  const started = new Promise<void>((resolve, reject) => {
    w.onmessage = () => resolve();
    w.onerror = (e) => reject(new Error(`cpu-wasm backend: kernel worker ${data.index} failed to start: ${e.message || 'unknown error'}`));
  }).finally(() => URL.revokeObjectURL(url));
  w.postMessage(data);
  return { worker: w, started };
}

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
  private readonly workers: (NodeWorker | Worker)[] = [];
  /**
   * Resolves once every worker thread runs (at once in Node). In a browser, await it before the first kernel call:
   * a worker cannot start while the thread that created it is blocked waiting for it.
   */
  readonly ready: Promise<void>;
  private readonly scratchBytes: number;
  private readonly operandsBase: number;

  constructor(threads = hardwareThreads()) {
    const gemm = compilePackageWasm('gemm', 'cpu-wasm backend');
    const vecmath = compilePackageWasm('vecmath', 'cpu-wasm backend');
    this.relaxed = gemm.relaxed;
    const module = gemm.module;
    this.threads = Math.max(1, Math.floor(threads));
    this.description = `WebAssembly ${this.relaxed ? 'relaxed SIMD' : 'SIMD'}, ${this.threads} threads`;
    this.memory = new WebAssembly.Memory({ initial: 64, maximum: 65536, shared: true });
    const instance = new WebAssembly.Instance(module, { env: { memory: this.memory, abort: () => { throw new Error('wasm abort'); } } });
    this.exports = instance.exports as unknown as GemmExports;
    this.vec = new WebAssembly.Instance(vecmath.module, { env: { memory: this.memory, abort: () => { throw new Error('wasm abort'); } } }).exports as unknown as VecmathExports;
    this.scratchBytes = align(this.exports.packBytes(), 64);
    // The first 64 KiB hold the module's own data; then one scratch area per thread; then the operands.
    this.operandsBase = PAGE + this.threads * this.scratchBytes;
    this.ctrl = new SharedArrayBuffer(align(4 * (CTRL_BOUNDS + this.threads + 1), 8));
    this.ctrlI32 = new Int32Array(this.ctrl);
    this.ctrlF64 = new Float64Array(this.ctrl);
    const started: Promise<void>[] = [];
    for (let t = 1; t < this.threads; t++) {
      const { worker, started: up } = startWorker({ memory: this.memory, module, ctrl: this.ctrl, index: t });
      this.workers.push(worker);
      started.push(up);
    }
    this.ready = Promise.all(started).then(() => undefined);
  }

  private ensure(bytes: number): void {
    const need = Math.ceil(bytes / PAGE) - this.memory.buffer.byteLength / PAGE;
    if (need > 0) this.memory.grow(need);
  }

  /** out[b] = A[b] · B[b] for strided operands A [Bt, M, K] and B [Bt, K, N]; returns a new [Bt, M, N] array. */
  matmul(a: Operand3, b: Operand3): Float32Array {
    const [Bt, M, K] = a.shape;
    const N = b.shape[2];
    const { views: [pa, pb], arrays: [pc] } = this.stageAll([a, b], [Bt * M * N]) as { views: [number, number]; arrays: [number] };
    this.gemm(Bt, M, N, K, pa, a.strides, pb, b.strides, pc);
    return this.copyOut(pc, Bt * M * N);
  }

  /**
   * C[i] = A[i] · B[i] for i < Bt over operands already in the shared memory (byte addresses of element [0, 0, 0] and
   * element strides), into a contiguous C [Bt, M, N]; split by rows across the threads when large enough. With sb
   * 'packed', b is one B [K, N] that packPanels packed (the same for every i).
   */
  private gemm(Bt: number, M: number, N: number, K: number, a: number, sa: readonly number[], b: number, sb: readonly number[] | 'packed', c: number): void {
    const packed = sb === 'packed';
    const [sa0, sa1, sa2] = sa as [number, number, number], [sb0, sb1, sb2] = packed ? [0, 0, 0] : sb as [number, number, number];
    const rows = (m0: number, m1: number) => {
      for (let i = 0; i < Bt; i++) {
        if (packed) this.exports.sgemmPacked(m0, m1, N, K, a + 4 * i * sa0, sa1, sa2, b, c + 4 * i * M * N, N, PAGE);
        else this.exports.sgemm(m0, m1, N, K, a + 4 * i * sa0, sa1, sa2, b + 4 * i * sb0, sb1, sb2, c + 4 * i * M * N, N, PAGE);
      }
    };
    const threads = Bt * M * N * K < PARALLEL_MIN_WORK ? 1 : Math.min(this.threads, Math.ceil(M / TILE_ROWS));
    if (threads === 1) { rows(0, M); return; }
    // Row ranges of equal size, cut at multiples of the tile height, so only the last has an edge tile.
    this.dispatch(TASK_GEMM, threads, M, (t) => Math.min(M, TILE_ROWS * Math.round((t * M) / threads / TILE_ROWS)), [Bt, M, N, K],
      [a, sa0, sa1, sa2, b, sb0, sb1, sb2, c, PAGE, this.scratchBytes, packed ? 1 : 0], rows);
  }

  /**
   * Runs an attention kernel over `pairs` (batch, head) pairs: on the calling thread alone when the work (multiply-adds)
   * is small, else in equal pair ranges across the threads (`floats` go to the workers; `own` runs range 0 here).
   */
  private pairs(task: number, pairs: number, work: number, floats: readonly number[], own: (n0: number, n1: number) => void): void {
    const threads = work < PARALLEL_MIN_WORK ? 1 : Math.min(this.threads, pairs);
    if (threads <= 1) { own(0, pairs); return; }
    this.dispatch(task, threads, pairs, (t) => Math.round((t * pairs) / threads), [], floats, own);
  }

  /** Fused attention (see Backend.attention): the output laid out [B, Tq, H, Dv] and the weights [B, H, Tq, Tk]. */
  attention(a: AttentionShape, q: Operand4, k: Operand4, v: Operand4, mask: Operand4 | null): { out: Float32Array; weights: Float32Array } {
    const { B, H, Tq, Tk, D, Dv } = a;
    const { views: [pq, pk, pv, pm], arrays: [pout, pw, pp] } = this.stageAll(
      [{ ...q, shape: [B, H, Tq, D] }, { ...k, shape: [B, H, Tk, D] }, { ...v, shape: [B, H, Tk, Dv] }, mask && { ...mask, shape: [B, H, Tq, Tk] }],
      // the weights [B, H, Tq, Tk], then a flag per row with no visible key (its scores get no gradient)
      [B * Tq * H * Dv, B * H * Tq * (Tk + 1), ATTENTION_SLOTS]) as { views: [number, number, number, number]; arrays: [number, number, number] };
    this.attentionParams(pp, a, [[pq, q], [pk, k], [pv, v], [pm, mask]], [pout, pw, 0, 0]);
    this.pairs(TASK_ATTENTION, B * H, B * H * Tq * Tk * (D + Dv), [pp, PAGE, this.scratchBytes], (n0, n1) => this.exports.attentionForward(n0, n1, pp, PAGE));
    return { out: this.copyOut(pout, B * Tq * H * Dv), weights: this.copyOut(pw, B * H * Tq * (Tk + 1)) };
  }

  /** The attention's gradients from dOut [B, H, Tq, Dv] and the saved weights (see Backend.attentionBackward), each [B, T, H, D]. */
  attentionBackward(a: AttentionShape, dOut: Operand4, q: Operand4, k: Operand4, v: Operand4, weights: Float32Array): { dq: Float32Array; dk: Float32Array; dv: Float32Array } {
    const { B, H, Tq, Tk, D, Dv } = a;
    // Each thread's dS block [Tq, Tk], on its own cache lines.
    const dsBytes = align(4 * Tq * Tk, 64);
    const { views: [pq, pk, pv, po], arrays: [pw, pdq, pdk, pdv, pp, pds] } = this.stageAll(
      [{ ...q, shape: [B, H, Tq, D] }, { ...k, shape: [B, H, Tk, D] }, { ...v, shape: [B, H, Tk, Dv] }, { ...dOut, shape: [B, H, Tq, Dv] }],
      [weights, B * Tq * H * D, B * Tk * H * D, B * Tk * H * Dv, ATTENTION_SLOTS, (this.threads * dsBytes) / 4]) as
      { views: [number, number, number, number]; arrays: [number, number, number, number, number, number] };
    this.attentionParams(pp, a, [[pq, q], [pk, k], [pv, v], [po, dOut]], [pdq, pw, pdk, pdv]);
    this.pairs(TASK_ATTENTION_BACKWARD, B * H, B * H * Tq * Tk * 2 * (D + Dv), [pp, PAGE, this.scratchBytes, pds, dsBytes],
      (n0, n1) => this.exports.attentionBackward(n0, n1, pp, PAGE, pds));
    return { dq: this.copyOut(pdq, B * Tq * H * D), dk: this.copyOut(pdk, B * Tk * H * D), dv: this.copyOut(pdv, B * Tk * H * Dv) };
  }

  /**
   * Writes the attention kernels' parameter block at `at`: sizes, flags, the scale, then each view's address and
   * strides (the fourth view is the mask forward, dOut backward; absent: address 0), then the four output addresses.
   */
  private attentionParams(at: number, a: AttentionShape, views: readonly [number, Operand4 | null][], outputs: readonly number[]): void {
    const block = new Int32Array(this.memory.buffer, at, ATTENTION_SLOTS);
    block.set([a.B, a.H, a.Tq, a.Tk, a.D, a.Dv, a.causal ? 1 : 0, 0, ...views.flatMap(([p, x]) => (x ? [p, ...x.strides] : [0, 0, 0, 0, 0])), ...outputs]);
    new Float32Array(this.memory.buffer, at, ATTENTION_SLOTS)[7] = a.scale;
  }

  /**
   * One LSTM layer's recurrence (see Backend.lstmSequence): W_hhᵀ packed once for the GEMM, then per step h·W_hhᵀ as
   * one GEMM (split by rows across the threads when large) and one vectorised gate pass; the packed [B, T + 2, H]
   * result and the saved activations and states.
   */
  lstm(B: number, T: number, H: number, xw: Float32Array, w: Float32Array, bias: Float32Array | null, h0: Float32Array, c0: Float32Array,
    mask: Float32Array | null): { packed: Float32Array; saved: LstmSaved } {
    const H4 = 4 * H, BTH = B * T * H;
    const [pxw, pw, pb, ph, pc, pm, pg, pout, pacts, pcn, php, pcp, pwT] = this.stage(
      [B * T * H4, H4 * H, bias ? H4 : 0, B * H, B * H, mask ? B * T : 0, B * H4, B * (T + 2) * H, B * T * H4, BTH, BTH, BTH, this.exports.packedFloats(H, H4)],
      [xw, w, bias, h0, c0, mask]) as [number, number, number, number, number, number, number, number, number, number, number, number, number];
    // W_hhᵀ [H, 4H]: element (k, j) = W[j, k]
    this.exports.packPanels(H, H4, pw, 1, H, pwT);
    for (let t = 0; t < T; t++) {
      // gates = h · W_hhᵀ
      this.gemm(1, B, H4, H, ph, [0, H, 1], pwT, 'packed', pg);
      this.exports.lstmStepForward(B, T, H, t, pxw, pg, bias ? pb : 0, mask ? pm : 0, ph, pc, pacts, pcn, php, pcp, pout);
    }
    const packed = this.copyOut(pout, B * (T + 2) * H);
    const h = new Float32Array(this.memory.buffer, ph, B * H), c = new Float32Array(this.memory.buffer, pc, B * H);
    for (let b = 0; b < B; b++) {
      packed.set(h.subarray(b * H, (b + 1) * H), (b * (T + 2) + T) * H);
      packed.set(c.subarray(b * H, (b + 1) * H), (b * (T + 2) + T + 1) * H);
    }
    return { packed, saved: { B, T, H, acts: this.copyOut(pacts, B * T * H4), cNew: this.copyOut(pcn, BTH), hPrev: this.copyOut(php, BTH), cPrev: this.copyOut(pcp, BTH) } };
  }

  /**
   * The recurrence's gradients (see Backend.lstmSequenceBackward): W_hh packed once, backward through time one step
   * at a time (a gate pass, then dh through W_hh as one GEMM), then dW = Σ_t dG_tᵀ hPrev_t as one GEMM over all B·T rows.
   */
  lstmBackward(grad: Float32Array, w: Float32Array, mask: Float32Array | null, s: LstmSaved, hasBias: boolean):
    { dxw: Float32Array; dw: Float32Array; db: Float32Array; dh0: Float32Array; dc0: Float32Array } {
    const { B, T, H } = s;
    const H4 = 4 * H, BTH = B * T * H;
    const [pgrad, pw, pm, pacts, pcn, php, pcp, pdxw, pdw, pdb, pdh, pdc, pdhp, pwp] = this.stage(
      [B * (T + 2) * H, H4 * H, mask ? B * T : 0, B * T * H4, BTH, BTH, BTH, B * T * H4, H4 * H, H4, B * H, B * H, B * H, this.exports.packedFloats(H4, H)],
      [grad, w, mask, s.acts, s.cNew, s.hPrev, s.cPrev]) as
      [number, number, number, number, number, number, number, number, number, number, number, number, number, number];
    this.exports.packPanels(H4, H, pw, H, 1, pwp);
    // The running dh and dc start as the gradients of the final h and c (the packed result's last two rows).
    const dh = new Float32Array(this.memory.buffer, pdh, B * H), dc = new Float32Array(this.memory.buffer, pdc, B * H);
    for (let b = 0; b < B; b++) {
      dh.set(grad.subarray((b * (T + 2) + T) * H, (b * (T + 2) + T + 1) * H), b * H);
      dc.set(grad.subarray((b * (T + 2) + T + 1) * H, (b * (T + 2) + T + 2) * H), b * H);
    }
    for (let t = T - 1; t >= 0; t--) {
      this.exports.lstmStepBackward(B, T, H, t, pgrad, mask ? pm : 0, pacts, pcn, pcp, pdh, pdc, pdxw);
      // dhPrev = dG_t [B, 4H] (rows T·4H apart in dxw) · W_hh [4H, H]
      this.gemm(1, B, H, H4, pdxw + 4 * t * H4, [0, T * H4, 1], pwp, 'packed', pdhp);
      this.exports.lstmCarry(B, T, H, t, mask ? pm : 0, pdh, pdhp);
    }
    // dW [4H, H] = dGᵀ [4H, B·T] · hPrev [B·T, H]; db = the column sums of dG.
    this.gemm(1, H4, H, B * T, pdxw, [0, 1, H4], php, [0, H, 1], pdw);
    if (hasBias) this.exports.columnSums(pdxw, B * T, H4, pdb);
    return { dxw: this.copyOut(pdxw, B * T * H4), dw: this.copyOut(pdw, H4 * H), db: hasBias ? this.copyOut(pdb, H4) : new Float32Array(H4),
      dh0: this.copyOut(pdh, B * H), dc0: this.copyOut(pdc, B * H) };
  }

  /**
   * One LSTMP layer's recurrence (see Backend.lstmpSequence), as lstm's with a second product per step: W_hhᵀ and
   * W_hrᵀ packed once, then per step r·W_hhᵀ as one GEMM, a gate pass (the new c, clipped, and h), h·W_hrᵀ as one
   * GEMM and a projection pass (clip, mask, the new r); the packed [B, T·P + P + H] result and the saved tensors.
   */
  lstmp(B: number, T: number, H: number, P: number, xw: Float32Array, w: Float32Array, bias: Float32Array | null, wr: Float32Array, r0: Float32Array,
    c0: Float32Array, mask: Float32Array | null, cellClip: number | null, projClip: number | null): { packed: Float32Array; saved: LstmpSaved } {
    const H4 = 4 * H, BTH = B * T * H, BTP = B * T * P, width = T * P + P + H;
    const [pxw, pw, pb, pwr, pr, pc, pm, pg, pproj, pout, pacts, pcr, phn, prp, pcp, prr, pwT, pwrT] = this.stage(
      [B * T * H4, H4 * P, bias ? H4 : 0, P * H, B * P, B * H, mask ? B * T : 0, B * H4, B * P, B * width, B * T * H4, BTH, BTH, BTP, BTH,
        projClip === null ? 0 : BTP, this.exports.packedFloats(P, H4), this.exports.packedFloats(H, P)],
      [xw, w, bias, wr, r0, c0, mask]) as [number, number, number, number, number, number, number, number, number, number, number, number,
        number, number, number, number, number, number];
    // W_hhᵀ [P, 4H] and W_hrᵀ [H, P]: element (k, j) = W[j, k]
    this.exports.packPanels(P, H4, pw, 1, P, pwT);
    this.exports.packPanels(H, P, pwr, 1, H, pwrT);
    for (let t = 0; t < T; t++) {
      this.gemm(1, B, H4, P, pr, [0, P, 1], pwT, 'packed', pg);
      this.exports.lstmpGatesForward(B, T, H, t, pxw, pg, bias ? pb : 0, mask ? pm : 0, pc, pacts, pcr, pcp, phn, cellClip ?? Infinity);
      // h_t [B, H], rows T·H apart in hNew, · W_hrᵀ
      this.gemm(1, B, P, H, phn + 4 * t * H, [0, T * H, 1], pwrT, 'packed', pproj);
      this.exports.lstmpProjectForward(B, T, H, P, t, pproj, mask ? pm : 0, pr, prp, projClip === null ? 0 : prr, pout, projClip ?? Infinity);
    }
    const packed = this.copyOut(pout, B * width);
    const r = new Float32Array(this.memory.buffer, pr, B * P), c = new Float32Array(this.memory.buffer, pc, B * H);
    for (let b = 0; b < B; b++) {
      packed.set(r.subarray(b * P, (b + 1) * P), b * width + T * P);
      packed.set(c.subarray(b * H, (b + 1) * H), b * width + T * P + P);
    }
    return { packed, saved: { B, T, H, P, cellClip, projClip, acts: this.copyOut(pacts, B * T * H4), cRaw: this.copyOut(pcr, BTH), hNew: this.copyOut(phn, BTH),
      rPrev: this.copyOut(prp, BTP), cPrev: this.copyOut(pcp, BTH), rRaw: projClip === null ? null : this.copyOut(prr, BTP) } };
  }

  /**
   * The LSTMP recurrence's gradients (see Backend.lstmpSequenceBackward): W_hh and W_hr packed once, then backward
   * through time one step at a time (the projection's gradient dR_t through the mask and the clip, dh = dR_t·W_hr as
   * one GEMM, a gate pass, dr = dG_t·W_hh as one GEMM), then dW = Σ dGᵀ rPrev and dW_hr = Σ dRᵀ h as one GEMM each.
   */
  lstmpBackward(grad: Float32Array, w: Float32Array, wr: Float32Array, mask: Float32Array | null, s: LstmpSaved, hasBias: boolean):
    { dxw: Float32Array; dw: Float32Array; db: Float32Array; dwr: Float32Array; dr0: Float32Array; dc0: Float32Array } {
    const { B, T, H, P } = s;
    const H4 = 4 * H, BTH = B * T * H, BTP = B * T * P, width = T * P + P + H;
    const [pgrad, pw, pwr, pm, pacts, pcr, phn, prp, pcp, prr, pdxw, pdw, pdb, pdwr, pdr, pdc, pdh, pdrp, pdp, pwp, pwrp] = this.stage(
      [B * width, H4 * P, P * H, mask ? B * T : 0, B * T * H4, BTH, BTH, BTP, BTH, s.rRaw ? BTP : 0, B * T * H4, H4 * P, H4, P * H, B * P, B * H, B * H, B * P,
        BTP, this.exports.packedFloats(H4, P), this.exports.packedFloats(P, H)],
      [grad, w, wr, mask, s.acts, s.cRaw, s.hNew, s.rPrev, s.cPrev, s.rRaw]) as [number, number, number, number, number, number, number, number,
        number, number, number, number, number, number, number, number, number, number, number, number, number];
    this.exports.packPanels(H4, P, pw, P, 1, pwp);
    this.exports.packPanels(P, H, pwr, H, 1, pwrp);
    // The running dr and dc start as the gradients of the final r and c (the end of each packed row).
    const dr = new Float32Array(this.memory.buffer, pdr, B * P), dc = new Float32Array(this.memory.buffer, pdc, B * H);
    for (let b = 0; b < B; b++) {
      dr.set(grad.subarray(b * width + T * P, b * width + T * P + P), b * P);
      dc.set(grad.subarray(b * width + T * P + P, (b + 1) * width), b * H);
    }
    for (let t = T - 1; t >= 0; t--) {
      this.exports.lstmpProjectBackward(B, T, H, P, t, pgrad, mask ? pm : 0, s.rRaw ? prr : 0, s.projClip ?? Infinity, pdr, pdp);
      // dh = dR_t [B, P] (rows T·P apart) · W_hr [P, H]
      this.gemm(1, B, H, P, pdp + 4 * t * P, [0, T * P, 1], pwrp, 'packed', pdh);
      this.exports.lstmpGatesBackward(B, T, H, t, mask ? pm : 0, pacts, pcr, pcp, pdh, pdc, pdxw, s.cellClip ?? Infinity);
      // drPrev = dG_t [B, 4H] (rows T·4H apart) · W_hh [4H, P]
      this.gemm(1, B, P, H4, pdxw + 4 * t * H4, [0, T * H4, 1], pwp, 'packed', pdrp);
      this.exports.lstmCarry(B, T, P, t, mask ? pm : 0, pdr, pdrp);
    }
    // dW [4H, P] = dGᵀ · rPrev and dW_hr [P, H] = dRᵀ · h over all B·T rows; db = the column sums of dG.
    this.gemm(1, H4, P, B * T, pdxw, [0, 1, H4], prp, [0, P, 1], pdw);
    this.gemm(1, P, H, B * T, pdp, [0, 1, P], phn, [0, H, 1], pdwr);
    if (hasBias) this.exports.columnSums(pdxw, B * T, H4, pdb);
    return { dxw: this.copyOut(pdxw, B * T * H4), dw: this.copyOut(pdw, H4 * P), db: hasBias ? this.copyOut(pdb, H4) : new Float32Array(H4),
      dwr: this.copyOut(pdwr, P * H), dr0: this.copyOut(pdr, B * P), dc0: this.copyOut(pdc, B * H) };
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
   * area, with `inputs` copied into the first ones (a null input is only reserved); the memory is grown to fit.
   */
  private stage(counts: readonly number[], inputs: readonly (Float32Array | Int32Array | null)[]): number[] {
    const ptrs: number[] = [];
    let end = this.operandsBase;
    for (const n of counts) { ptrs.push(end); end = align(end + 4 * n, 64); }
    this.ensure(end);
    inputs.forEach((x, i) => {
      if (x) (x instanceof Int32Array ? new Int32Array(this.memory.buffer, ptrs[i]!, x.length) : new Float32Array(this.memory.buffer, ptrs[i]!, x.length)).set(x);
    });
    return ptrs;
  }

  /**
   * Stages strided views and plain arrays: each distinct backing array once, as the span its views touch (q, k and v
   * sliced from one fused projection are one copy), then the arrays (copied in, or a count of elements to reserve).
   * Returns each view's byte address at its element [0, ...] (0 for a null view) and each array's byte address.
   */
  private stageAll(views: readonly (Strided | null)[], arrays: readonly (Float32Array | number)[]): { views: number[]; arrays: number[] } {
    const groups: { data: Float32Array; start: number; end: number }[] = [];
    const spans = views.map((v) => {
      if (!v) return null;
      const s = span(v);
      let g = groups.find((x) => x.data === v.data);
      if (!g) groups.push(g = { data: v.data, start: s.start, end: s.start + s.length });
      else if (s.length > 0) { g.start = Math.min(g.start, s.start); g.end = Math.max(g.end, s.start + s.length); }
      return g;
    });
    const ptrs = this.stage([...groups.map((g) => g.end - g.start), ...arrays.map((a) => (typeof a === 'number' ? a : a.length))],
      [...groups.map((g) => g.data.subarray(g.start, g.end)), ...arrays.map((a) => (typeof a === 'number' ? null : a))]);
    return {
      views: views.map((v, i) => (v ? ptrs[groups.indexOf(spans[i]!)]! + 4 * (v.offset - spans[i]!.start) : 0)),
      arrays: ptrs.slice(groups.length),
    };
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

  /**
   * Runs `task` over [0, total) split at bound(1), ..., bound(threads - 1): range 0 on the calling thread (`own`), the
   * others on the workers (workers past `threads` get an empty range), with `ints` and `floats` as their parameters.
   */
  private dispatch(task: number, threads: number, total: number, bound: (t: number) => number, ints: readonly number[], floats: readonly number[],
    own: (lo: number, hi: number) => void): void {
    const c = this.ctrlI32;
    c[CTRL_TASK] = task;
    ints.forEach((v, i) => { c[CTRL_PARAMS + i] = v; });
    floats.forEach((v, i) => { this.ctrlF64[8 + i] = v; });
    for (let t = 0; t <= this.threads; t++) c[CTRL_BOUNDS + t] = t === 0 ? 0 : t >= threads ? total : bound(t);
    Atomics.store(c, CTRL_PENDING, this.workers.length);
    Atomics.add(c, CTRL_GENERATION, 1);
    Atomics.notify(c, CTRL_GENERATION);
    // The calling thread does range 0 while the workers do the others.
    const hi = c[CTRL_BOUNDS + 1]!;
    if (hi > 0) own(0, hi);
    // A worker that never answers (it died, or the process is starved beyond reason) becomes an error, not a hang.
    const deadline = Date.now() + WORKER_TIMEOUT_MS;
    for (let pending = Atomics.load(c, CTRL_PENDING); pending !== 0; pending = Atomics.load(c, CTRL_PENDING)) {
      if (Atomics.wait(c, CTRL_PENDING, pending, 1000) === 'timed-out' && Date.now() > deadline) {
        throw new Error(`cpu backend: ${pending} kernel worker thread(s) did not finish within ${WORKER_TIMEOUT_MS / 1000} s (generation ${Atomics.load(c, CTRL_GENERATION)})`);
      }
    }
  }
}

function align(x: number, to: number): number {
  return Math.ceil(x / to) * to;
}

/** A strided float32 operand of any rank. */
interface Strided { data: Float32Array; shape: readonly number[]; strides: readonly number[]; offset: number }

/** The contiguous range of the backing array that a strided operand touches. */
function span(x: Strided): { start: number; length: number } {
  let lo = x.offset, hi = x.offset;
  for (let d = 0; d < x.shape.length; d++) {
    if (x.shape[d] === 0) return { start: x.offset, length: 0 };
    const reach = (x.shape[d] - 1) * x.strides[d];
    if (reach < 0) lo += reach; else hi += reach;
  }
  return { start: lo, length: hi - lo + 1 };
}

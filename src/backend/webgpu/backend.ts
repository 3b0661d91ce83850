// The WebGPU backend: every kernel of the interface as a WGSL compute pipeline over pooled storage buffers.
// Dispatches are recorded into one command encoder and submitted in batches; nothing waits for the GPU except
// `read`, which is asynchronous like WebGPU itself.
/// <reference types="@webgpu/types" />
import type { AdamWStep, Backend, BinaryOp, Buffer, ReduceOp, UnaryOp, View, Window2d } from '../backend.js';
import type { DType } from '../../tensor/dtype.js';
import { contiguousStrides, fmt, isContiguous, sizeOf } from '../../tensor/shape.js';
import type { DeviceInfo } from './device.js';
import { BufferPool, DeviceMemoryError } from './pool.js';
import * as k from './wgsl.js';
import * as img from './wgsl-image.js';

/** The handle to a device buffer; `freed` makes a second free (explicit, then by the finalizer) harmless. */
class GpuBuffer {
  freed = false;
  constructor(readonly gpu: GPUBuffer) {}
}

/** Options of the WebGPU backend. */
export interface WebGPUOptions {
  /** Dispatches recorded before a submission is forced (reads always submit). */
  dispatchesPerSubmit?: number;
  /** Bytes of freed buffers kept for reuse; beyond it freed buffers are destroyed. */
  maxPooledBytes?: number;
  /** Use subgroup operations in row reductions (default: when the device has the 'subgroups' feature). */
  subgroups?: boolean;
  /** Reuse bind groups for repeated (kernel layout, buffers) combinations (default true; off to measure the host cost). */
  cacheBindGroups?: boolean;
}

/** The kernel interface on a WebGPU device; the device info is exposed for reports. */
export interface WebGPUBackend extends Backend {
  readonly device: GPUDevice;
  readonly info: DeviceInfo;
  /** Submits recorded work and waits until the GPU has finished it (for benchmarks). */
  sync(): Promise<void>;
  /** Bytes in live buffers, in pooled ones, and in freed ones parked until the next submission. */
  memory(): { liveBytes: number; pooledBytes: number; parkedBytes: number };
  /**
   * Dispatches recorded and bind groups created since the backend was made (their ratio is the cache's miss rate),
   * and the multi-buffer bind groups cached now (single-buffer ones live with their buffers and are not counted).
   */
  counters(): { dispatches: number; bindGroupsCreated: number; cachedLeadGroups: number };
}

const F32 = new Float32Array(1);
const F32_BITS = new Uint32Array(F32.buffer);
/** The bit pattern of a number as float32, for the u32 parameter block. */
function f32Bits(x: number): number {
  F32[0] = x;
  return F32_BITS[0]!;
}

function scalar(dtype: DType): k.Scalar {
  if (dtype === 'float64') throw new Error('webgpu: float64 tensors are not supported (WGSL has no f64); use float32, or a CPU backend for float64 checks');
  return dtype === 'float32' ? 'f32' : 'i32';
}

const viewWords = (v: View) => [v.offset, ...v.strides];

/** The image kernels' geometry words (wgsl-image.ts GEO): sizes of x [N, C, H, W] and the window. */
function geometry(N: number, C: number, H: number, W: number, w: Window2d): number[] {
  return [N, C, H, W, ...w.kernel, ...w.stride, ...w.padding, ...w.dilation, ...w.out];
}

/** What the fused attention's backward needs: the forward output and the per-row statistics (see wgsl.ts). */
interface AttentionSaved {
  out: GpuBuffer;
  stats: GpuBuffer;
}

/** Creates the backend on an acquired device. */
export function createWebGPUBackendOn(device: GPUDevice, info: DeviceInfo, opts: WebGPUOptions = {}): WebGPUBackend {
  const perSubmit = opts.dispatchesPerSubmit ?? 64;
  const sub = (opts.subgroups ?? true) && info.features.includes('subgroups');
  const pool = new BufferPool(device, opts.maxPooledBytes ?? 2 ** 31, (buf) => forgetBuffer(buf));
  const pipelines = new Map<string, Pipe>();
  // Errors surface asynchronously; the next read throws the first of them rather than returning wrong numbers.
  const errors: string[] = [];
  device.addEventListener('uncapturederror', (e) => errors.push((e as GPUUncapturedErrorEvent).error.message));
  // Buffers that reach no tensor (e.g. layer norm's saved statistics) are freed when their handle is collected.
  const finalizer = new FinalizationRegistry<GPUBuffer>((gpu) => pool.park(gpu));
  let encoder: GPUCommandEncoder | null = null;
  let recorded = 0;

  const gb = (b: Buffer) => b as GpuBuffer;

  /**
   * Awaits a GPU promise with the event loop held open: Dawn in Node resolves it from a poll that does not keep
   * the process alive, so a script whose last act is `await t.data()` would otherwise exit (and crash in teardown).
   */
  async function gpuWait<T>(p: Promise<T>): Promise<T> {
    const keepAlive = setInterval(() => {}, 1);
    try { return await p; } finally { clearInterval(keepAlive); }
  }

  function alloc(size: number, dtype: DType, what: string): GpuBuffer {
    scalar(dtype);
    const gpu = pool.acquire(Math.max(4, size * 4), `${what} (${size} × ${dtype})`);
    const h = new GpuBuffer(gpu);
    finalizer.register(h, gpu, h);
    return h;
  }

  let pass: GPUComputePassEncoder | null = null;

  /** The encoder for copies and clears, which may not sit inside a compute pass. */
  function enc(): GPUCommandEncoder {
    pass?.end();
    pass = null;
    return (encoder ??= device.createCommandEncoder());
  }

  /** Consecutive dispatches share one compute pass (WebGPU orders their storage accesses within it). */
  function computePass(): GPUComputePassEncoder {
    return (pass ??= enc().beginComputePass());
  }

  // Kernel parameters of a batch share one buffer, each dispatch reading its own aligned slot through a dynamic
  // offset; the slots are written once, just before the batch is submitted. One buffer serves every batch: the
  // queue runs that write after the previous batch's commands, which have read their parameters by then.
  const align = device.limits.minStorageBufferOffsetAlignment;
  const arenaBytes = Math.max(64 * 1024, perSubmit * align);
  const arena = new Uint32Array(arenaBytes / 4);
  const arenaBuf = device.createBuffer({ size: arenaBytes, usage: GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_DST, label: 'kernel parameters' });
  let arenaUsed = 0;

  function flush(): void {
    if (arenaUsed > 0) device.queue.writeBuffer(arenaBuf, 0, arena, 0, arenaUsed / 4);
    arenaUsed = 0;
    if (encoder) device.queue.submit([enc().finish()]);
    encoder = null;
    recorded = 0;
    pool.release();
  }

  // Bind groups. createBindGroup costs tens of microseconds of validation per call, so none is made per dispatch.
  // A kernel's last buffers each get a group of their own (as many as the device has groups beyond group 0), made
  // once per buffer and access mode: the pool's buffers are few and long-lived, so these hit whichever buffers a
  // dispatch combines, even though garbage collection decides which pooled buffer a tensor gets. Group 0 holds the
  // parameters (a dynamic offset into the batch's block) and, for kernels with more buffers than that (layer norm,
  // AdamW, attention, ...), the leading ones, cached by the combination and dropped when one of them is destroyed.
  // A pooled buffer handed to a new tensor is the same GPUBuffer, so its bind groups stay valid.
  const cacheBindGroups = opts.cacheBindGroups ?? true;
  const counts = { dispatches: 0, bindGroupsCreated: 0 };
  const entry = (binding: number, kind: string, hasDynamicOffset = false): GPUBindGroupLayoutEntry =>
    ({ binding, visibility: GPUShaderStage.COMPUTE, buffer: { type: kind === 'r' ? 'read-only-storage' : 'storage', hasDynamicOffset } });
  const singleLayouts = { r: device.createBindGroupLayout({ entries: [entry(0, 'r')] }), w: device.createBindGroupLayout({ entries: [entry(0, 'w')] }) };
  const leadLayouts = new Map<string, GPUBindGroupLayout>();

  /** A compiled kernel: `sig` lists its buffers' access ('r' or 'w') in binding order; the first `lead` share group 0. */
  interface Pipe { pipeline: GPUComputePipeline; sig: string; lead: number; layout: GPUBindGroupLayout }
  function buildPipeline(key: string, code: string): Pipe {
    const kinds: string[] = [];
    for (const m of code.matchAll(/@binding\((\d+)\)\s*var<storage,\s*(read_write|read)>/g)) kinds[Number(m[1])] = m[2] === 'read' ? 'r' : 'w';
    const sig = kinds.slice(1).join('');
    // Without caching, every buffer in group 0 and one group made per dispatch: the cost caching removes, kept to measure it.
    const lead = cacheBindGroups ? Math.max(0, sig.length - (device.limits.maxBindGroups - 1)) : sig.length;
    code = code.replace(/@group\(0\) @binding\((\d+)\)/g, (m, n: string) => (Number(n) <= lead ? m : `@group(${Number(n) - lead}) @binding(0)`));
    const leadSig = sig.slice(0, lead);
    let layout = leadLayouts.get(leadSig);
    if (!layout) leadLayouts.set(leadSig, (layout = device.createBindGroupLayout({ entries: [entry(0, 'r', true), ...[...leadSig].map((kind, i) => entry(i + 1, kind))] })));
    const module = device.createShaderModule({ code, label: key });
    const pipeline = device.createComputePipeline({
      layout: device.createPipelineLayout({ bindGroupLayouts: [layout, ...[...sig.slice(lead)].map((kind) => singleLayouts[kind as 'r' | 'w'])] }),
      compute: { module, entryPoint: 'main' },
      label: key,
    });
    return { pipeline, sig, lead, layout };
  }

  function makeBindGroup(layout: GPUBindGroupLayout, entries: GPUBindGroupEntry[]): GPUBindGroup {
    counts.bindGroupsCreated++;
    return device.createBindGroup({ layout, entries });
  }
  // Single-buffer groups go with their buffer (a destroyed buffer is never bound again, and its entry is collected).
  const singles = { r: new WeakMap<GPUBuffer, GPUBindGroup>(), w: new WeakMap<GPUBuffer, GPUBindGroup>() };
  const leads = new Map<string, GPUBindGroup>();
  const keysByBuffer = new Map<GPUBuffer, Set<string>>();
  const bufferIds = new WeakMap<GPUBuffer, number>();
  let nextBufferId = 0;
  const MAX_LEAD_GROUPS = 16384; // bounds the cache when shapes keep changing; it is rebuilt from scratch past it
  function forgetBuffer(buf: GPUBuffer): void {
    for (const key of keysByBuffer.get(buf) ?? []) leads.delete(key);
    keysByBuffer.delete(buf);
  }

  /** Group 0: the parameters' window and the leading buffers. */
  function leadGroup(pipe: Pipe, window: number, buffers: GPUBuffer[]): GPUBindGroup {
    const make = () => makeBindGroup(pipe.layout, [
      { binding: 0, resource: { buffer: arenaBuf, offset: 0, size: window } },
      ...buffers.map((buffer, i) => ({ binding: i + 1, resource: { buffer } })),
    ]);
    if (!cacheBindGroups) return make();
    let key = `${pipe.sig.slice(0, pipe.lead)}:${window}`;
    for (const b of buffers) {
      let id = bufferIds.get(b);
      if (id === undefined) bufferIds.set(b, (id = nextBufferId++));
      key += `:${id}`;
    }
    let group = leads.get(key);
    if (!group) {
      if (leads.size >= MAX_LEAD_GROUPS) { leads.clear(); keysByBuffer.clear(); }
      leads.set(key, (group = make()));
      for (const b of buffers) {
        let keys = keysByBuffer.get(b);
        if (!keys) keysByBuffer.set(b, (keys = new Set()));
        keys.add(key);
      }
    }
    return group;
  }

  /** Sets the bind groups of one dispatch. */
  function bind(p: GPUComputePassEncoder, pipe: Pipe, window: number, offset: number, buffers: GPUBuffer[]): void {
    p.setBindGroup(0, leadGroup(pipe, window, buffers.slice(0, pipe.lead)), [offset]);
    for (let i = pipe.lead; i < buffers.length; i++) {
      const kind = pipe.sig[i] as 'r' | 'w', buffer = buffers[i]!;
      let group = singles[kind].get(buffer);
      if (!group) singles[kind].set(buffer, (group = makeBindGroup(singleLayouts[kind], [{ binding: 0, resource: { buffer } }])));
      p.setBindGroup(i - pipe.lead + 1, group);
    }
  }

  /** Records one dispatch of the pipeline `key` (built by `source` on first use) over `buffers` (after meta). */
  function dispatch(key: string, source: () => string, meta: number[], buffers: GPUBuffer[], groups: [number, number, number]): void {
    let pipe = pipelines.get(key);
    if (!pipe) pipelines.set(key, (pipe = buildPipeline(key, source())));
    const bytes = meta.length * 4;
    // The bound window of parameters: one size for every kernel whose block fits, so their bind groups match.
    const window = Math.ceil(Math.max(bytes, 256) / align) * align;
    if (arenaUsed + window > arenaBytes) flush();
    const offset = arenaUsed;
    for (let i = 0; i < meta.length; i++) arena[offset / 4 + i] = meta[i]! >>> 0;
    arenaUsed += Math.ceil(bytes / align) * align;
    const p = computePass();
    p.setPipeline(pipe.pipeline);
    bind(p, pipe, window, offset, buffers);
    p.dispatchWorkgroups(...groups);
    counts.dispatches++;
    if (++recorded >= perSubmit) flush();
  }

  const maxGroups = device.limits.maxComputeWorkgroupsPerDimension;
  /** Workgroup counts for `count` workgroups, spilling into y past the per-dimension limit. */
  function grid(count: number): [number, number, number] {
    return count <= maxGroups ? [count, 1, 1] : [maxGroups, Math.ceil(count / maxGroups), 1];
  }

  /** out = expr(inputs) elementwise over `shape`; writes into `into` (a strided view) or a new buffer. */
  function elementwise(name: string, expr: string, inputs: View[], shape: readonly number[], outType: DType, into?: View): GpuBuffer {
    const n = sizeOf(shape);
    const out = into ? gb(into.buf) : alloc(n, outType, `${name} output ${fmt(shape)}`);
    if (n === 0) return out;
    const outView = into ?? { buf: out, dtype: outType, shape, strides: contiguousStrides(shape), offset: 0 };
    const ops = inputs.map((v) => ({ type: scalar(v.dtype), contiguous: isContiguous(v.shape, v.strides) }));
    const outOp = { type: scalar(outType), contiguous: isContiguous(outView.shape, outView.strides) };
    const key = `ew:${name}:${shape.length}:${ops.map((o) => o.type + +o.contiguous).join(',')}:${outOp.type}${+outOp.contiguous}`;
    const meta = [n, ...shape, ...viewWords(outView), ...inputs.flatMap(viewWords)];
    dispatch(key, () => k.elementwiseKernel(shape.length, ops, outOp, expr), meta, [...inputs.map((v) => gb(v.buf).gpu), out.gpu], grid(Math.ceil(n / k.WG)));
    return out;
  }

  function fill(dtype: DType, size: number, value: number): GpuBuffer {
    const t = scalar(dtype);
    const out = alloc(size, dtype, `fill ${size}`);
    if (size === 0) return out;
    const bits = t === 'f32' ? f32Bits(value) : value | 0;
    dispatch(`fill:${t}`, () => k.fillKernel(t), [size, bits], [out.gpu], grid(Math.ceil(size / k.WG)));
    return out;
  }

  /** A view's data as a contiguous buffer and the element offset it starts at (no copy when already dense). */
  function dense(v: View): { buf: GpuBuffer; offset: number } {
    if (isContiguous(v.shape, v.strides)) return { buf: gb(v.buf), offset: v.offset };
    return { buf: backend.contiguous(v, v.dtype) as GpuBuffer, offset: 0 };
  }

  function reduceLike(op: ReduceOp | 'argmax', x: View, axes: readonly number[]): GpuBuffer {
    const t = scalar(x.dtype);
    const kept = x.shape.map((_, i) => i).filter((i) => !axes.includes(i));
    const outer = sizeOf(kept.map((i) => x.shape[i]!));
    const inner = sizeOf(axes.map((i) => x.shape[i]!));
    const outType: DType = op === 'argmax' ? 'int32' : x.dtype;
    if (inner === 0 && op !== 'argmax') return fill(outType, outer, op === 'sum' ? 0 : op === 'max' ? -Infinity : Infinity);
    if (op !== 'argmax' && axes.length === 1 && outer < 4096 && inner >= 4096) {
      const split = splitReduce(op, x, axes[0]!);
      if (split) return split;
    }
    const out = alloc(outer, outType, `${op} output`);
    if (outer === 0) return out;
    // Short rows: a thread per output; long rows: a workgroup per output with a tree reduction.
    const mode = inner <= 64 || (outer >= 4096 && inner <= 1024) ? 'thread' : 'group';
    const meta = [outer, inner, x.offset,
      ...kept.map((i) => x.shape[i]!), ...kept.map((i) => x.strides[i]!),
      ...axes.map((i) => x.shape[i]!), ...axes.map((i) => x.strides[i]!)];
    dispatch(`reduce:${op}:${t}:${kept.length}:${axes.length}:${mode}`, () => k.reduceKernel(op, t, kept.length, axes.length, mode),
      meta, [gb(x.buf).gpu, out.gpu], grid(mode === 'thread' ? Math.ceil(outer / k.WG) : outer));
    return out;
  }

  /**
   * A long reduction into few outputs (e.g. a bias gradient: 16384 rows into 256 columns) would leave most of the
   * GPU idle and, a workgroup per column, read memory with a large stride. Splitting the axis into chunks (a free
   * view) reduces each chunk in parallel, then the chunk results.
   */
  function splitReduce(op: ReduceOp, x: View, axis: number): GpuBuffer | null {
    const size = x.shape[axis]!;
    let chunks = 64;
    while (chunks > 1 && size % chunks !== 0) chunks /= 2;
    if (chunks === 1) return null;
    const shape = [...x.shape.slice(0, axis), chunks, size / chunks, ...x.shape.slice(axis + 1)];
    const strides = [...x.strides.slice(0, axis), x.strides[axis]! * (size / chunks), x.strides[axis]!, ...x.strides.slice(axis + 1)];
    const partial = reduceLike(op, { ...x, shape, strides }, [axis + 1]);
    const partialShape = [...x.shape.slice(0, axis), chunks, ...x.shape.slice(axis + 1)];
    const out = reduceLike(op, { buf: partial, dtype: x.dtype, shape: partialShape, strides: contiguousStrides(partialShape), offset: 0 }, [axis]);
    backend.free!(partial);
    return out;
  }

  const attentionStorage = device.limits.maxComputeWorkgroupStorageSize - 64; // less the forward's two flags
  /** The compiled variant for these head dims: the widest key tile that fits in workgroup memory. */
  function attentionShape(D: number, Dv: number, mask: boolean): k.AttentionShape {
    const tile = k.attentionTile(D, Dv, attentionStorage);
    if (tile === 0) {
      throw new Error(`webgpu attention: head dims q/k ${D} and v ${Dv} do not fit one row in workgroup memory (${device.limits.maxComputeWorkgroupStorageSize} bytes)`);
    }
    return { D, Dv, tile, mask };
  }
  /** The attention kernels' parameter block (layout in wgsl.ts); absent views are zeros. */
  function attentionMeta(q: View, kv: View, v: View, mask: View | null, dOut: View | null, causal: boolean, scale: number): number[] {
    const [B, H, Tq] = q.shape as [number, number, number];
    const Tk = kv.shape[2]!;
    const mayEmpty = mask !== null || (causal && Tq > Tk);
    const none = [0, 0, 0, 0, 0];
    return [B, H, Tq, Tk, f32Bits(scale), +causal, +mayEmpty, ...viewWords(q), ...viewWords(kv), ...viewWords(v),
      ...(mask ? viewWords(mask) : none), ...(dOut ? viewWords(dOut) : none)];
  }
  const attentionInputs = (q: View, kv: View, v: View, mask: View | null) => [q, kv, v, ...(mask ? [mask] : [])].map((x) => gb(x.buf).gpu);

  const backend: WebGPUBackend = {
    name: 'webgpu',
    device,
    info,

    upload(data, dtype) {
      const out = alloc(data.length, dtype, `upload ${data.length}`);
      if (data.length > 0) device.queue.writeBuffer(out.gpu, 0, data.buffer, data.byteOffset, data.byteLength);
      return out;
    },
    fill,
    random(dtype, size, kind, key, a, b) {
      const t = scalar(dtype);
      const out = alloc(size, dtype, `random ${size}`);
      if (size === 0) return out;
      dispatch(`random:${t}:${kind}`, () => k.randomKernel(t, kind), [size, key, f32Bits(a), f32Bits(b)], [out.gpu], grid(Math.ceil(size / k.WG)));
      return out;
    },

    async read(x) {
      const n = sizeOf(x.shape);
      const src = dense(x);
      const bytes = n * 4;
      const staging = device.createBuffer({ size: Math.max(4, bytes), usage: GPUBufferUsage.MAP_READ | GPUBufferUsage.COPY_DST });
      if (n > 0) enc().copyBufferToBuffer(src.buf.gpu, src.offset * 4, staging, 0, bytes);
      flush();
      try {
        await gpuWait(staging.mapAsync(GPUMapMode.READ));
        const failure = pool.failures.shift();
        if (failure) throw new DeviceMemoryError(failure);
        const error = errors.shift();
        if (error) throw new Error(`WebGPU: ${error}`);
        const copy = staging.getMappedRange(0, bytes).slice(0);
        staging.unmap();
        return x.dtype === 'float32' ? new Float32Array(copy) : new Int32Array(copy);
      } finally {
        staging.destroy();
      }
    },

    assign(dst, src) {
      // Read everything first when src shares dst's buffer (e.g. assigning a transpose of itself).
      const from = src.buf === dst.buf ? { ...src, buf: backend.contiguous(src, src.dtype), strides: contiguousStrides(src.shape), offset: 0 } : src;
      elementwise('assign', 'x0', [from], dst.shape, dst.dtype, dst);
    },
    free(buf) {
      const h = gb(buf);
      if (h.freed) return;
      h.freed = true;
      finalizer.unregister(h);
      pool.park(h.gpu);
    },

    contiguous(x, dtype) {
      const cast = x.dtype === dtype ? 'x0' : `${scalar(dtype)}(x0)`;
      return elementwise(`copy-${dtype}`, cast, [x], x.shape, dtype);
    },
    unary(op: UnaryOp, x) {
      return elementwise(`u-${op}`, k.unaryExpr(op, scalar(x.dtype), 'x0'), [x], x.shape, x.dtype);
    },
    binary(op: BinaryOp, a, b, shape) {
      return elementwise(`b-${op}`, k.binaryExpr(op, scalar(a.dtype), 'x0', 'x1'), [a, b], shape, a.dtype);
    },
    where(cond, a, b, shape) {
      const zero = scalar(cond.dtype) === 'f32' ? '0.0' : '0';
      return elementwise('where', `select(x2, x1, x0 != ${zero})`, [cond, a, b], shape, a.dtype);
    },
    reduce: (op, x, axes) => reduceLike(op, x, axes),
    argmax: (x, axis) => reduceLike('argmax', x, [axis]),

    matmul(a, b) {
      const [B, M, K] = a.shape as [number, number, number];
      const N = b.shape[2]!;
      scalar(a.dtype);
      if (K === 0 || B * M * N === 0) return fill(a.dtype, B * M * N, 0);
      const out = alloc(B * M * N, a.dtype, `matmul output [${B}, ${M}, ${N}]`);
      const aK = a.strides[2] === 1, bN = b.strides[2] === 1;
      const meta = [M, N, K, a.offset, a.strides[0]!, a.strides[1]!, a.strides[2]!, b.offset, b.strides[0]!, b.strides[1]!, b.strides[2]!];
      // Large tiles once there are enough of them to fill the device; small ones keep small products parallel.
      const { tm, bk } = M >= 512 && N >= 512 ? k.GEMM_LARGE : k.GEMM_SMALL;
      const tile = 16 * tm;
      dispatch(`matmul:${+aK}${+bN}:${tm}:${bk}`, () => k.matmulKernel(aK, bN, tm, bk), meta, [gb(a.buf).gpu, gb(b.buf).gpu, out.gpu],
        [Math.ceil(N / tile), Math.ceil(M / tile), B]);
      return out;
    },

    concat(xs, axis) {
      const shape = [...xs[0]!.shape];
      shape[axis] = xs.reduce((n, x) => n + x.shape[axis]!, 0);
      const out = alloc(sizeOf(shape), xs[0]!.dtype, `concat output ${fmt(shape)}`);
      const strides = contiguousStrides(shape);
      let start = 0;
      for (const x of xs) {
        elementwise('assign', 'x0', [x], x.shape, x.dtype, { buf: out, dtype: x.dtype, shape: x.shape, strides, offset: start * strides[axis]! });
        start += x.shape[axis]!;
      }
      return out;
    },

    gather(x, axis, index) {
      const t = scalar(x.dtype);
      const n = sizeOf(index.shape), R = index.shape.length;
      const out = alloc(n, x.dtype, `gather output ${fmt(index.shape)}`);
      if (n === 0) return out;
      const meta = [n, ...index.shape, ...viewWords(index), ...viewWords(x), axis, x.shape[axis]!];
      dispatch(`gather:${t}:${R}`, () => k.gatherKernel(t, R), meta, [gb(x.buf).gpu, gb(index.buf).gpu, out.gpu], grid(Math.ceil(n / k.WG)));
      return out;
    },
    scatterAdd(shape, axis, index, src) {
      const t = scalar(src.dtype);
      const size = sizeOf(shape), n = sizeOf(index.shape), R = index.shape.length;
      const out = alloc(size, src.dtype, `scatterAdd output ${fmt(shape)}`);
      enc().clearBuffer(out.gpu);
      if (n === 0) return out;
      const meta = [n, ...index.shape, ...viewWords(index), ...viewWords(src), ...contiguousStrides(shape), axis, shape[axis]!];
      dispatch(`scatterAdd:${t}:${R}`, () => k.scatterAddKernel(t, R), meta, [gb(index.buf).gpu, gb(src.buf).gpu, out.gpu], grid(Math.ceil(n / k.WG)));
      return out;
    },

    softmax(x, log) {
      const n = x.shape[x.shape.length - 1]!;
      const size = sizeOf(x.shape), rows = n === 0 ? 0 : size / n;
      const src = dense(x);
      const out = alloc(size, x.dtype, `softmax output ${fmt(x.shape)}`);
      if (rows === 0) return out;
      dispatch(`softmax:${+log}:${+sub}`, () => k.softmaxKernel(log, sub), [rows, n, src.offset], [src.buf.gpu, out.gpu], grid(rows));
      return out;
    },
    layerNorm(x, weight, bias, n, eps) {
      const size = sizeOf(x.shape), rows = n === 0 ? 0 : size / n;
      const src = dense(x), w = weight && dense(weight), b = bias && dense(bias);
      const y = alloc(size, x.dtype, `layerNorm output ${fmt(x.shape)}`);
      const mean = alloc(rows, x.dtype, 'layerNorm mean'), rstd = alloc(rows, x.dtype, 'layerNorm rstd');
      if (rows > 0) {
        const buffers = [src.buf.gpu, ...(w ? [w.buf.gpu] : []), ...(b ? [b.buf.gpu] : []), y.gpu, mean.gpu, rstd.gpu];
        dispatch(`layerNorm:${+!!w}${+!!b}:${+sub}`, () => k.layerNormKernel(!!w, !!b, sub),
          [rows, n, src.offset, f32Bits(eps), w?.offset ?? 0, b?.offset ?? 0], buffers, grid(rows));
      }
      return { y, mean, rstd };
    },
    layerNormBackward(g, x, weight, mean, rstd, n) {
      const size = sizeOf(x.shape), rows = n === 0 ? 0 : size / n;
      const gs = dense(g), xs = dense(x), w = weight && dense(weight);
      const dx = alloc(size, x.dtype, `layerNorm dx ${fmt(x.shape)}`);
      const dweight = alloc(n, x.dtype, 'layerNorm dweight'), dbias = alloc(n, x.dtype, 'layerNorm dbias');
      if (rows === 0) {
        enc().clearBuffer(dweight.gpu);
        enc().clearBuffer(dbias.gpu);
        return { dx, dweight, dbias };
      }
      const stats = [gb(mean).gpu, gb(rstd).gpu];
      dispatch(`layerNormDx:${+!!w}:${+sub}`, () => k.layerNormDxKernel(!!w, sub), [rows, n, gs.offset, xs.offset, w?.offset ?? 0],
        [gs.buf.gpu, xs.buf.gpu, ...(w ? [w.buf.gpu] : []), ...stats, dx.gpu], grid(rows));
      dispatch('layerNormDw', () => k.layerNormDwKernel(), [rows, n, gs.offset, xs.offset],
        [gs.buf.gpu, xs.buf.gpu, ...stats, dweight.gpu, dbias.gpu], [Math.ceil(n / 64), 1, 1]);
      return { dx, dweight, dbias };
    },
    crossEntropy(logits, target, ignoreIndex, smoothing) {
      const [rows, C] = logits.shape as [number, number];
      const x = dense(logits), t = dense(target);
      const loss = alloc(rows, logits.dtype, `crossEntropy loss [${rows}]`), lse = alloc(rows, logits.dtype, 'crossEntropy lse');
      if (rows > 0) {
        dispatch(`crossEntropy:${+sub}`, () => k.crossEntropyKernel(sub), [rows, C, x.offset, t.offset, ignoreIndex, f32Bits(smoothing)],
          [x.buf.gpu, t.buf.gpu, loss.gpu, lse.gpu], grid(rows));
      }
      return { loss, lse };
    },
    crossEntropyBackward(logits, target, lse, grad, ignoreIndex, smoothing) {
      const [rows, C] = logits.shape as [number, number];
      const x = dense(logits), t = dense(target), g = dense(grad);
      const dx = alloc(rows * C, logits.dtype, `crossEntropy dlogits [${rows}, ${C}]`);
      if (rows > 0) {
        dispatch('crossEntropyGrad', () => k.crossEntropyGradKernel(), [rows, C, x.offset, t.offset, g.offset, ignoreIndex, f32Bits(smoothing)],
          [x.buf.gpu, t.buf.gpu, gb(lse).gpu, g.buf.gpu, dx.gpu], grid(rows));
      }
      return dx;
    },
    adamw(param, grad, m, v, size, o: AdamWStep) {
      if (size === 0) return;
      const g = dense(grad);
      // The coefficients in double precision, as the CPU kernels take them: 1 - beta2 computed in float32 from a
      // rounded beta2 (0.999) is off by 1.3e-5, which made every update 6e-6 too large.
      const bc1 = 1 - Math.pow(o.beta1, o.step), bc2 = 1 - Math.pow(o.beta2, o.step);
      const coefficients = [1 - o.lr * o.weightDecay, o.beta1, 1 - o.beta1, o.beta2, 1 - o.beta2, o.lr / bc1, 1 / bc2, o.eps];
      const meta = [size, g.offset, ...coefficients.map(f32Bits)];
      dispatch('adamw', () => k.adamwKernel(), meta, [g.buf.gpu, gb(param).gpu, gb(m).gpu, gb(v).gpu], grid(Math.ceil(size / k.WG)));
    },

    attention(q, kv, v, mask, causal, scale) {
      const [B, H, Tq, D] = q.shape as [number, number, number, number];
      const Tk = kv.shape[2]!, Dv = v.shape[3]!;
      const out = alloc(B * Tq * H * Dv, 'float32', `attention output [${B}, ${Tq}, ${H}, ${Dv}]`);
      const stats = alloc(2 * B * H * Tq, 'float32', `attention row statistics [2, ${B}, ${H}, ${Tq}]`);
      const saved: AttentionSaved = { out, stats };
      if (B * H * Tq * Dv === 0) return { out, saved };
      // No keys: the composite's softmax over an empty row times an empty V is zeros.
      if (Tk === 0) {
        enc().clearBuffer(out.gpu);
        return { out, saved };
      }
      const shape = attentionShape(D, Dv, mask !== null);
      const meta = attentionMeta(q, kv, v, mask, null, causal, scale);
      dispatch(`attention:${shape.D}:${shape.Dv}:${shape.tile}:${+shape.mask}`, () => k.attentionForwardKernel(shape), meta,
        [...attentionInputs(q, kv, v, mask), out.gpu, stats.gpu], grid(B * H * Math.ceil(Tq / k.ATT_ROWS)));
      return { out, saved };
    },
    attentionBackward(dOut, q, kv, v, mask, causal, saved, scale) {
      const [B, H, Tq, D] = q.shape as [number, number, number, number];
      const Tk = kv.shape[2]!, Dv = v.shape[3]!;
      const { out, stats } = saved as AttentionSaved;
      const dq = alloc(B * Tq * H * D, 'float32', `attention dq [${B}, ${Tq}, ${H}, ${D}]`);
      const dk = alloc(B * Tk * H * D, 'float32', `attention dk [${B}, ${Tk}, ${H}, ${D}]`);
      const dv = alloc(B * Tk * H * Dv, 'float32', `attention dv [${B}, ${Tk}, ${H}, ${Dv}]`);
      // No keys, or an empty V (whose forward wrote no statistics): every gradient is zero or empty.
      if (B * H * Tq === 0 || Tk === 0 || Dv === 0) {
        for (const g of [dq, dk, dv]) enc().clearBuffer(g.gpu);
        return { dq, dk, dv };
      }
      const shape = attentionShape(D, Dv, mask !== null);
      const meta = attentionMeta(q, kv, v, mask, dOut, causal, scale);
      const inputs = [...attentionInputs(q, kv, v, mask), gb(dOut.buf).gpu, stats.gpu];
      const rows = B * H * Tq;
      const name = `${shape.D}:${shape.Dv}:${shape.tile}:${+shape.mask}`;
      dispatch(`attentionRowDot:${Dv}`, () => k.attentionRowDotKernel(Dv), meta, [out.gpu, gb(dOut.buf).gpu, stats.gpu], grid(Math.ceil(rows / k.WG)));
      dispatch(`attentionDkDv:${name}`, () => k.attentionDkDvKernel(shape), meta, [...inputs, dk.gpu, dv.gpu], grid(B * H * Math.ceil(Tk / k.ATT_ROWS)));
      dispatch(`attentionDq:${name}`, () => k.attentionDqKernel(shape), meta, [...inputs, dq.gpu], grid(B * H * Math.ceil(Tq / k.ATT_ROWS)));
      return { dq, dk, dv };
    },

    conv2d(x, weight, bias, w, groups) {
      const [N, C, H, W] = x.shape as [number, number, number, number];
      const [O, Cg] = weight.shape as [number, number];
      const total = N * O * w.out[0] * w.out[1];
      const out = alloc(total, x.dtype, `conv2d output [${N}, ${O}, ${w.out.join(', ')}]`);
      if (total === 0) return out;
      const xs = dense(x), ws = dense(weight), bs = bias && dense(bias);
      dispatch(`conv2d:${+!!bs}`, () => img.conv2dKernel(!!bs), [total, 0, ...geometry(N, C, H, W, w), O, Cg, O / groups, xs.offset, ws.offset, bs?.offset ?? 0],
        [xs.buf.gpu, ws.buf.gpu, ...(bs ? [bs.buf.gpu] : []), out.gpu], grid(Math.ceil(total / k.WG)));
      return out;
    },
    conv2dBackward(g, x, weight, w, groups, needs) {
      const [N, C, H, W] = x.shape as [number, number, number, number];
      const [O, Cg, kh, kw] = weight.shape as [number, number, number, number];
      const geo = geometry(N, C, H, W, w), P = N * w.out[0] * w.out[1];
      const gs = dense(g), xs = dense(x), ws = dense(weight);
      let dx: GpuBuffer | null = null, dweight: GpuBuffer | null = null, dbias: GpuBuffer | null = null;
      if (needs.input) {
        dx = alloc(N * C * H * W, x.dtype, `conv2d dx ${fmt(x.shape)}`);
        if (N * C * H * W > 0) {
          dispatch('conv2dDx', () => img.conv2dDxKernel(), [N * C * H * W, 0, ...geo, O, Cg, O / groups, gs.offset, ws.offset],
            [gs.buf.gpu, ws.buf.gpu, dx.gpu], grid(Math.ceil((N * C * H * W) / k.WG)));
        }
      }
      if (needs.weight) {
        dweight = alloc(O * Cg * kh * kw, x.dtype, `conv2d dweight ${fmt(weight.shape)}`);
        dispatch(`conv2dDw:${+sub}`, () => img.conv2dDwKernel(sub), [O * Cg * kh * kw, P, ...geo, O, Cg, O / groups, gs.offset, xs.offset],
          [gs.buf.gpu, xs.buf.gpu, dweight.gpu], grid(O * Cg * kh * kw));
      }
      if (needs.bias) {
        dbias = alloc(O, x.dtype, `conv2d dbias [${O}]`);
        dispatch(`conv2dDb:${+sub}`, () => img.conv2dDbKernel(sub), [O, P, ...geo, O, gs.offset], [gs.buf.gpu, dbias.gpu], grid(O));
      }
      return { dx, dweight, dbias };
    },
    pool2d(kind, x, w) {
      const [N, C, H, W] = x.shape as [number, number, number, number];
      const total = N * C * w.out[0] * w.out[1];
      const y = alloc(total, x.dtype, `${kind}Pool2d output`), argmax = kind === 'max' ? alloc(total, 'int32', 'maxPool2d argmax') : null;
      if (total === 0) return { y, argmax };
      const xs = dense(x);
      dispatch(`pool2d:${kind}`, () => img.pool2dKernel(kind), [total, 0, ...geometry(N * C, 1, H, W, w), xs.offset],
        [xs.buf.gpu, y.gpu, ...(argmax ? [argmax.gpu] : [])], grid(Math.ceil(total / k.WG)));
      return { y, argmax };
    },
    pool2dBackward(kind, g, inputShape, w, argmax) {
      const [N, C, H, W] = inputShape as [number, number, number, number];
      const total = N * C * H * W;
      const dx = alloc(total, g.dtype, `${kind}Pool2d dx ${fmt(inputShape)}`);
      if (total === 0) return dx;
      const gs = dense(g);
      dispatch(`pool2dDx:${kind}`, () => img.pool2dDxKernel(kind), [total, 0, ...geometry(N * C, 1, H, W, w), gs.offset],
        [gs.buf.gpu, ...(argmax ? [gb(argmax).gpu] : []), dx.gpu], grid(Math.ceil(total / k.WG)));
      return dx;
    },
    batchNorm(x, weight, bias, eps) {
      const [N, C, L] = x.shape as [number, number, number];
      const xs = dense(x), ws = weight && dense(weight), bs = bias && dense(bias);
      const y = alloc(N * C * L, x.dtype, `batchNorm output ${fmt(x.shape)}`);
      const mean = alloc(C, x.dtype, 'batchNorm mean'), variance = alloc(C, x.dtype, 'batchNorm var');
      if (N * C * L === 0) return { y, mean, var: variance };
      dispatch(`batchNormStats:${+sub}`, () => img.batchNormStatsKernel(sub), [C, N * L, N, C, L, xs.offset], [xs.buf.gpu, mean.gpu, variance.gpu], grid(C));
      dispatch(`batchNormApply:${+!!ws}${+!!bs}`, () => img.batchNormApplyKernel(!!ws, !!bs), [N * C * L, 0, N, C, L, xs.offset, f32Bits(eps), ws?.offset ?? 0, bs?.offset ?? 0],
        [xs.buf.gpu, mean.gpu, variance.gpu, ...(ws ? [ws.buf.gpu] : []), ...(bs ? [bs.buf.gpu] : []), y.gpu], grid(Math.ceil((N * C * L) / k.WG)));
      return { y, mean, var: variance };
    },
    batchNormBackward(g, x, weight, mean, variance, eps) {
      const [N, C, L] = x.shape as [number, number, number];
      const gs = dense(g), xs = dense(x), ws = weight && dense(weight);
      const dx = alloc(N * C * L, x.dtype, `batchNorm dx ${fmt(x.shape)}`);
      const dweight = alloc(C, x.dtype, 'batchNorm dweight'), dbias = alloc(C, x.dtype, 'batchNorm dbias');
      if (N * C * L === 0) {
        for (const b of [dweight, dbias]) enc().clearBuffer(b.gpu);
        return { dx, dweight, dbias };
      }
      const stats = [gb(mean).gpu, gb(variance).gpu];
      dispatch(`batchNormSums:${+sub}`, () => img.batchNormSumsKernel(sub), [C, N * L, N, C, L, gs.offset, xs.offset, f32Bits(eps)],
        [gs.buf.gpu, xs.buf.gpu, ...stats, dweight.gpu, dbias.gpu], grid(C));
      dispatch(`batchNormDx:${+!!ws}`, () => img.batchNormDxKernel(!!ws), [N * C * L, 0, N, C, L, gs.offset, xs.offset, f32Bits(eps), ws?.offset ?? 0],
        [gs.buf.gpu, xs.buf.gpu, ...stats, dweight.gpu, dbias.gpu, ...(ws ? [ws.buf.gpu] : []), dx.gpu], grid(Math.ceil((N * C * L) / k.WG)));
      return { dx, dweight, dbias };
    },

    async sync() {
      flush();
      await gpuWait(device.queue.onSubmittedWorkDone());
    },
    memory: () => ({ liveBytes: pool.liveBytes, pooledBytes: pool.pooledBytes, parkedBytes: pool.parkedBytes }),
    counters: () => ({ ...counts, cachedLeadGroups: leads.size }),
  };
  return backend;
}

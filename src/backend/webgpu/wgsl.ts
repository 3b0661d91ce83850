// WGSL generators for every kernel: a shared prelude (parameter block, strided index decoding, math helpers, the
// counter-based RNG) plus one generator per kernel family. The backend caches compiled pipelines by a key that
// names everything a generator's output depends on; sizes, strides and offsets travel in the parameter block.
//
// Parameter block: binding 0 is `prm: array<u32>`. A view of rank R is described there by its shape (R words),
// offset (1 word) and strides (R words, as i32 bits), so one compiled kernel serves every view of that rank.
import type { BinaryOp, ReduceOp, UnaryOp } from '../backend.js';

/** The WGSL scalar types a tensor maps to (WGSL has no f64). */
export type Scalar = 'f32' | 'i32';

/** Threads per workgroup for one-dimensional kernels. */
export const WG = 256;

/** The declarations every kernel starts with (wgsl-image.ts's too). */
export const PRELUDE = /* wgsl */ `
@group(0) @binding(0) var<storage, read> prm: array<u32>;
fn mi(i: u32) -> i32 { return bitcast<i32>(prm[i]); }
fn mf(i: u32) -> f32 { return bitcast<f32>(prm[i]); }
// Buffer offset of row-major element i of a view: shape at prm[sh..sh+rank), strides at prm[st..st+rank).
fn decode(i: u32, rank: u32, sh: u32, st: u32, base: i32) -> u32 {
  var rem = i;
  var off = base;
  for (var d = i32(rank) - 1; d >= 0; d--) {
    let s = prm[sh + u32(d)];
    off += i32(rem % s) * mi(st + u32(d));
    rem = rem / s;
  }
  return u32(off);
}
// Workgroups beyond 65535 spill into y, so one dimension of ids is (y * countX + x).
fn groupId(wid: vec3<u32>, nwg: vec3<u32>) -> u32 { return wid.y * nwg.x + wid.x; }
// Through a var: WGSL rejects non-finite values in constant expressions.
fn fromBits(b: u32) -> f32 { var v = b; return bitcast<f32>(v); }
fn negInf() -> f32 { return fromBits(0xff800000u); }
fn posInf() -> f32 { return fromBits(0x7f800000u); }
fn nan() -> f32 { return fromBits(0x7fc00000u); }
// Abramowitz & Stegun 7.1.26: |error| < 1.5e-7, below float32 resolution of the GELU it feeds.
fn erf_(x: f32) -> f32 {
  let a = abs(x);
  let t = 1.0 / (1.0 + 0.3275911 * a);
  let y = 1.0 - (((((1.061405429 * t - 1.453152027) * t) + 1.421413741) * t - 0.284496736) * t + 0.254829592) * t * exp(-a * a);
  return select(-y, y, x >= 0.0);
}
// Clamped: some drivers evaluate tanh through exp and return NaN for large |x|.
fn tanh_(x: f32) -> f32 { return tanh(clamp(x, -20.0, 20.0)); }
fn sigmoid_(x: f32) -> f32 {
  if (x >= 0.0) { return 1.0 / (1.0 + exp(-x)); }
  let e = exp(x);
  return e / (1.0 + e);
}
// WGSL's pow is undefined for a negative base; JavaScript's Math.pow is defined for integral exponents.
fn pow_(a: f32, b: f32) -> f32 {
  if (b == 0.0) { return 1.0; }
  if (a >= 0.0) { return pow(a, b); }
  if (floor(b) != b) { return nan(); }
  let r = pow(-a, b);
  return select(r, -r, abs(b) % 2.0 == 1.0);
}
// tensor/random.ts's hash32, in the same u32 arithmetic, so every backend draws identical bits.
fn hash32(key: u32, counter: u32) -> u32 {
  var h = key ^ (counter * 0x9e3779b9u);
  h ^= h >> 16u; h *= 0x85ebca6bu;
  h ^= h >> 13u; h *= 0xc2b2ae35u;
  h ^= h >> 16u;
  h += key;
  h ^= h >> 15u; h *= 0x2c1b3c6du;
  h ^= h >> 12u; h *= 0x297a2d39u;
  h ^= h >> 15u;
  return h;
}
`;

const SQRT_2_OVER_PI = '0.7978845608028654';
const f32Unary: Record<UnaryOp, (x: string) => string> = {
  neg: (x) => `-${x}`,
  exp: (x) => `exp(${x})`,
  log: (x) => `log(${x})`,
  sqrt: (x) => `sqrt(${x})`,
  abs: (x) => `abs(${x})`,
  sign: (x) => `sign(${x})`,
  tanh: (x) => `tanh_(${x})`,
  sigmoid: (x) => `sigmoid_(${x})`,
  relu: (x) => `select(0.0, ${x}, ${x} > 0.0)`,
  gelu: (x) => `(0.5 * ${x} * (1.0 + erf_(${x} * 0.7071067811865476)))`,
  gelu_tanh: (x) => `(0.5 * ${x} * (1.0 + tanh_(${SQRT_2_OVER_PI} * (${x} + 0.044715 * ${x} * ${x} * ${x}))))`,
  gelu_grad: (x) => `(0.5 * (1.0 + erf_(${x} * 0.7071067811865476)) + ${x} * exp(-0.5 * ${x} * ${x}) * 0.3989422804014327)`,
  gelu_tanh_grad: (x) => `geluTanhGrad(${x})`,
  erf: (x) => `erf_(${x})`,
  reciprocal: (x) => `(1.0 / ${x})`,
  square: (x) => `(${x} * ${x})`,
  floor: (x) => `floor(${x})`,
};
const GELU_TANH_GRAD = `
fn geluTanhGrad(x: f32) -> f32 {
  let t = tanh_(${SQRT_2_OVER_PI} * (x + 0.044715 * x * x * x));
  return 0.5 * (1.0 + t) + 0.5 * x * (1.0 - t * t) * ${SQRT_2_OVER_PI} * (1.0 + 3.0 * 0.044715 * x * x);
}`;

/** The expression for `op` applied to `x` of type `t` (integer math where it is exact, float math converted back). */
export function unaryExpr(op: UnaryOp, t: Scalar, x: string): string {
  if (t === 'f32') return f32Unary[op](x);
  if (op === 'neg' || op === 'abs' || op === 'sign') return f32Unary[op](x);
  if (op === 'square') return `(${x} * ${x})`;
  return `i32(${f32Unary[op](`f32(${x})`)})`;
}

/** The expression for `op` on `a` and `b` of type `t`; comparisons give 1 or 0 in `t`. */
export function binaryExpr(op: BinaryOp, t: Scalar, a: string, b: string): string {
  const [one, zero] = t === 'f32' ? ['1.0', '0.0'] : ['1', '0'];
  const cmp = (o: string) => `select(${zero}, ${one}, ${a} ${o} ${b})`;
  switch (op) {
    case 'add': return `(${a} + ${b})`;
    case 'sub': return `(${a} - ${b})`;
    case 'mul': return `(${a} * ${b})`;
    // Integer division truncates like the reference's Math.trunc; x / 0 stores 0, as Int32Array does with ±Inf.
    case 'div': return t === 'f32' ? `(${a} / ${b})` : `select(${a} / ${b}, 0, ${b} == 0)`;
    case 'pow': return t === 'f32' ? `pow_(${a}, ${b})` : `i32(pow_(f32(${a}), f32(${b})))`;
    // NaN wins, as in the reference (WGSL's max/min leave NaN handling to the driver).
    case 'maximum': return t === 'f32' ? `select(${b}, ${a}, ${a} >= ${b} || ${a} != ${a})` : `max(${a}, ${b})`;
    case 'minimum': return t === 'f32' ? `select(${b}, ${a}, ${a} <= ${b} || ${a} != ${a})` : `min(${a}, ${b})`;
    case 'eq': return cmp('==');
    case 'ne': return cmp('!=');
    case 'lt': return cmp('<');
    case 'le': return cmp('<=');
    case 'gt': return cmp('>');
    case 'ge': return cmp('>=');
  }
}

/** One input or the output of an elementwise kernel. */
export interface Operand { type: Scalar; contiguous: boolean }

/**
 * out[i] = expr(x0, x1, ...) over strided inputs. meta: n, shape (R), then for the output and each input its
 * offset and strides (R+1 words each). A strided output writes into an existing view (assign, concat).
 */
export function elementwiseKernel(rank: number, inputs: Operand[], out: Operand, expr: string): string {
  const view = (k: number) => 1 + rank + k * (rank + 1); // k = 0 is the output, k = 1.. the inputs
  const index = (o: Operand, k: number) =>
    o.contiguous ? `u32(mi(${view(k)}) + i32(i))` : `decode(i, ${rank}u, 1u, ${view(k) + 1}u, mi(${view(k)}))`;
  const decls = inputs.map((o, k) => `@group(0) @binding(${k + 1}) var<storage, read> in${k}: array<${o.type}>;`);
  const loads = inputs.map((o, k) => `  let x${k} = in${k}[${index(o, k + 1)}];`);
  return `${PRELUDE}${GELU_TANH_GRAD}
${decls.join('\n')}
@group(0) @binding(${inputs.length + 1}) var<storage, read_write> out: array<${out.type}>;
@compute @workgroup_size(${WG})
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
  let i = groupId(wid, nwg) * ${WG}u + lid;
  if (i >= prm[0]) { return; }
${loads.join('\n')}
  out[${index(out, 0)}] = ${expr};
}`;
}

const reduceInit = (op: ReduceOp, t: Scalar) =>
  op === 'sum' ? (t === 'f32' ? '0.0' : '0') : t === 'f32' ? (op === 'max' ? 'negInf()' : 'posInf()') : op === 'max' ? '-2147483647 - 1' : '2147483647';
const reduceStep = (op: ReduceOp, acc: string, v: string) =>
  op === 'sum' ? `${acc} + ${v}` : `select(${acc}, ${v}, ${v} ${op === 'max' ? '>' : '<'} ${acc} || ${v} != ${v})`;

/**
 * Reductions and argmax: the kept axes (rank RO) index outputs, the reduced ones (rank RI) are walked per output.
 * meta: outer, inner, offset, outer shape (RO), outer strides (RO), inner shape (RI), inner strides (RI).
 * 'group' gives each output a workgroup and a tree reduction (long rows); 'thread' one thread (short rows).
 */
export function reduceKernel(op: ReduceOp | 'argmax', t: Scalar, ro: number, ri: number, mode: 'group' | 'thread'): string {
  const outerAt = 3, innerAt = 3 + 2 * ro;
  const base = `decode(o, ${ro}u, ${outerAt}u, ${outerAt + ro}u, mi(2u))`;
  const elem = `x[decode(r, ${ri}u, ${innerAt}u, ${innerAt + ri}u, i32(base))]`;
  const arg = op === 'argmax';
  const outType = arg ? 'i32' : t;
  const init = reduceInit(arg ? 'max' : op, t);
  // argmax keeps the first maximum: strictly greater replaces, and equal values prefer the lower index.
  const local = arg
    ? `if (v > acc) { acc = v; at = r; }`
    : `acc = ${reduceStep(op, 'acc', 'v')};`;
  const head = `${PRELUDE}
@group(0) @binding(1) var<storage, read> x: array<${t}>;
@group(0) @binding(2) var<storage, read_write> out: array<${outType}>;`;
  if (mode === 'thread') {
    return `${head}
@compute @workgroup_size(${WG})
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
  let o = groupId(wid, nwg) * ${WG}u + lid;
  if (o >= prm[0]) { return; }
  let base = ${base};
  var acc: ${t} = ${init};
  var at = 0u;
  for (var r = 0u; r < prm[1]; r++) {
    let v = ${elem};
    ${local}
  }
  out[o] = ${arg ? 'i32(at)' : 'acc'};
}`;
  }
  const combine = arg
    ? `let bv = vals[lid + s]; let bi = idxs[lid + s];
      if (bv > vals[lid] || (bv == vals[lid] && bi < idxs[lid])) { vals[lid] = bv; idxs[lid] = bi; }`
    : `vals[lid] = ${reduceStep(op, 'vals[lid]', 'vals[lid + s]')};`;
  return `${head}
var<workgroup> vals: array<${t}, ${WG}>;
var<workgroup> idxs: array<u32, ${WG}>;
@compute @workgroup_size(${WG})
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
  let o = groupId(wid, nwg);
  if (o >= prm[0]) { return; }
  let base = ${base};
  var acc: ${t} = ${init};
  var at = 0xffffffffu;
  for (var r = lid; r < prm[1]; r += ${WG}u) {
    let v = ${elem};
    ${local}
  }
  vals[lid] = acc;
  idxs[lid] = at;
  workgroupBarrier();
  for (var s = ${WG / 2}u; s > 0u; s >>= 1u) {
    if (lid < s) {
      ${combine}
    }
    workgroupBarrier();
  }
  if (lid == 0u) { out[o] = ${arg ? 'select(i32(idxs[0]), 0, idxs[0] == 0xffffffffu)' : 'vals[0]'}; }
}`;
}

/** GEMM variants: a 16x16-thread workgroup computes a (16·tm)² output tile, each thread a tm x tm block, K in steps of bk. */
export const GEMM_SMALL = { tm: 4, bk: 16 } as const;
export const GEMM_LARGE = { tm: 8, bk: 8 } as const;

/**
 * Batched GEMM with operands read through their strides, so transposes cost nothing. Tiles of A ((16·tm) x bk) and
 * B (bk x (16·tm)) are staged in workgroup memory as vec4 columns; each thread accumulates its tm x tm block in
 * vec4 registers with FMAs. `aK`/`bN`: whether A is contiguous along K and B along N, which picks the load order
 * that keeps neighbouring threads on neighbouring addresses.
 * meta: M, N, K, aOffset, aBatch, aM, aK, bOffset, bBatch, bK, bN.
 */
export function matmulKernel(aK: boolean, bN: boolean, tm: number, bk: number): string {
  const tile = 16 * tm, v = tm / 4, loads = (tile * bk) / 256;
  const fmas: string[] = [];
  for (let q = 0; q < v; q++) {
    for (let i = 0; i < 4; i++) {
      for (let c = 0; c < v; c++) fmas.push(`acc[${(q * 4 + i) * v + c}] = fma(vec4<f32>(a${q}.${'xyzw'[i]}), b${c}, acc[${(q * 4 + i) * v + c}]);`);
    }
  }
  const aLoads = Array.from({ length: v }, (_, q) => `let a${q} = As[k * ${tile / 4}u + tid.y * ${v}u + ${q}u];`).join(' ');
  const bLoads = Array.from({ length: v }, (_, q) => `let b${q} = Bs[k * ${tile / 4}u + tid.x * ${v}u + ${q}u];`).join(' ');
  return `${PRELUDE}
@group(0) @binding(1) var<storage, read> A: array<f32>;
@group(0) @binding(2) var<storage, read> B: array<f32>;
@group(0) @binding(3) var<storage, read_write> C: array<f32>;
var<workgroup> As: array<vec4<f32>, ${(bk * tile) / 4}>; // [k][m / 4]
var<workgroup> Bs: array<vec4<f32>, ${(bk * tile) / 4}>; // [k][n / 4]
@compute @workgroup_size(16, 16)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_id) tid: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
  let M = prm[0]; let N = prm[1]; let K = prm[2];
  let batch = i32(wid.z);
  let row0 = wid.y * ${tile}u; let col0 = wid.x * ${tile}u;
  let aBase = mi(3u) + batch * mi(4u); let sam = mi(5u); let sak = mi(6u);
  let bBase = mi(7u) + batch * mi(8u); let sbk = mi(9u); let sbn = mi(10u);
  var acc: array<vec4<f32>, ${tm * v}>;
  for (var k0 = 0u; k0 < K; k0 += ${bk}u) {
    for (var t = 0u; t < ${loads}u; t++) {
      let e = lid + 256u * t;
      let am = ${aK ? `e / ${bk}u` : `e % ${tile}u`}; let ak = ${aK ? `e % ${bk}u` : `e / ${tile}u`};
      let gm = row0 + am; let gak = k0 + ak;
      var av = 0.0;
      if (gm < M && gak < K) { av = A[u32(aBase + i32(gm) * sam + i32(gak) * sak)]; }
      As[ak * ${tile / 4}u + am / 4u][am % 4u] = av;
      let bn = ${bN ? `e % ${tile}u` : `e / ${bk}u`}; let bkk = ${bN ? `e / ${tile}u` : `e % ${bk}u`};
      let gn = col0 + bn; let gbk = k0 + bkk;
      var bv = 0.0;
      if (gn < N && gbk < K) { bv = B[u32(bBase + i32(gbk) * sbk + i32(gn) * sbn)]; }
      Bs[bkk * ${tile / 4}u + bn / 4u][bn % 4u] = bv;
    }
    workgroupBarrier();
    for (var k = 0u; k < ${bk}u; k++) {
      ${aLoads}
      ${bLoads}
      ${fmas.join('\n      ')}
    }
    workgroupBarrier();
  }
  let outBase = wid.z * M * N;
  for (var i = 0u; i < ${tm}u; i++) {
    let r = row0 + tid.y * ${tm}u + i;
    if (r >= M) { break; }
    for (var j = 0u; j < ${tm}u; j++) {
      let c = col0 + tid.x * ${tm}u + j;
      if (c < N) { C[outBase + r * N + c] = acc[i * ${v}u + j / 4u][j % 4u]; }
    }
  }
}`;
}

/**
 * torch.gather along an axis. meta: n, index shape (R), index offset, index strides (R), x offset, x strides (R),
 * axis, x's size along axis. An out-of-range index yields NaN (0 for int32): a kernel cannot throw.
 */
export function gatherKernel(t: Scalar, rank: number): string {
  const R = rank;
  return `${PRELUDE}
@group(0) @binding(1) var<storage, read> x: array<${t}>;
@group(0) @binding(2) var<storage, read> index: array<i32>;
@group(0) @binding(3) var<storage, read_write> out: array<${t}>;
@compute @workgroup_size(${WG})
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
  let i = groupId(wid, nwg) * ${WG}u + lid;
  if (i >= prm[0]) { return; }
  let axis = prm[${3 + 3 * R}u];
  var rem = i;
  var io = mi(${1 + R}u);
  var xo = mi(${2 + 2 * R}u);
  for (var d = ${R - 1}; d >= 0; d--) {
    let du = u32(d);
    let c = i32(rem % prm[1u + du]);
    rem = rem / prm[1u + du];
    io += c * mi(${2 + R}u + du);
    if (du != axis) { xo += c * mi(${3 + 2 * R}u + du); }
  }
  let j = index[io];
  if (j < 0 || j >= mi(${4 + 3 * R}u)) { out[i] = ${t === 'f32' ? 'nan()' : '0'}; return; }
  out[i] = x[xo + j * mi(${3 + 2 * R}u + axis)];
}`;
}

/**
 * zeros(shape).scatter_add_(axis, index, src) with atomics (a float add is a compare-exchange loop on the bits).
 * meta: n, index shape (R), index offset, index strides (R), src offset, src strides (R), out strides (R), axis,
 * out size along axis. Out-of-range indices are skipped.
 */
export function scatterAddKernel(t: Scalar, rank: number): string {
  const R = rank;
  const add = t === 'f32'
    ? `var old = atomicLoad(&out[oo]);
  loop {
    let r = atomicCompareExchangeWeak(&out[oo], old, bitcast<u32>(bitcast<f32>(old) + v));
    if (r.exchanged) { break; }
    old = r.old_value;
  }`
    : 'atomicAdd(&out[oo], v);';
  return `${PRELUDE}
@group(0) @binding(1) var<storage, read> index: array<i32>;
@group(0) @binding(2) var<storage, read> src: array<${t}>;
@group(0) @binding(3) var<storage, read_write> out: array<atomic<${t === 'f32' ? 'u32' : 'i32'}>>;
@compute @workgroup_size(${WG})
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
  let i = groupId(wid, nwg) * ${WG}u + lid;
  if (i >= prm[0]) { return; }
  let axis = prm[${3 + 4 * R}u];
  var rem = i;
  var io = mi(${1 + R}u);
  var so = mi(${2 + 2 * R}u);
  var oo = 0;
  for (var d = ${R - 1}; d >= 0; d--) {
    let du = u32(d);
    let c = i32(rem % prm[1u + du]);
    rem = rem / prm[1u + du];
    io += c * mi(${2 + R}u + du);
    so += c * mi(${3 + 2 * R}u + du);
    if (du != axis) { oo += c * mi(${3 + 3 * R}u + du); }
  }
  let j = index[io];
  if (j < 0 || j >= mi(${4 + 4 * R}u)) { return; }
  oo += j * mi(${3 + 3 * R}u + axis);
  let v = src[so];
  ${add}
}`;
}

/** Uniform or normal draws, bit-identical in their u32 hashing to tensor/random.ts. meta: n, key, a, b (f32). */
export function randomKernel(t: Scalar, kind: 'uniform' | 'normal'): string {
  const draw = kind === 'uniform'
    ? 'a + (b - a) * (f32(hash32(key, i) >> 8u) / 16777216.0)'
    : `a + b * sqrt(-2.0 * log((f32(hash32(key, 2u * i) >> 8u) + 1.0) / 16777217.0)) * cos(6.283185307179586 * (f32(hash32(key, 2u * i + 1u) >> 8u) / 16777216.0))`;
  return `${PRELUDE}
@group(0) @binding(1) var<storage, read_write> out: array<${t}>;
@compute @workgroup_size(${WG})
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
  let i = groupId(wid, nwg) * ${WG}u + lid;
  if (i >= prm[0]) { return; }
  let key = prm[1]; let a = mf(2u); let b = mf(3u);
  out[i] = ${t}(${draw});
}`;
}

/** A constant fill. meta: n, value bits. */
export function fillKernel(t: Scalar): string {
  return `${PRELUDE}
@group(0) @binding(1) var<storage, read_write> out: array<${t}>;
@compute @workgroup_size(${WG})
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
  let i = groupId(wid, nwg) * ${WG}u + lid;
  if (i >= prm[0]) { return; }
  out[i] = bitcast<${t}>(prm[1]);
}`;
}

// Workgroup-wide sum and max for row kernels; every thread gets the result. Callers keep control flow uniform.
// With subgroups, each subgroup reduces in registers and one value per subgroup goes through workgroup memory.
function rowReduce(subgroups: boolean): string {
  const fn = (name: string, sg: string, combine: (a: string, b: string) => string) => subgroups
    ? `
fn ${name}(v: f32, lid: u32) -> f32 {
  let s = ${sg}(v);
  if (sgi == 0u) { red[lid / sgs] = s; }
  workgroupBarrier();
  var r = red[0];
  for (var i = 1u; i < ${WG}u / sgs; i++) { r = ${combine('r', 'red[i]')}; }
  workgroupBarrier();
  return r;
}`
    : `
fn ${name}(v: f32, lid: u32) -> f32 {
  red[lid] = v;
  workgroupBarrier();
  for (var s = ${WG / 2}u; s > 0u; s >>= 1u) {
    if (lid < s) { red[lid] = ${combine('red[lid]', 'red[lid + s]')}; }
    workgroupBarrier();
  }
  let r = red[0];
  workgroupBarrier();
  return r;
}`;
  return `
var<workgroup> red: array<f32, ${WG}>;
var<private> sgi: u32;
var<private> sgs: u32;${fn('rowSum', 'subgroupAdd', (a, b) => `${a} + ${b}`)}${fn('rowMax', 'subgroupMax', (a, b) => `max(${a}, ${b})`)}`;
}

/** The opening of a row kernel (a workgroup per row), with the reduction helpers; `subgroups` needs the feature. */
export function rowKernel(subgroups: boolean, bindings: string): string {
  return `${subgroups ? 'enable subgroups;\n' : ''}${PRELUDE}${rowReduce(subgroups)}
${bindings}
@compute @workgroup_size(${WG})
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>, @builtin(local_invocation_index) lid: u32${
  subgroups ? ', @builtin(subgroup_invocation_id) sgi_: u32, @builtin(subgroup_size) sgs_: u32' : ''}) {
  ${subgroups ? 'sgi = sgi_; sgs = sgs_;' : ''}
  let row = groupId(wid, nwg);
  if (row >= prm[0]) { return; }
  let n = prm[1];`;
}

/** Softmax or log-softmax over rows of n, one workgroup per row. meta: rows, n, x offset. */
export function softmaxKernel(log: boolean, subgroups: boolean): string {
  return `${rowKernel(subgroups, `
@group(0) @binding(1) var<storage, read> x: array<f32>;
@group(0) @binding(2) var<storage, read_write> out: array<f32>;`)}
  let xo = u32(mi(2u)) + row * n;
  let o = row * n;
  var m = negInf();
  for (var j = lid; j < n; j += ${WG}u) { m = max(m, x[xo + j]); }
  m = rowMax(m, lid);
  var s = 0.0;
  for (var j = lid; j < n; j += ${WG}u) { s += exp(x[xo + j] - m); }
  s = rowSum(s, lid);
  ${log
    ? `let ls = log(s);
  for (var j = lid; j < n; j += ${WG}u) { out[o + j] = x[xo + j] - m - ls; }`
    : `let inv = 1.0 / s;
  for (var j = lid; j < n; j += ${WG}u) { out[o + j] = exp(x[xo + j] - m) * inv; }`}
}`;
}

/**
 * Layer norm forward, one workgroup per row, two-pass variance (as accurate as the reference's).
 * meta: rows, n, x offset, eps, weight offset, bias offset. Weight and bias bindings exist only when given.
 */
export function layerNormKernel(weight: boolean, bias: boolean, subgroups: boolean): string {
  let b = 2;
  const wDecl = weight ? `@group(0) @binding(${b++}) var<storage, read> w: array<f32>;` : '';
  const bDecl = bias ? `@group(0) @binding(${b++}) var<storage, read> bs: array<f32>;` : '';
  return `${rowKernel(subgroups, `
@group(0) @binding(1) var<storage, read> x: array<f32>;
${wDecl}
${bDecl}
@group(0) @binding(${b++}) var<storage, read_write> y: array<f32>;
@group(0) @binding(${b++}) var<storage, read_write> mean: array<f32>;
@group(0) @binding(${b++}) var<storage, read_write> rstd: array<f32>;`)}
  let xo = u32(mi(2u)) + row * n;
  var s = 0.0;
  for (var j = lid; j < n; j += ${WG}u) { s += x[xo + j]; }
  let mu = rowSum(s, lid) / f32(n);
  var v = 0.0;
  for (var j = lid; j < n; j += ${WG}u) { let d = x[xo + j] - mu; v += d * d; }
  let rs = 1.0 / sqrt(rowSum(v, lid) / f32(n) + mf(3u));
  for (var j = lid; j < n; j += ${WG}u) {
    y[row * n + j] = (x[xo + j] - mu) * rs${weight ? ' * w[u32(mi(4u)) + j]' : ''}${bias ? ' + bs[u32(mi(5u)) + j]' : ''};
  }
  if (lid == 0u) { mean[row] = mu; rstd[row] = rs; }
}`;
}

/** Layer norm backward for dx, one workgroup per row. meta: rows, n, g offset, x offset, weight offset. */
export function layerNormDxKernel(weight: boolean, subgroups: boolean): string {
  const gy = (j: string) => `g[go + ${j}]${weight ? ` * w[u32(mi(4u)) + ${j}]` : ''}`;
  return `${rowKernel(subgroups, `
@group(0) @binding(1) var<storage, read> g: array<f32>;
@group(0) @binding(2) var<storage, read> x: array<f32>;
${weight ? '@group(0) @binding(3) var<storage, read> w: array<f32>;' : ''}
@group(0) @binding(${weight ? 4 : 3}) var<storage, read> mean: array<f32>;
@group(0) @binding(${weight ? 5 : 4}) var<storage, read> rstd: array<f32>;
@group(0) @binding(${weight ? 6 : 5}) var<storage, read_write> dx: array<f32>;`)}
  let go = u32(mi(2u)) + row * n;
  let xo = u32(mi(3u)) + row * n;
  let mu = mean[row]; let rs = rstd[row];
  var sg = 0.0; var sgx = 0.0;
  for (var j = lid; j < n; j += ${WG}u) {
    let gy = ${gy('j')};
    sg += gy; sgx += gy * (x[xo + j] - mu) * rs;
  }
  let mg = rowSum(sg, lid) / f32(n);
  let mgx = rowSum(sgx, lid) / f32(n);
  for (var j = lid; j < n; j += ${WG}u) {
    let xhat = (x[xo + j] - mu) * rs;
    dx[row * n + j] = rs * (${gy('j')} - mg - xhat * mgx);
  }
}`;
}

/**
 * Layer norm backward for dweight and dbias: columns across a workgroup's x, row slices across its y, partial sums
 * folded in workgroup memory. meta: rows, n, g offset, x offset.
 */
export function layerNormDwKernel(): string {
  return `${PRELUDE}
@group(0) @binding(1) var<storage, read> g: array<f32>;
@group(0) @binding(2) var<storage, read> x: array<f32>;
@group(0) @binding(3) var<storage, read> mean: array<f32>;
@group(0) @binding(4) var<storage, read> rstd: array<f32>;
@group(0) @binding(5) var<storage, read_write> dw: array<f32>;
@group(0) @binding(6) var<storage, read_write> db: array<f32>;
var<workgroup> pw: array<f32, 256>;
var<workgroup> pb: array<f32, 256>;
@compute @workgroup_size(64, 4)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_id) tid: vec3<u32>) {
  let rows = prm[0]; let n = prm[1];
  let j = wid.x * 64u + tid.x;
  var sw = 0.0; var sb = 0.0;
  if (j < n) {
    for (var r = tid.y; r < rows; r += 4u) {
      let gv = g[u32(mi(2u)) + r * n + j];
      sw += gv * (x[u32(mi(3u)) + r * n + j] - mean[r]) * rstd[r];
      sb += gv;
    }
  }
  pw[tid.y * 64u + tid.x] = sw;
  pb[tid.y * 64u + tid.x] = sb;
  workgroupBarrier();
  if (tid.y == 0u && j < n) {
    dw[j] = pw[tid.x] + pw[64u + tid.x] + pw[128u + tid.x] + pw[192u + tid.x];
    db[j] = pb[tid.x] + pb[64u + tid.x] + pb[128u + tid.x] + pb[192u + tid.x];
  }
}`;
}

/**
 * One AdamW step in place (PyTorch's update order). meta: size, grad offset, then as f32: 1 - lr·wd, beta1, 1 - beta1,
 * beta2, 1 - beta2, lr / bc1, 1 / bc2, eps (computed in double on the host).
 */
export function adamwKernel(): string {
  return `${PRELUDE}
@group(0) @binding(1) var<storage, read> grad: array<f32>;
@group(0) @binding(2) var<storage, read_write> p: array<f32>;
@group(0) @binding(3) var<storage, read_write> m: array<f32>;
@group(0) @binding(4) var<storage, read_write> v: array<f32>;
@compute @workgroup_size(${WG})
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
  let i = groupId(wid, nwg) * ${WG}u + lid;
  if (i >= prm[0]) { return; }
  let gi = grad[u32(mi(1u)) + i];
  let mi_ = mf(3u) * m[i] + mf(4u) * gi;
  let vi = mf(5u) * v[i] + mf(6u) * gi * gi;
  m[i] = mi_;
  v[i] = vi;
  p[i] = p[i] * mf(2u) - mf(7u) * mi_ / (sqrt(vi * mf(8u)) + mf(9u));
}`;
}

/**
 * Cross-entropy rows of logits [rows, C] against int32 targets: loss (0 for ignored rows, NaN for an out-of-range
 * target) and log-sum-exp. meta: rows, C, x offset, target offset, ignoreIndex, smoothing.
 */
export function crossEntropyKernel(subgroups: boolean): string {
  return `${rowKernel(subgroups, `
@group(0) @binding(1) var<storage, read> x: array<f32>;
@group(0) @binding(2) var<storage, read> tgt: array<i32>;
@group(0) @binding(3) var<storage, read_write> loss: array<f32>;
@group(0) @binding(4) var<storage, read_write> lse: array<f32>;`)}
  let xo = u32(mi(2u)) + row * n;
  var m = negInf();
  var s = 0.0;
  for (var j = lid; j < n; j += ${WG}u) { m = max(m, x[xo + j]); s += x[xo + j]; }
  m = rowMax(m, lid);
  let mean = rowSum(s, lid) / f32(n);
  var e = 0.0;
  for (var j = lid; j < n; j += ${WG}u) { e += exp(x[xo + j] - m); }
  let l = m + log(rowSum(e, lid));
  if (lid == 0u) {
    lse[row] = l;
    let t = tgt[u32(mi(3u)) + row];
    let eps = mf(5u);
    if (t == mi(4u)) { loss[row] = 0.0; }
    else if (t < 0 || u32(t) >= n) { loss[row] = nan(); }
    else { loss[row] = (1.0 - eps) * (l - x[xo + u32(t)]) + eps * (l - mean); }
  }
}`;
}

/** d(loss)/d(logits) = g_row (softmax - smoothed one-hot). meta: rows, C, x offset, target offset, grad offset, ignoreIndex, smoothing. */
export function crossEntropyGradKernel(): string {
  return `${rowKernel(false, `
@group(0) @binding(1) var<storage, read> x: array<f32>;
@group(0) @binding(2) var<storage, read> tgt: array<i32>;
@group(0) @binding(3) var<storage, read> lse: array<f32>;
@group(0) @binding(4) var<storage, read> grad: array<f32>;
@group(0) @binding(5) var<storage, read_write> dx: array<f32>;`)}
  let xo = u32(mi(2u)) + row * n;
  let t = tgt[u32(mi(3u)) + row];
  let g = grad[u32(mi(4u)) + row];
  let ignored = t == mi(5u);
  let eps = mf(6u);
  let l = lse[row];
  for (var j = lid; j < n; j += ${WG}u) {
    let onehot = select(0.0, 1.0 - eps, i32(j) == t);
    dx[row * n + j] = select(g * (exp(x[xo + j] - l) - eps / f32(n) - onehot), 0.0, ignored);
  }
}`;
}

// ---- Fused attention (FlashAttention-2 structure) ----
//
// Parameter block shared by the four kernels: B, H, Tq, Tk, scale (f32 bits), causal, whether rows with every key
// hidden are possible, then five 4-D views as offset + 4 strides: q at 7, k at 12, v at 17, mask at 22, dO at 27
// (unused ones are zeros). Each thread owns one row (a query in the forward and dq passes, a key in the dk/dv pass)
// and keeps it and its accumulators in registers; the other side streams through workgroup memory in tiles, so the
// [Tq, Tk] score block never exists in memory.
//
// Per-row statistics `stats` [2, B·H·Tq] as u32 bits: the forward writes each query's log-sum-exp (in scaled-score
// units) to the first half, the backward's first pass rowsum(dO ⊙ O) to the second. A row with every key hidden
// stores ATT_EMPTY, a NaN pattern compared as bits (stored as u32 so no driver canonicalises it).

/** Rows (queries or keys) per workgroup of the attention kernels: one per thread. */
export const ATT_ROWS = 64;
const ATT_EMPTY = '0xffffffffu';

/** What a fused attention pipeline is compiled for: head dims, the tile of streamed rows, and whether a mask is bound. */
export interface AttentionShape { D: number; Dv: number; tile: number; mask: boolean }

/**
 * The largest power-of-two tile (≤ 32, so a tile's visibility fits one u32 bitmask) whose staged rows fit in
 * `storageBytes` of workgroup memory; 0 when not even one row fits.
 */
export function attentionTile(D: number, Dv: number, storageBytes: number): number {
  const bytes = (tile: number) => tile * (D + Dv + 2) * 4; // K and V rows (or Q and dO rows and two statistics)
  let tile = 32;
  while (tile > 1 && bytes(tile) > storageBytes) tile /= 2;
  return bytes(tile) <= storageBytes ? tile : 0;
}

function attentionPrelude(s: AttentionShape, bindings: string): string {
  return `${PRELUDE}
const D = ${s.D}u;
const DV = ${s.Dv}u;
// Array lengths (WGSL has no empty arrays; a head dim of 0 leaves them unused).
const DA = ${Math.max(1, s.D)}u;
const DVA = ${Math.max(1, s.Dv)}u;
const TILE = ${s.tile}u;
const ROWS = ${ATT_ROWS}u;
@group(0) @binding(1) var<storage, read> q: array<f32>;
@group(0) @binding(2) var<storage, read> k: array<f32>;
@group(0) @binding(3) var<storage, read> v: array<f32>;
${s.mask ? '@group(0) @binding(4) var<storage, read> mask: array<f32>;' : ''}
${bindings.replace(/@binding\((\d+)\)/g, (_, n: string) => `@binding(${Number(n) + (s.mask ? 1 : 0)})`)}
// Element [b, h, i, c] of the 4-D view whose offset and strides start at prm[p].
fn at(p: u32, b: u32, h: u32, i: u32, c: u32) -> u32 {
  return u32(mi(p) + i32(b) * mi(p + 1u) + i32(h) * mi(p + 2u) + i32(i) * mi(p + 3u) + i32(c) * mi(p + 4u));
}
// Whether query i sees key j: causal hides j > i + Tk - Tq (queries aligned to the last keys), the mask hides zeros.
fn shown(b: u32, h: u32, i: u32, j: u32) -> bool {
  if (j >= prm[3]) { return false; }
  if (prm[5] != 0u && j + prm[2] > i + prm[3]) { return false; }
  ${s.mask ? 'if (mask[at(22u, b, h, i, j)] == 0.0) { return false; }' : ''}
  return true;
}
// The keys [0, end) that some query of the tile starting at i0 can see (all of them unless causal).
fn keyEnd(i0: u32) -> u32 {
  if (prm[5] == 0u) { return prm[3]; }
  return u32(clamp(i32(i0 + ROWS) + i32(prm[3]) - i32(prm[2]), 0, i32(prm[3])));
}
// Staged rows: keys and values in the forward and dq passes, queries and output gradients in the dk/dv pass.
var<workgroup> ks: array<f32, TILE * DA>;
var<workgroup> vs: array<f32, TILE * DVA>;
// Stages keys [j0, j0 + TILE) of k and v (zeros past Tk).
fn loadKeys(b: u32, h: u32, j0: u32, lid: u32) {
  for (var e = lid; e < TILE * D; e += ROWS) {
    let j = j0 + e / D;
    ks[e] = select(0.0, k[at(12u, b, h, min(j, prm[3] - 1u), e % D)], j < prm[3]);
  }
  for (var e = lid; e < TILE * DV; e += ROWS) {
    let j = j0 + e / DV;
    vs[e] = select(0.0, v[at(17u, b, h, min(j, prm[3] - 1u), e % DV)], j < prm[3]);
  }
}
// The first query tile and row of this workgroup, spilling ids past 65535 into y.
fn rowTile(wid: vec3<u32>, nwg: vec3<u32>, rows: u32) -> vec2<u32> {
  let tiles = (rows + ROWS - 1u) / ROWS;
  let id = groupId(wid, nwg);
  return vec2<u32>(id / tiles, (id % tiles) * ROWS);
}`;
}

/**
 * Forward: a workgroup per (batch, head, 64 queries); each thread streams the key tiles with a running max and
 * sum (online softmax), rescaling its output accumulator once per tile. Writes out [B, Tq, H, Dv] and the
 * log-sum-exps. A row whose keys are all hidden gets uniform weights over all Tk keys (the composite's softmax of
 * equal MASK_VALUE scores); that second pass over V runs only in workgroups that have such a row.
 */
export function attentionForwardKernel(s: AttentionShape): string {
  return `${attentionPrelude(s, `
@group(0) @binding(4) var<storage, read_write> out: array<f32>;
@group(0) @binding(5) var<storage, read_write> stats: array<u32>;`)}
var<workgroup> emptyRows: atomic<u32>;
var<workgroup> anyEmpty: u32;
@compute @workgroup_size(${ATT_ROWS})
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
  let H = prm[1]; let Tq = prm[2]; let Tk = prm[3]; let scale = mf(4u);
  let bt = rowTile(wid, nwg, Tq);
  let bh = bt.x; let b = bh / H; let h = bh % H;
  let i0 = bt.y;
  let i = i0 + lid;
  let live = i < Tq;
  let ii = min(i, Tq - 1u); // threads past Tq compute on the last row and write nothing
  var qr: array<f32, DA>;
  for (var c = 0u; c < D; c++) { qr[c] = q[at(7u, b, h, ii, c)]; }
  var acc: array<f32, DVA>;
  var m = -3.4028234663852886e38;
  var l = 0.0;
  let end = keyEnd(i0);
  for (var j0 = 0u; j0 < end; j0 += TILE) {
    workgroupBarrier();
    loadKeys(b, h, j0, lid);
    workgroupBarrier();
    var sc: array<f32, TILE>;
    var seen = 0u;
    var mt = m;
    for (var t = 0u; t < TILE; t++) {
      var dot = 0.0;
      for (var c = 0u; c < D; c++) { dot = fma(qr[c], ks[t * D + c], dot); }
      sc[t] = dot * scale;
      if (shown(b, h, ii, j0 + t)) { seen |= 1u << t; mt = max(mt, sc[t]); }
    }
    if (seen != 0u) {
      // Before the first visible key l and acc are 0, so the factor only matters once m is a real score.
      let alpha = select(exp(m - mt), 0.0, l == 0.0);
      l *= alpha;
      for (var c = 0u; c < DV; c++) { acc[c] *= alpha; }
      for (var t = 0u; t < TILE; t++) {
        let p = select(0.0, exp(sc[t] - mt), (seen & (1u << t)) != 0u);
        l += p;
        for (var c = 0u; c < DV; c++) { acc[c] = fma(p, vs[t * DV + c], acc[c]); }
      }
      m = mt;
    }
  }
  let empty = live && l == 0.0;
  if (empty) { atomicOr(&emptyRows, 1u); }
  workgroupBarrier();
  if (lid == 0u) { anyEmpty = atomicLoad(&emptyRows); }
  if (workgroupUniformLoad(&anyEmpty) != 0u) {
    for (var j0 = 0u; j0 < Tk; j0 += TILE) {
      workgroupBarrier();
      loadKeys(b, h, j0, lid);
      workgroupBarrier();
      if (empty) {
        for (var t = 0u; t < TILE; t++) {
          for (var c = 0u; c < DV; c++) { acc[c] += vs[t * DV + c]; }
        }
      }
    }
  }
  if (!live) { return; }
  let inv = 1.0 / select(l, f32(Tk), empty);
  let o = ((b * Tq + i) * H + h) * DV;
  for (var c = 0u; c < DV; c++) { out[o + c] = acc[c] * inv; }
  stats[bh * Tq + i] = select(bitcast<u32>(m + log(l)), ${ATT_EMPTY}, empty);
}`;
}

/** Backward, first pass: rowsum(dO ⊙ O) into the second half of the statistics, a thread per query. */
export function attentionRowDotKernel(Dv: number): string {
  return `${PRELUDE}
@group(0) @binding(1) var<storage, read> o: array<f32>;
@group(0) @binding(2) var<storage, read> dO: array<f32>;
@group(0) @binding(3) var<storage, read_write> stats: array<u32>;
@compute @workgroup_size(${WG})
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let H = prm[1]; let Tq = prm[2];
  let rows = prm[0] * H * Tq;
  let r = gid.y * nwg.x * ${WG}u + gid.x;
  if (r >= rows) { return; }
  let i = r % Tq; let bh = r / Tq; let b = bh / H; let h = bh % H;
  let ob = ((b * Tq + i) * H + h) * ${Dv}u;
  let g = mi(27u) + i32(b) * mi(28u) + i32(h) * mi(29u) + i32(i) * mi(30u);
  var s = 0.0;
  for (var c = 0u; c < ${Dv}u; c++) { s = fma(dO[u32(g + i32(c) * mi(31u))], o[ob + c], s); }
  stats[rows + r] = bitcast<u32>(s);
}`;
}

/**
 * Backward, dk and dv: a workgroup per (batch, head, 64 keys); each thread streams the query tiles, recomputes
 * P = exp(s - lse) for its key, and accumulates dv += P dO and dk += dS q with dS = P (dO·v - rowsum(dO ⊙ O))·scale.
 * Rows with every key hidden give each key the weight 1/Tk in dv and nothing in dk (the composite's `where` passes
 * no gradient to hidden scores); that pass runs only when such rows are possible (a mask, or causal with Tq > Tk).
 */
export function attentionDkDvKernel(s: AttentionShape): string {
  return `${attentionPrelude(s, `
@group(0) @binding(4) var<storage, read> dO: array<f32>;
@group(0) @binding(5) var<storage, read> stats: array<u32>;
@group(0) @binding(6) var<storage, read_write> dk: array<f32>;
@group(0) @binding(7) var<storage, read_write> dv: array<f32>;`)}
var<workgroup> ls: array<f32, TILE>;
var<workgroup> rd: array<f32, TILE>;
@compute @workgroup_size(${ATT_ROWS})
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
  let H = prm[1]; let Tq = prm[2]; let Tk = prm[3]; let scale = mf(4u);
  let rows = prm[0] * H * Tq;
  let bt = rowTile(wid, nwg, Tk);
  let bh = bt.x; let b = bh / H; let h = bh % H;
  let j0 = bt.y;
  let j = j0 + lid;
  let jj = min(j, Tk - 1u);
  var kr: array<f32, DA>;
  for (var c = 0u; c < D; c++) { kr[c] = k[at(12u, b, h, jj, c)]; }
  var vr: array<f32, DVA>;
  for (var c = 0u; c < DV; c++) { vr[c] = v[at(17u, b, h, jj, c)]; }
  var dkr: array<f32, DA>;
  var dvr: array<f32, DVA>;
  // Under causal masking no query before j0 - (Tk - Tq) sees a key of this tile.
  var first = 0u;
  if (prm[5] != 0u) { first = u32(clamp(i32(j0) - i32(Tk) + i32(Tq), 0, i32(Tq))); }
  for (var i0 = first; i0 < Tq; i0 += TILE) {
    workgroupBarrier();
    for (var e = lid; e < TILE * D; e += ROWS) { ks[e] = q[at(7u, b, h, min(i0 + e / D, Tq - 1u), e % D)]; }
    for (var e = lid; e < TILE * DV; e += ROWS) { vs[e] = dO[at(27u, b, h, min(i0 + e / DV, Tq - 1u), e % DV)]; }
    if (lid < TILE) {
      let r = bh * Tq + min(i0 + lid, Tq - 1u);
      ls[lid] = bitcast<f32>(stats[r]);
      rd[lid] = bitcast<f32>(stats[rows + r]);
    }
    workgroupBarrier();
    let n = min(TILE, Tq - i0);
    for (var t = 0u; t < n; t++) {
      var dot = 0.0;
      for (var c = 0u; c < D; c++) { dot = fma(ks[t * D + c], kr[c], dot); }
      var dp = 0.0;
      for (var c = 0u; c < DV; c++) { dp = fma(vs[t * DV + c], vr[c], dp); }
      let p = select(0.0, exp(dot * scale - ls[t]), shown(b, h, i0 + t, jj));
      let ds = p * (dp - rd[t]) * scale;
      for (var c = 0u; c < DV; c++) { dvr[c] = fma(p, vs[t * DV + c], dvr[c]); }
      for (var c = 0u; c < D; c++) { dkr[c] = fma(ds, ks[t * D + c], dkr[c]); }
    }
  }
  if (prm[6] != 0u) {
    let u = 1.0 / f32(Tk);
    for (var i = 0u; i < Tq; i++) {
      if (stats[bh * Tq + i] == ${ATT_EMPTY}) {
        for (var c = 0u; c < DV; c++) { dvr[c] = fma(u, dO[at(27u, b, h, i, c)], dvr[c]); }
      }
    }
  }
  if (j >= Tk) { return; }
  let o = (b * Tk + j) * H + h;
  for (var c = 0u; c < D; c++) { dk[o * D + c] = dkr[c]; }
  for (var c = 0u; c < DV; c++) { dv[o * DV + c] = dvr[c]; }
}`;
}

/**
 * Backward, dq: a workgroup per (batch, head, 64 queries); each thread streams the key tiles and accumulates
 * dq += dS k. Rows with every key hidden get dq = 0 (none of their scores reaches the output).
 */
export function attentionDqKernel(s: AttentionShape): string {
  return `${attentionPrelude(s, `
@group(0) @binding(4) var<storage, read> dO: array<f32>;
@group(0) @binding(5) var<storage, read> stats: array<u32>;
@group(0) @binding(6) var<storage, read_write> dq: array<f32>;`)}
@compute @workgroup_size(${ATT_ROWS})
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
  let H = prm[1]; let Tq = prm[2]; let scale = mf(4u);
  let bt = rowTile(wid, nwg, Tq);
  let bh = bt.x; let b = bh / H; let h = bh % H;
  let i0 = bt.y;
  let i = i0 + lid;
  let ii = min(i, Tq - 1u);
  var qr: array<f32, DA>;
  for (var c = 0u; c < D; c++) { qr[c] = q[at(7u, b, h, ii, c)]; }
  var gr: array<f32, DVA>;
  for (var c = 0u; c < DV; c++) { gr[c] = dO[at(27u, b, h, ii, c)]; }
  let l = bitcast<f32>(stats[bh * Tq + ii]);
  let r = bitcast<f32>(stats[prm[0] * H * Tq + bh * Tq + ii]);
  var dqr: array<f32, DA>;
  let end = keyEnd(i0);
  for (var j0 = 0u; j0 < end; j0 += TILE) {
    workgroupBarrier();
    loadKeys(b, h, j0, lid);
    workgroupBarrier();
    for (var t = 0u; t < TILE; t++) {
      var dot = 0.0;
      for (var c = 0u; c < D; c++) { dot = fma(qr[c], ks[t * D + c], dot); }
      var dp = 0.0;
      for (var c = 0u; c < DV; c++) { dp = fma(gr[c], vs[t * DV + c], dp); }
      let p = select(0.0, exp(dot * scale - l), shown(b, h, ii, j0 + t));
      let ds = p * (dp - r) * scale;
      for (var c = 0u; c < D; c++) { dqr[c] = fma(ds, ks[t * D + c], dqr[c]); }
    }
  }
  if (i >= Tq) { return; }
  let o = ((b * Tq + i) * H + h) * D;
  for (var c = 0u; c < D; c++) { dq[o + c] = dqr[c]; }
}`;
}

// Vector math shared by the WebAssembly kernel modules (imported at compile time, so each module gets its own copy of
// what it uses): e^x, tanh and the sigmoid on f32x4 lanes. exp uses Cephes' range reduction (x = n·ln2 + r,
// |r| <= ln2/2) and a degree-6 polynomial, within 2 ulp over float32's range, and is exactly 0 below -87.34 (as the
// native kernels'), so masked attention weights are 0 rather than denormal-sized.

export const LOG2E: f32 = 1.44269504088896341;
export const LN2_HI: f32 = 0.693359375;
export const LN2_LO: f32 = -2.12194440e-4;
export const EXP_HI: f32 = 88.3762626647949;
export const EXP_LO: f32 = -87.3365447504;

// @ts-ignore: decorator
@inline export function splat(x: f32): v128 { return f32x4.splat(x); }

// @ts-ignore: decorator
@inline export function hsum(v: v128): f32 {
  return f32x4.extract_lane(v, 0) + f32x4.extract_lane(v, 1) + f32x4.extract_lane(v, 2) + f32x4.extract_lane(v, 3);
}

/** 1.5·2^23: adding it rounds a float32 below 2^22 in magnitude to an integer, which then sits in the low mantissa bits. */
export const SHIFTER: f32 = 12582912;

/**
 * e^x on four lanes (Cephes' range reduction and degree-6 polynomial); 0 below EXP_LO, -Infinity included. n =
 * round(x·log2 e) comes from the 1.5·2^23 shifter (the same round-half-even as f32x4.nearest), whose bits also give
 * the integer n without a float-to-int conversion (V8's saturating one takes several instructions on x64).
 */
// @ts-ignore: decorator
@inline export function vexp(x: v128): v128 {
  const underflow = f32x4.lt(x, splat(EXP_LO));
  x = f32x4.min(f32x4.max(x, splat(EXP_LO)), splat(EXP_HI));
  const shifted = f32x4.add(f32x4.mul(x, splat(LOG2E)), splat(SHIFTER));
  const n = f32x4.sub(shifted, splat(SHIFTER));
  let r = f32x4.sub(x, f32x4.mul(n, splat(LN2_HI)));
  r = f32x4.sub(r, f32x4.mul(n, splat(LN2_LO)));
  let p = splat(1.9875691500e-4);
  p = f32x4.add(f32x4.mul(p, r), splat(1.3981999507e-3));
  p = f32x4.add(f32x4.mul(p, r), splat(8.3334519073e-3));
  p = f32x4.add(f32x4.mul(p, r), splat(4.1665795894e-2));
  p = f32x4.add(f32x4.mul(p, r), splat(1.6666665459e-1));
  p = f32x4.add(f32x4.mul(p, r), splat(5.0000001201e-1));
  p = f32x4.add(f32x4.mul(f32x4.mul(p, r), r), f32x4.add(r, splat(1)));
  const bits = i32x4.shl(i32x4.add(i32x4.sub(shifted, i32x4.splat(0x4B400000)), i32x4.splat(127)), 23);
  return v128.andnot(f32x4.mul(p, bits), underflow);
}

/** tanh on four lanes (Cephes' tanhf: an odd polynomial below |x| = 0.625, 1 - 2/(e^{2x} + 1) above). */
// @ts-ignore: decorator
@inline export function vtanh(x: v128): v128 {
  const e = vexp(f32x4.add(x, x));
  const big = f32x4.sub(splat(1), f32x4.div(splat(2), f32x4.add(e, splat(1))));
  const z = f32x4.mul(x, x);
  let p = splat(-5.70498872745e-3);
  p = f32x4.add(f32x4.mul(p, z), splat(2.06390887954e-2));
  p = f32x4.add(f32x4.mul(p, z), splat(-5.37397155531e-2));
  p = f32x4.add(f32x4.mul(p, z), splat(1.33314422036e-1));
  p = f32x4.add(f32x4.mul(p, z), splat(-3.33332819422e-1));
  const small = f32x4.add(f32x4.mul(f32x4.mul(p, z), x), x);
  return v128.bitselect(small, big, f32x4.lt(f32x4.abs(x), splat(0.625)));
}

// @ts-ignore: decorator
@inline export function vsigmoid(x: v128): v128 {
  return f32x4.div(splat(1), f32x4.add(splat(1), vexp(f32x4.neg(x))));
}


// Element types: float32 and int32 for models, float64 for the finite-difference check path.

/** The element types a tensor can hold. */
export type DType = 'float32' | 'int32' | 'float64';

/** The typed array that stores each dtype. */
export type TypedArray = Float32Array | Int32Array | Float64Array;

/** Allocates a zeroed typed array of `size` elements for `dtype`. */
export function allocArray(dtype: DType, size: number): TypedArray {
  switch (dtype) {
    case 'float32': return new Float32Array(size);
    case 'int32': return new Int32Array(size);
    case 'float64': return new Float64Array(size);
  }
}

/** Whether values of this dtype are floating point. */
export function isFloat(dtype: DType): boolean {
  return dtype !== 'int32';
}

/** Bytes per element. */
export function bytesPerElement(dtype: DType): number {
  return dtype === 'float64' ? 8 : 4;
}

// The tensor engine's public surface: Tensor, creation, ops, autograd controls, dtypes, shapes and RNG.
export { Tensor, Storage, type NestedArray } from './tensor.js';
export * from './ops.js';
export { noGrad, noGradAsync, isGradEnabled, setAnomalyDetection, isAnomalyDetectionEnabled, AnomalyError } from './autograd.js';
export { type DType, type TypedArray, isFloat } from './dtype.js';
export { ShapeError, broadcastShapes, sizeOf, type Shape } from './shape.js';
export { Generator, defaultGenerator, manualSeed } from './random.js';

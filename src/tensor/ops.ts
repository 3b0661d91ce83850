// Every op users call, gathered from the files in ops/.
export * from './ops/creation.js';
export * from './ops/elementwise.js';
export * from './ops/reduce.js';
export * from './ops/shape.js';
export * from './ops/linalg.js';
export * from './ops/nn.js';
export * from './ops/conv.js';

// The package entry: each part of the toolkit as a namespace.
export * as tensor from './tensor/index.js';
export * as nn from './nn/index.js';
export * as optim from './optim/index.js';
export * as backend from './backend/index.js';
export * as io from './io/index.js';
export * as text from './text/index.js';
export * as data from './data/index.js';
export * as models from './models/index.js';
export * as tasks from './tasks/index.js';

// Backends: the kernel contract, the registry that picks one, and the WebGPU entry.
export type { Backend, Buffer, View, UnaryOp, BinaryOp, ReduceOp, AdamWStep } from './backend.js';
export { registerBackend, listBackends, setBackend, getBackend, initWebGPU, initWasm, type BuiltinBackend, type InitWasmOptions } from './registry.js';
export { createFastCpuBackend, type FastCpuOptions } from './cpu/fast.js';
export { createReferenceBackend } from './cpu/reference.js';
export type { WebGPUBackend, WebGPUOptions, DeviceInfo } from './webgpu/index.js';
export { DeviceMemoryError } from './webgpu/pool.js';

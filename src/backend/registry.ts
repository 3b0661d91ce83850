// Which backend new tensors are created on: the built-in backends by name, created on first use, and any a caller
// registers. The WebGPU backend's code is imported only when `initWebGPU()` is called.
import { env, isNode } from '../platform/node.js';
import type { Backend } from './backend.js';
import { createFastCpuBackend } from './cpu/fast.js';
import { createReferenceBackend } from './cpu/reference.js';
import type { WebGPUBackend, WebGPUOptions } from './webgpu/backend.js';

/** The names of the built-in backends. */
export type BuiltinBackend = 'cpu' | 'cpu-native' | 'cpu-wasm' | 'cpu-reference' | 'webgpu';

let current: Backend | null = null;
const factories = new Map<string, () => Backend>([
  // plain TypeScript: the slow, obvious kernels every other backend is tested against
  ['cpu-reference', createReferenceBackend],
  // the default: native SIMD kernels where they were built at install, else the WebAssembly ones
  ['cpu', () => createFastCpuBackend()],
  ['cpu-native', () => ({ ...createFastCpuBackend({ kernels: 'native' }), name: 'cpu-native' })],
  // the browser's kernel set, also in Node where the native one is built
  ['cpu-wasm', () => ({ ...createFastCpuBackend({ kernels: 'wasm' }), name: 'cpu-wasm' })],
  ['webgpu', () => { throw new Error("setBackend('webgpu'): call `await initWebGPU()` first (creating a GPU device is asynchronous)"); }],
]);
const instances = new Map<string, Backend>();

/** Makes a backend available under `name` (replacing any of that name); it is created on first use. */
export function registerBackend(name: string, factory: () => Backend): void {
  factories.set(name, factory);
  instances.delete(name);
}

/** The names of the registered backends. */
export function listBackends(): string[] {
  return [...factories.keys()];
}

/** Selects the backend that new tensors are created on, creating it on first use. */
export function setBackend(name: string): Backend {
  const factory = factories.get(name);
  if (!factory) throw new Error(`setBackend: unknown backend '${name}' (available: ${listBackends().join(', ')})`);
  let backend = instances.get(name);
  if (!backend) {
    backend = factory();
    instances.set(name, backend);
  }
  current = backend;
  return backend;
}

/**
 * The backend that new tensors are created on. Until one is set: PRETRAIN_BACKEND in Node (e.g. to run the test
 * suite on the reference kernels), else 'cpu' in Node and 'cpu-reference' elsewhere (the WebAssembly kernels'
 * loader reads the package's files, which only Node can do today).
 */
export function getBackend(): Backend {
  if (!current) current = setBackend(env('PRETRAIN_BACKEND') ?? (isNode ? 'cpu' : 'cpu-reference'));
  return current;
}

let webgpu: Promise<WebGPUBackend> | null = null;

/**
 * Acquires a GPU device (once; later calls return the same backend) and registers the WebGPU backend, so that the
 * synchronous `setBackend('webgpu')` works from then on. Rejects with a clear message where no adapter exists.
 */
export function initWebGPU(opts: WebGPUOptions = {}): Promise<WebGPUBackend> {
  webgpu ??= import('./webgpu/index.js').then(async ({ createWebGPUBackend }) => {
    const backend = await createWebGPUBackend(opts);
    registerBackend('webgpu', () => backend);
    return backend;
  });
  // A failed attempt is not cached, so a caller may retry (e.g. after installing a driver).
  webgpu.catch(() => { webgpu = null; });
  return webgpu;
}

// Which backend new tensors are created on: the built-in backends by name, created on first use, and any a caller
// registers. The WebGPU backend's code is imported only when `initWebGPU()` is called.
import { env, isNode, preloadPackageWasm } from '../platform/node.js';
import type { Backend } from './backend.js';
import { createFastCpuBackend } from './cpu/fast.js';
import { createReferenceBackend } from './cpu/reference.js';
import { WasmKernels } from './cpu/wasm-kernels.js';
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
 * suite on the reference kernels), else 'cpu' in Node and 'cpu-reference' elsewhere (where the WebAssembly kernels
 * must be fetched first: `await initWasm(...)`, then `setBackend('cpu-wasm')`).
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

/** Options of initWasm. */
export interface InitWasmOptions {
  /**
   * The URL of a file of the package's build/wasm folder, by name (e.g. 'gemm.relaxed.wasm'): where the app serves
   * them. Not needed in Node, which reads the package's files.
   */
  locate?: (file: string) => string | URL;
  /** Kernel threads: this thread plus threads − 1 workers (default: the hardware's threads). */
  threads?: number;
}

/**
 * Loads the WebAssembly kernels (fetched with `locate` outside Node; every module, word2vec's too), starts their
 * worker threads and waits until each runs, then registers the result as 'cpu-wasm' (and, outside Node, as 'cpu').
 * A page calls this in a web worker: the kernels' threads meet with Atomics.wait, which a page's main thread may not
 * call, so there only `threads: 1` works. Shared WebAssembly memory needs a cross-origin isolated page (COOP/COEP).
 */
export async function initWasm(opts: InitWasmOptions = {}): Promise<Backend> {
  if (!isNode) {
    if (!opts.locate) throw new Error('initWasm: outside Node, give `locate`, the URL of each build/wasm file where the app serves them');
    if ((globalThis as { crossOriginIsolated?: boolean }).crossOriginIsolated === false) {
      throw new Error('initWasm: the WebAssembly kernels share memory between threads, which needs a cross-origin isolated page ' +
        '(serve it with Cross-Origin-Opener-Policy: same-origin and Cross-Origin-Embedder-Policy: require-corp)');
    }
    await preloadPackageWasm(opts.locate);
  }
  const kernels = new WasmKernels(opts.threads);
  await kernels.ready;
  const backend: Backend = { ...createFastCpuBackend({ kernels }), name: 'cpu-wasm' };
  registerBackend('cpu-wasm', () => backend);
  if (!isNode) registerBackend('cpu', () => backend);
  return backend;
}

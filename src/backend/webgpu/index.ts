// Entry to the WebGPU backend: acquires a device once (asynchronously) and registers the backend as 'webgpu'.
import { registerBackend } from '../backend.js';
import { createWebGPUBackendOn, type WebGPUBackend, type WebGPUOptions } from './backend.js';
import { acquireDevice } from './device.js';

export type { WebGPUBackend, WebGPUOptions } from './backend.js';
export type { DeviceInfo } from './device.js';
export { DeviceMemoryError } from './pool.js';

let pending: Promise<WebGPUBackend> | null = null;

/**
 * Creates the WebGPU backend (once; later calls return the same one) and registers it, so that the synchronous
 * `setBackend('webgpu')` works from then on. Rejects with a clear message where no adapter exists.
 */
export function initWebGPU(opts: WebGPUOptions = {}): Promise<WebGPUBackend> {
  pending ??= acquireDevice().then(({ device, info }) => {
    const backend = createWebGPUBackendOn(device, info, opts);
    registerBackend('webgpu', () => backend);
    return backend;
  });
  // A failed attempt is not cached, so a caller may retry (e.g. after installing a driver).
  pending.catch(() => { pending = null; });
  return pending;
}

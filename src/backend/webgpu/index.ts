// Entry to the WebGPU backend: acquires a device and builds the backend on it (registry.ts's initWebGPU registers it).
import { createWebGPUBackendOn, type WebGPUBackend, type WebGPUOptions } from './backend.js';
import { acquireDevice } from './device.js';

export type { WebGPUBackend, WebGPUOptions } from './backend.js';
export type { DeviceInfo } from './device.js';
export { DeviceMemoryError } from './pool.js';

/** A WebGPU backend on a newly acquired device; rejects with a clear message where no adapter exists. */
export async function createWebGPUBackend(opts: WebGPUOptions = {}): Promise<WebGPUBackend> {
  const { device, info } = await acquireDevice();
  return createWebGPUBackendOn(device, info, opts);
}

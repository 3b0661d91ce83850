// Opens the WebGPU backend for tests, or says why the WebGPU tests are skipped (no adapter on this machine).
import { initWebGPU } from '../../src/backend/registry.js';
import type { WebGPUBackend } from '../../src/backend/webgpu/index.js';

/** The backend, or a skip message naming why none is available. */
export async function openWebGPU(): Promise<{ gpu: WebGPUBackend | null; skip: string | false }> {
  try {
    return { gpu: await initWebGPU(), skip: false };
  } catch (e) {
    return { gpu: null, skip: `no WebGPU adapter: ${(e as Error).message}` };
  }
}

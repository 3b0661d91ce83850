// Acquiring a WebGPU device: the browser's navigator.gpu, or in Node the `webgpu` package (Dawn), loaded lazily.
/// <reference types="@webgpu/types" />

/** Where the device came from and what it offers, for logs and benchmark reports. */
export interface DeviceInfo {
  /** The adapter's vendor/architecture/description as the driver reports them ('llvmpipe' under lavapipe). */
  adapter: string;
  /** Optional features the device was created with (e.g. 'subgroups', 'timestamp-query'). */
  features: string[];
}

/** A WebGPU device with the adapter's largest limits, and what it is. */
export interface AcquiredDevice {
  device: GPUDevice;
  info: DeviceInfo;
}

// Features the kernels use when present; requesting one the adapter lacks would fail, so only present ones are asked.
const WANTED_FEATURES: GPUFeatureName[] = ['subgroups', 'timestamp-query'];

// Dawn in Node frees its instance when the GPU object is collected, even with live devices, and then crashes in
// its event polling; so the instance and adapter stay referenced for the life of the process.
const keepAlive: object[] = [];

async function findGpu(): Promise<GPU> {
  const nav = (globalThis as { navigator?: { gpu?: GPU } }).navigator;
  if (nav?.gpu) return nav.gpu;
  let mod: { create(options: string[]): GPU; globals: object };
  try {
    // A variable specifier keeps bundlers and the type checker from requiring the optional package.
    const name = 'webgpu';
    mod = (await import(name)) as typeof mod;
  } catch (e) {
    throw new Error(`WebGPU: no navigator.gpu and the optional npm package 'webgpu' (Dawn for Node) could not be loaded: ${(e as Error).message}`);
  }
  // Dawn's constructors (GPUBufferUsage, ...) must be globals for code written against the browser API.
  Object.assign(globalThis, mod.globals);
  return mod.create([]);
}

/** Requests a high-performance adapter and a device with the adapter's maximum buffer and workgroup limits. */
export async function acquireDevice(): Promise<AcquiredDevice> {
  const gpu = await findGpu();
  const adapter = await gpu.requestAdapter({ powerPreference: 'high-performance' });
  if (!adapter) {
    throw new Error('WebGPU: no adapter found (on Linux without a GPU, Mesa 25+ lavapipe provides one; see docs/webgpu.md)');
  }
  keepAlive.push(gpu, adapter);
  const features = WANTED_FEATURES.filter((f) => adapter.features.has(f));
  const l = adapter.limits;
  const device = await adapter.requestDevice({
    requiredFeatures: features,
    requiredLimits: {
      maxStorageBufferBindingSize: l.maxStorageBufferBindingSize,
      maxBufferSize: l.maxBufferSize,
      maxStorageBuffersPerShaderStage: l.maxStorageBuffersPerShaderStage,
      maxComputeWorkgroupStorageSize: l.maxComputeWorkgroupStorageSize,
      maxComputeInvocationsPerWorkgroup: l.maxComputeInvocationsPerWorkgroup,
      maxComputeWorkgroupSizeX: l.maxComputeWorkgroupSizeX,
      maxComputeWorkgroupSizeY: l.maxComputeWorkgroupSizeY,
      maxComputeWorkgroupsPerDimension: l.maxComputeWorkgroupsPerDimension,
    },
  });
  const i = adapter.info;
  const adapterName = [i.vendor, i.architecture, i.device, i.description].filter((s) => s).join(' ') || 'unknown adapter';
  return { device, info: { adapter: adapterName, features } };
}

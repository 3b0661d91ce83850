// Runs one test body on every backend available here (see forEachBackend), and opens WebGPU for the device tests.
import { test, type TestContext } from 'node:test';
import type { Backend } from '../../src/backend/backend.js';
import { createReferenceBackend } from '../../src/backend/cpu/reference.js';
import { loadNativeAddon } from '../../src/backend/cpu/native.js';
import { getBackend, initWebGPU, registerBackend, setBackend } from '../../src/backend/registry.js';
import type { WebGPUBackend } from '../../src/backend/webgpu/index.js';

/** The backends every shared test body runs on, in this order. */
export const BACKENDS = ['cpu-reference', 'cpu-native', 'cpu-wasm', 'webgpu'] as const;

/**
 * The reference backend without any of its optional fused kernels (softmax, layer norm, cross-entropy, AdamW, and
 * any later one), so the ops layer takes its composite paths. Opt in with `{ unfused: true }`: a body that passes on
 * both this and 'cpu-reference' checks the fused kernels and the composites they replace.
 */
export const UNFUSED = 'cpu-reference-unfused';

export type TestBackend = (typeof BACKENDS)[number] | typeof UNFUSED;

/** Every optional kernel of the Backend contract (src/backend/backend.ts): the fast paths the ops layer may take. */
export const FUSED_KERNELS = ['softmax', 'layerNorm', 'layerNormBackward', 'crossEntropy', 'crossEntropyBackward', 'adamw', 'matmulBias',
  'attention', 'attentionBackward', 'lstmSequence', 'lstmSequenceBackward', 'lstmpSequence', 'lstmpSequenceBackward', 'conv2d', 'conv2dBackward',
  'pool2d', 'pool2dBackward', 'batchNorm', 'batchNormBackward', 'batchNormRelu', 'batchNormReluBackward'] as const satisfies readonly (keyof Backend)[];

registerBackend(UNFUSED, () => {
  const kernels: Partial<Backend> = { ...createReferenceBackend(), name: UNFUSED };
  for (const k of FUSED_KERNELS) delete kernels[k];
  return kernels as Backend;
});

/** The backend a test file starts on and every body goes back to: PRETRAIN_BACKEND, else the registry's 'cpu'. */
export const DEFAULT_BACKEND = process.env.PRETRAIN_BACKEND ?? 'cpu';

/** Backends without float64 kernels (WGSL has no f64); bodies that need float64 are skipped there. */
const NO_FLOAT64: ReadonlySet<string> = new Set(['webgpu']);

let webgpu: Promise<{ gpu: WebGPUBackend | null; skip: string | false }> | null = null;

/** The WebGPU backend (acquired once per process), or why it is not available here. */
export function openWebGPU(): Promise<{ gpu: WebGPUBackend | null; skip: string | false }> {
  webgpu ??= initWebGPU().then(
    (gpu) => ({ gpu, skip: false as const }),
    (e: Error) => ({ gpu: null, skip: `no WebGPU adapter: ${e.message}` }),
  );
  return webgpu;
}

/** PRETRAIN_TEST_BACKENDS=cpu-wasm,webgpu (for example) runs only those variants; the others are reported as skipped. */
const chosen = process.env.PRETRAIN_TEST_BACKENDS?.split(',').map((s) => s.trim()).filter(Boolean) ?? null;

/** Why `name` cannot run in this process, or null. WebGPU's answer needs a device request, hence the promise. */
async function unavailable(name: TestBackend): Promise<string | null> {
  if (chosen && !chosen.includes(name)) return `not in PRETRAIN_TEST_BACKENDS (${chosen.join(', ')})`;
  if (name === 'cpu-native' && !loadNativeAddon()) return 'the native kernels are not built or do not load here (build/native/kernels.node), or PRETRAIN_NATIVE=0';
  if (name === 'webgpu') return (await openWebGPU()).skip || null;
  return null;
}

let selected: string = DEFAULT_BACKEND;

function select(name: string): void {
  setBackend(name);
  selected = name;
}

/**
 * Runs `fn` with `name` selected (e.g. to compute the expected values on 'cpu-reference' inside a body), then
 * selects again the backend that was selected before. Tensors made inside belong to that backend.
 */
export function withBackend<R>(name: string, fn: () => R): R {
  const before = selected;
  select(name);
  let result: R;
  try {
    result = fn();
  } catch (e) {
    select(before);
    throw e;
  }
  if (result instanceof Promise) return result.finally(() => select(before)) as R;
  select(before);
  return result;
}

/** What a body is given: the selected backend, and per-backend tolerances. */
export interface BackendRun {
  name: TestBackend;
  backend: Backend;
  /** Whether float64 tensors work on this backend. */
  float64: boolean;
  /** `tolerances[name]` where given, else `base`: a looser bound only for the backends that round differently. */
  tol(base: number, tolerances?: Partial<Record<TestBackend, number>>): number;
}

export interface ForEachBackendOptions {
  /** Backends this body does not run on, each with the reason (shown as the variant's skip message). */
  exclude?: Partial<Record<TestBackend, string>>;
  /** Also run on UNFUSED (the reference backend minus its fused kernels), so both the fused and composite paths pass. */
  unfused?: boolean;
  /** The body uses float64 tensors: skipped (with the reason) on backends that have none. */
  float64?: boolean;
  /** Per-variant timeout in ms. */
  timeout?: number;
}

/**
 * Registers one node:test test per backend, titled `${title} [${backend}]`: it selects the backend, runs `body`,
 * and selects DEFAULT_BACKEND again whatever happens. A variant that cannot run here (native kernels not built,
 * no WebGPU adapter, float64 on WebGPU, an `exclude` entry) is reported as skipped with its reason. Tensors the
 * body uses must be made inside it, on its backend.
 */
export function forEachBackend(title: string, body: (run: BackendRun, t: TestContext) => unknown, opts: ForEachBackendOptions = {}): void {
  const names: TestBackend[] = [...BACKENDS];
  if (opts.unfused) names.splice(1, 0, UNFUSED);
  for (const name of names) {
    const excluded = opts.exclude?.[name] ?? (opts.float64 && NO_FLOAT64.has(name) ? 'float64 case: WebGPU has no float64 (WGSL has no f64)' : undefined);
    test(`${title} [${name}]`, { skip: excluded ?? false, timeout: opts.timeout }, async (t) => {
      const why = await unavailable(name);
      if (why) {
        t.skip(why);
        return;
      }
      try {
        select(name);
        const run: BackendRun = {
          name, backend: getBackend(), float64: !NO_FLOAT64.has(name),
          tol: (base, tolerances) => tolerances?.[name] ?? base,
        };
        await body(run, t);
      } finally {
        select(DEFAULT_BACKEND);
      }
    });
  }
}

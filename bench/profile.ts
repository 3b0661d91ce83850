// `npm run bench -- profile gpt|bert|lstm|elmo|lenet5|resnet8 [--steps 2]`: where a training step's time goes, kernel by kernel. Wraps
// every kernel of the current backend with a timer, runs the cpu suite's step workloads (bench/steps.ts) and prints
// the kernels by total time per step, with their shapes, so a slow op is found before it is guessed. Wall times of
// synchronous CPU kernels; on WebGPU they would be encode times, not device times.
import type { Backend, View } from '../src/backend/backend.js';
import { getBackend } from '../src/backend/registry.js';
import { makeStep, type StepKind } from './steps.js';

const arg = (args: string[], name: string, fallback: string) => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 && args[i + 1] ? args[i + 1]! : fallback;
};

const isView = (x: unknown): x is View => typeof x === 'object' && x !== null && 'shape' in x && 'strides' in x;
const fmt = (v: View) => `${v.dtype === 'float32' ? '' : `${v.dtype} `}[${v.shape.join(',')}]${v.strides.every((s, i) => s === v.shape.slice(i + 1).reduce((p, d) => p * d, 1)) ? '' : `{${v.strides.join(',')}}`}`;

/** A kernel call's label: its name, a leading op name if any, and its view arguments' shapes (strides when not contiguous). */
function label(name: string, args: unknown[]): string {
  const op = typeof args[0] === 'string' ? `:${args[0]}` : '';
  return `${name}${op} ${args.filter(isView).map(fmt).join(' ')}`.trim();
}

export default async function profile(args: string[]): Promise<void> {
  const kind = (args.find((a) => !a.startsWith('--') && ['gpt', 'bert', 'lstm', 'elmo', 'lenet5', 'resnet8'].includes(a)) ?? 'gpt') as StepKind;
  const steps = Number(arg(args, 'steps', '2'));
  const { step, tokens } = makeStep(kind);
  await step(); // warm-up: first-call compilation and allocation
  const backend = getBackend() as unknown as Record<string, unknown>;
  const stats = new Map<string, { ms: number; calls: number }>();
  for (const [name, fn] of Object.entries(backend)) {
    if (typeof fn !== 'function') continue;
    backend[name] = (...a: unknown[]) => {
      const t = performance.now();
      const r = (fn as (...x: unknown[]) => unknown).apply(backend, a);
      const s = stats.get(label(name, a)) ?? { ms: 0, calls: 0 };
      s.ms += performance.now() - t;
      s.calls++;
      stats.set(label(name, a), s);
      return r;
    };
  }
  const t0 = performance.now();
  for (let i = 0; i < steps; i++) await step();
  const stepMs = (performance.now() - t0) / steps;
  const rows = [...stats].map(([kernel, s]) => ({ kernel, 'ms/step': Number((s.ms / steps).toFixed(2)), 'calls/step': s.calls / steps }))
    .sort((a, b) => b['ms/step'] - a['ms/step']);
  const inKernels = rows.reduce((s, r) => s + r['ms/step'], 0);
  console.log(`${kind} step on ${(getBackend() as Backend).name}${(getBackend() as Backend).kernels ? ` (${(getBackend() as Backend).kernels})` : ''}: ` +
    `${stepMs.toFixed(0)} ms/step, ${Math.round((tokens / stepMs) * 1000)} tokens/s; ${inKernels.toFixed(0)} ms in kernels`);
  console.table(rows.slice(0, Number(arg(args, 'top', '30'))));
}

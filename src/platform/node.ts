// Node's built-in modules, taken at run time instead of imported, so that the package entry loads in a browser.
//
// A static `import 'node:fs'` anywhere below the entry would make every bundler fail (or stub it) for the browser;
// `process.getBuiltinModule` (Node 20.16+) hands the same module over synchronously, and in a browser the call is
// never made unless a Node-only function (reading a file, spawning a thread) runs, which then says what it needs.

/** The built-in modules the library uses, by the name `node:` prefixes. */
interface Builtins {
  fs: typeof import('node:fs');
  'fs/promises': typeof import('node:fs/promises');
  path: typeof import('node:path');
  os: typeof import('node:os');
  url: typeof import('node:url');
  v8: typeof import('node:v8');
  zlib: typeof import('node:zlib');
  readline: typeof import('node:readline');
  module: typeof import('node:module');
  worker_threads: typeof import('node:worker_threads');
}

interface NodeProcess {
  versions?: { node?: string };
  env: Record<string, string | undefined>;
  pid: number;
  getBuiltinModule?(id: string): unknown;
}

const proc = (globalThis as { process?: NodeProcess }).process;

/** Whether this runs in Node (rather than a browser or a web worker). */
export const isNode = typeof proc?.versions?.node === 'string';

/**
 * A Node built-in module; `purpose` completes the error thrown elsewhere, e.g. "reading files" gives
 * "reading files needs Node's fs module, which this runtime does not have".
 */
export function node<K extends keyof Builtins>(name: K, purpose: string): Builtins[K] {
  const mod = proc?.getBuiltinModule?.(`node:${name}`);
  if (!mod) {
    throw new Error(isNode
      ? `${purpose} needs Node 20.16 or later (process.getBuiltinModule); this is Node ${proc!.versions!.node}`
      : `${purpose} needs Node's ${name} module, which this runtime (a browser?) does not have`);
  }
  return mod as Builtins[K];
}

/** An environment variable in Node; undefined elsewhere. */
export function env(name: string): string | undefined {
  return proc?.env?.[name];
}

/** The process id in Node (for unique temporary names); 0 elsewhere. */
export function processId(): number {
  return proc?.pid ?? 0;
}

/** The number of hardware threads: Node's availableParallelism, a browser's hardwareConcurrency, else 1. */
export function hardwareThreads(): number {
  if (isNode) return node('os', 'counting cores').availableParallelism();
  return (globalThis as { navigator?: { hardwareConcurrency?: number } }).navigator?.hardwareConcurrency ?? 1;
}

let root: string | undefined;
/** The path of a file of the installed package (relative to the folder holding package.json, e.g. build/wasm/...). */
export function packageFile(...parts: string[]): string {
  const { existsSync } = node('fs', 'locating the package');
  const { dirname, join } = node('path', 'locating the package');
  if (root === undefined) {
    let dir = dirname(node('url', 'locating the package').fileURLToPath(import.meta.url));
    while (!existsSync(join(dir, 'package.json'))) {
      const parent = dirname(dir);
      if (parent === dir) throw new Error('pretrain: cannot find the package root (the folder with package.json and build/)');
      dir = parent;
    }
    root = dir;
  }
  return join(root, ...parts);
}

/** A compiled kernel module of build/wasm, and whether it is the relaxed-SIMD build. */
export interface PackageWasm { module: WebAssembly.Module; relaxed: boolean }

/** The kernel modules build/wasm holds (one per assembly/*.ts). */
export const PACKAGE_WASM: readonly string[] = ['gemm', 'vecmath', 'word2vec'];

/** Modules fetched by preloadPackageWasm, by name; compilePackageWasm hands them out before reading any file. */
const preloaded = new Map<string, PackageWasm>();

/**
 * Fetches and compiles build/wasm/NAME.relaxed.wasm (or NAME.simd.wasm where the runtime lacks relaxed SIMD) for each
 * name (default: all of them), for runtimes without a file system (a page, a web worker): `locate` gives the URL of a file name such as
 * 'gemm.relaxed.wasm' (where the app's bundler put it). compilePackageWasm returns these modules from then on.
 */
export async function preloadPackageWasm(locate: (file: string) => string | URL, names: readonly string[] = PACKAGE_WASM): Promise<void> {
  const bytes = async (file: string) => {
    const url = locate(file);
    const response = await fetch(url);
    if (!response.ok) throw new Error(`loading the WebAssembly kernels: ${String(url)} answered ${response.status} ${response.statusText}`);
    return new Uint8Array(await response.arrayBuffer());
  };
  await Promise.all(names.filter((name) => !preloaded.has(name)).map(async (name) => {
    const relaxedBytes = await bytes(`${name}.relaxed.wasm`);
    const relaxed = WebAssembly.validate(relaxedBytes);
    preloaded.set(name, { module: await WebAssembly.compile(relaxed ? relaxedBytes : await bytes(`${name}.simd.wasm`)), relaxed });
  }));
}

let relaxedFlagSet = false;
/**
 * Compiles build/wasm/NAME.relaxed.wasm where the runtime takes relaxed SIMD (fused multiply-add), else
 * NAME.simd.wasm; `what` names the caller in errors. Node 20 ships relaxed SIMD behind a V8 flag (on by default from
 * Node 22 and in browsers), which is set here at run time. Returns the module and whether it is the relaxed build.
 * Outside Node the module must have been preloaded (preloadPackageWasm).
 */
export function compilePackageWasm(name: string, what: string): PackageWasm {
  const ready = preloaded.get(name);
  if (ready) return ready;
  if (!isNode) throw new Error(`${what}: the WebAssembly kernels are not loaded; outside Node call \`await initWasm({ locate })\` first`);
  const { existsSync, readFileSync } = node('fs', `${what}: loading the WebAssembly kernels`);
  const read = (variant: string) => {
    const path = packageFile('build', 'wasm', `${name}.${variant}.wasm`);
    if (!existsSync(path)) throw new Error(`${what}: ${path} is missing; build it with \`npm run build:wasm\``);
    return readFileSync(path);
  };
  const relaxedBytes = read('relaxed');
  if (!WebAssembly.validate(relaxedBytes) && !relaxedFlagSet) {
    node('v8', what).setFlagsFromString('--experimental-wasm-relaxed-simd');
    relaxedFlagSet = true;
  }
  const relaxed = WebAssembly.validate(relaxedBytes);
  return { module: new WebAssembly.Module(relaxed ? relaxedBytes : read('simd')), relaxed };
}

/**
 * Resolves after one turn of the event loop (a macrotask, not a microtask): setImmediate in Node, a MessageChannel
 * message elsewhere (browsers have no setImmediate, and setTimeout(0) is clamped to 4 ms after a few nestings).
 */
export function nextTurn(): Promise<void> {
  const immediate = (globalThis as { setImmediate?: (f: () => void) => void }).setImmediate;
  if (immediate) return new Promise((resolve) => immediate(resolve));
  return new Promise((resolve) => {
    const channel = new MessageChannel();
    channel.port1.onmessage = () => { channel.port1.close(); resolve(); };
    channel.port2.postMessage(null);
  });
}

/** A built-in module that loads on first use: `fsp.readFile(...)` reads as `(await import('node:fs/promises')).readFile`. */
function lazy<K extends keyof Builtins>(name: K, purpose: string): Builtins[K] {
  let mod: Builtins[K] | undefined;
  return new Proxy({} as Builtins[K], { get: (_, key) => (mod ??= node(name, purpose))[key as keyof Builtins[K]] });
}

/** node:fs, loaded on first use. */
export const fs = lazy('fs', 'file access');
/** node:fs/promises, loaded on first use. */
export const fsp = lazy('fs/promises', 'file access');
/** node:path, loaded on first use (named so that it does not shadow variables called path). */
export const nodePath = lazy('path', 'file paths');
/** node:os, loaded on first use. */
export const os = lazy('os', 'temporary files');
/** node:zlib, loaded on first use. */
export const zlib = lazy('zlib', 'reading .gz files');
/** node:readline, loaded on first use. */
export const readline = lazy('readline', 'reading files by line');
/** node:worker_threads, loaded on first use. */
export const workerThreads = lazy('worker_threads', 'training on threads');

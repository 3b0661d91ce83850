// Driving the built playground in a real browser, for its tests (test/playground) and its benchmark (bench/browser.ts):
// the system's Chromium found on disk (nothing is downloaded), the app built with Vite into a folder, served from a
// local static server with the cross-origin isolation headers on a free port, and a page opened on it.
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { createServer } from 'node:http';
import { extname, join, normalize, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium, type Browser, type Page } from 'playwright-core';
import { ISOLATION_HEADERS } from './vite.config.js';

/** Where a Chromium may be: PRETRAIN_CHROMIUM, then Debian's and other distributions' names. */
const CANDIDATES = ['/usr/bin/chromium', '/usr/bin/chromium-browser', '/usr/bin/google-chrome', '/usr/bin/google-chrome-stable', '/snap/bin/chromium'];

/** The Chromium binary to drive, or null where none is installed (`apt-get install chromium` on Debian). */
export function findChromium(): string | null {
  const chosen = process.env.PRETRAIN_CHROMIUM;
  if (chosen) {
    if (!existsSync(chosen)) throw new Error(`PRETRAIN_CHROMIUM=${chosen}: no such file`);
    return chosen;
  }
  return CANDIDATES.find((p) => existsSync(p)) ?? null;
}

/** Builds the playground (as `npm run build:playground` does) into `outDir`. */
export async function buildPlayground(outDir: string): Promise<void> {
  const { build } = await import('vite');
  await build({
    configFile: fileURLToPath(new URL('./vite.config.ts', import.meta.url)),
    build: { outDir, emptyOutDir: true },
    logLevel: 'error',
  });
}

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8', '.js': 'text/javascript', '.css': 'text/css', '.wasm': 'application/wasm',
  '.json': 'application/json', '.txt': 'text/plain; charset=utf-8', '.svg': 'image/svg+xml', '.safetensors': 'application/octet-stream',
};

/** Serves a folder on 127.0.0.1 at a free port with the isolation headers (what any host of the built site must send). */
export async function serveStatic(root: string): Promise<{ url: string; close: () => Promise<void> }> {
  const server = createServer((req, res) => {
    const path = decodeURIComponent(new URL(req.url ?? '/', 'http://x').pathname);
    const file = normalize(join(root, path.endsWith('/') ? `${path}index.html` : path));
    if (!file.startsWith(normalize(root) + sep) && file !== normalize(root)) { res.writeHead(403).end(); return; }
    readFile(file).then((body) => {
      res.writeHead(200, { 'Content-Type': TYPES[extname(file)] ?? 'application/octet-stream', ...ISOLATION_HEADERS });
      res.end(body);
    }, () => res.writeHead(404).end(`${path}: not found`));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  return { url: `http://127.0.0.1:${port}/`, close: () => new Promise((resolve) => server.close(() => resolve())) };
}

/**
 * Launches headless Chromium. `webgpu` asks for its WebGPU (on Linux through Vulkan: a software driver such as
 * lavapipe gives an adapter without a GPU).
 */
export function launchChromium(executablePath: string, opts: { webgpu?: boolean } = {}): Promise<Browser> {
  const args = ['--no-sandbox', '--disable-dev-shm-usage', '--no-first-run'];
  if (opts.webgpu) args.push('--enable-unsafe-webgpu', '--enable-features=Vulkan', '--use-angle=vulkan', '--ignore-gpu-blocklist');
  return chromium.launch({ executablePath, headless: true, args, timeout: 30_000 });
}

/** Opens the playground with an engine forced (?engine=...) and waits until its worker runs and the sample is loaded. */
export async function openPlayground(browser: Browser, url: string, engine: 'wasm' | 'webgpu' | 'reference' | 'auto'): Promise<{ page: Page; errors: string[] }> {
  const page = await browser.newPage({ viewport: { width: 1200, height: 900 }, acceptDownloads: true });
  const errors: string[] = [];
  page.on('pageerror', (e) => errors.push(e.message));
  page.on('console', (m) => { if (m.type() === 'error') errors.push(m.text()); });
  await page.goto(`${url}?engine=${engine}#corpus`);
  await page.waitForSelector('#engine[data-state="ready"], #engine[data-state="error"]', { timeout: 60_000 });
  const state = await page.getAttribute('#engine', 'data-state');
  if (state !== 'ready') throw new Error(`the playground's worker did not start: ${await page.textContent('#engine')}`);
  await waitDone(page, 'corpus-status');
  return { page, errors };
}

/** Waits for a panel's status to leave "running"; returns its answer (data-result), or throws its error text. */
export async function waitDone<R = unknown>(page: Page, statusId: string, timeout = 60_000): Promise<R> {
  await page.waitForSelector(`#${statusId}[data-state="done"], #${statusId}[data-state="error"]`, { timeout });
  const state = await page.getAttribute(`#${statusId}`, 'data-state');
  if (state === 'error') throw new Error(`#${statusId}: ${await page.textContent(`#${statusId}`)}`);
  return JSON.parse((await page.getAttribute(`#${statusId}`, 'data-result')) ?? 'null') as R;
}

/** Clicks a button and waits for the panel's answer (the click handler marks the panel running before it returns). */
export async function clickAndWait<R = unknown>(page: Page, buttonId: string, statusId: string, timeout = 60_000): Promise<R> {
  await page.click(`#${buttonId}`);
  return waitDone<R>(page, statusId, timeout);
}

/** Sets inputs by id. */
export async function fill(page: Page, values: Record<string, string | number>): Promise<void> {
  for (const [id, v] of Object.entries(values)) await page.fill(`#${id}`, String(v));
}

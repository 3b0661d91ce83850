// The playground's Vite config: the package imported as 'pretrain' (its browser-safe entry, src/index.ts), the
// cross-origin isolation headers that SharedArrayBuffer (and so the WebAssembly kernels' threads) needs, on the dev
// server and the preview server alike, and a static build in dist/playground that any server with those headers hosts.
import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vite';

/** COOP + COEP: the page is cross-origin isolated, so shared WebAssembly memory and Atomics.wait in workers work. */
export const ISOLATION_HEADERS = { 'Cross-Origin-Opener-Policy': 'same-origin', 'Cross-Origin-Embedder-Policy': 'require-corp' };

export default defineConfig({
  root: fileURLToPath(new URL('.', import.meta.url)),
  // relative asset URLs: the built site works from any folder of any static server
  base: './',
  resolve: { alias: { pretrain: fileURLToPath(new URL('../src/index.ts', import.meta.url)) } },
  server: { headers: ISOLATION_HEADERS },
  preview: { headers: ISOLATION_HEADERS },
  worker: { format: 'es' },
  build: { outDir: fileURLToPath(new URL('../dist/playground', import.meta.url)), emptyOutDir: true, target: 'es2022', chunkSizeWarningLimit: 4096 },
});

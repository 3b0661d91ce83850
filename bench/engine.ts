// The engine benchmark: memory over a 10,000-step MLP training loop, and op throughput, each beside PyTorch on the CPU.
//
// The training loops run in child processes so that each RSS figure is a clean process's. The main row sizes V8's
// young generation up front at its default cap on this machine (--min/max-semi-space-size=8): otherwise V8 doubles it
// once or twice during the first minutes of any allocation-heavy program (+8 MB RSS each), a bounded warm-up that
// would read as growth. The same loop under default V8 flags is reported beside it, and so is the heap retained
// after a full GC (heapUsed + array buffers), the figure a leak moves. RSS is read after a full GC at both points.
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath, pathToFileURL } from 'node:url';
import * as T from '../src/tensor/index.js';
import { PYTHON, SHARED_PEERS, peerEnv } from './peer.js';
import { figure, throughput, writeResults, type BenchRow } from './results.js';

const STEPS = 10_000, FROM = 1_000;
const MLP = { batch: 32, input: 64, hidden: 64, classes: 10, lr: 0.1 };
const TORCH_CPU = `${SHARED_PEERS}torch_cpu.py`;
const THREADS = 2;

/** What one training-loop run reports. */
interface LoopReport {
  rss: [number, number];
  retained: [number, number];
  msPerStep: number;
  loss: [number, number];
}

/**
 * The MLP loop of a child process: plain SGD with new leaves each step under noGrad, no dispose calls. At the two
 * sample points it runs a full GC first, so that neither figure depends on where the collector happened to be.
 */
function mlpLoop(): LoopReport {
  const gc = (globalThis as { gc?: () => void }).gc;
  if (!gc) throw new Error('the MLP loop needs --expose-gc');
  T.manualSeed(0);
  const x = T.randn([MLP.batch, MLP.input]);
  const y = T.argmax(T.matmul(x, T.randn([MLP.input, MLP.classes])), 1);
  let params = [T.mul(T.randn([MLP.input, MLP.hidden]), 0.1), T.zeros([MLP.hidden]), T.mul(T.randn([MLP.hidden, MLP.classes]), 0.1), T.zeros([MLP.classes])]
    .map((p) => p.requireGrad());
  const report: LoopReport = { rss: [0, 0], retained: [0, 0], msPerStep: 0, loss: [0, 0] };
  let t0 = 0;
  for (let step = 1; step <= STEPS; step++) {
    const [w1, b1, w2, b2] = params as [T.Tensor, T.Tensor, T.Tensor, T.Tensor];
    const loss = T.crossEntropy(T.add(T.matmul(T.relu(T.add(T.matmul(x, w1), b1)), w2), b2), y);
    loss.backward();
    params = T.noGrad(() => params.map((p) => T.sub(p, T.mul(p.grad!, MLP.lr)).requireGrad()));
    if (step === FROM || step === STEPS) {
      const k = step === FROM ? 0 : 1;
      if (k === 1) report.msPerStep = (performance.now() - t0) / (STEPS - FROM);
      report.loss[k] = loss.dataSync()[0]!;
      // Twice: array buffers freed by one collection are released while the next one runs.
      gc();
      gc();
      const m = process.memoryUsage();
      report.rss[k] = m.rss;
      report.retained[k] = m.heapUsed + m.arrayBuffers;
      t0 = performance.now();
    }
  }
  return report;
}

function runLoop(v8Flags: string[]): LoopReport {
  const args = [...v8Flags, '--expose-gc', '--import', 'tsx', fileURLToPath(import.meta.url), '--mlp-loop'];
  const res = spawnSync(process.execPath, args, { encoding: 'utf8' });
  if (res.status !== 0) throw new Error(`engine bench: the MLP loop failed:\n${res.stderr}`);
  return JSON.parse(res.stdout.trim().split('\n').pop()!) as LoopReport;
}

const growth = ([a, b]: [number, number]) => (100 * (b - a)) / a;

/** The median time of `fn` in ms over `reps` runs after one warm-up. */
function timeMs(fn: () => void, reps: number): number {
  fn();
  const ts: number[] = [];
  for (let i = 0; i < reps; i++) {
    const t = performance.now();
    fn();
    ts.push(performance.now() - t);
  }
  return ts.sort((a, b) => a - b)[Math.floor(reps / 2)]!;
}

// The PyTorch side of the MLP loop and the elementwise/softmax ops, in one process to pay torch's import once.
const TORCH_PEER = `
import json, time, statistics, os, torch, torch.nn.functional as F
torch.set_num_threads(${THREADS}); torch.manual_seed(0)
def rss(): return int(open('/proc/self/statm').read().split()[1]) * os.sysconf('SC_PAGE_SIZE')
B, D, H, C, lr = ${MLP.batch}, ${MLP.input}, ${MLP.hidden}, ${MLP.classes}, ${MLP.lr}
x = torch.randn(B, D); y = (x @ torch.randn(D, C)).argmax(1)
ps = [(torch.randn(D, H) * 0.1).requires_grad_(), torch.zeros(H, requires_grad=True), (torch.randn(H, C) * 0.1).requires_grad_(), torch.zeros(C, requires_grad=True)]
out = {}
for step in range(1, ${STEPS} + 1):
    w1, b1, w2, b2 = ps
    loss = F.cross_entropy(torch.relu(x @ w1 + b1) @ w2 + b2, y)
    loss.backward()
    with torch.no_grad():
        ps = [(p - lr * p.grad).requires_grad_() for p in ps]
    if step == ${FROM}: out['rss0'] = rss(); t0 = time.perf_counter()
    if step == ${STEPS}: out['rss1'] = rss(); out['ms_per_step'] = (time.perf_counter() - t0) * 1e3 / (${STEPS} - ${FROM})
def med(fn, reps):
    fn(); ts = []
    for _ in range(reps):
        t = time.perf_counter(); fn(); ts.append(time.perf_counter() - t)
    return statistics.median(ts) * 1e3
a, b = torch.randn(1 << 20), torch.randn(1 << 20)
out['add_ms'] = med(lambda: a + b, 50)
s = torch.randn(256, 1024)
out['softmax_ms'] = med(lambda: s.softmax(-1), 50)
out['torch'] = torch.__version__
print(json.dumps(out))
`;

function python(args: string[]): string | null {
  if (!existsSync(PYTHON)) return null;
  const res = spawnSync(PYTHON, args, { encoding: 'utf8', env: peerEnv() });
  if (res.status !== 0) {
    console.error(`engine bench: the PyTorch peer failed (${args[0]}): ${res.stderr.trim().split('\n').pop()}`);
    return null;
  }
  return res.stdout;
}

/** Runs the suite and writes bench/results/engine.json. */
export default function engine(): void {
  const rows: BenchRow[] = [];
  console.log(`engine: MLP ${MLP.input}-${MLP.hidden}-${MLP.classes}, batch ${MLP.batch}, ${STEPS} steps (backend ${process.env.PRETRAIN_BACKEND ?? "cpu"})`);
  const pinned = runLoop(['--min-semi-space-size=8', '--max-semi-space-size=8']);
  const plain = runLoop([]);
  const peerOut = python(['-c', TORCH_PEER]);
  const peer = peerOut ? (JSON.parse(peerOut) as { rss0: number; rss1: number; ms_per_step: number; add_ms: number; softmax_ms: number; torch: string }) : null;
  if (!peer) console.error(`engine bench: no PyTorch peer (needs ${PYTHON} with torch: apt-get install -y python3-torch); peer columns are null`);
  const peerName = peer ? `torch-cpu ${peer.torch} (${THREADS} threads)` : null;

  rows.push(figure('rss-growth-10k-steps', growth(pinned.rss), '%', peerName, peer ? growth([peer.rss0, peer.rss1]) : null));
  rows.push(figure('rss-growth-10k-steps-default-v8-heap', growth(plain.rss), '%', peerName, peer ? growth([peer.rss0, peer.rss1]) : null));
  rows.push(figure('retained-heap-growth-10k-steps', growth(pinned.retained), '%'));
  rows.push(figure('rss-at-step-10k', pinned.rss[1] / 2 ** 20, 'MB', peerName, peer ? peer.rss1 / 2 ** 20 : null));
  rows.push(throughput('mlp-train-steps', 1000 / pinned.msPerStep, 'steps/s', peerName, peer ? 1000 / peer.ms_per_step : null));
  const mbs = (r: LoopReport) => `${(r.rss[0] / 2 ** 20).toFixed(1)} -> ${(r.rss[1] / 2 ** 20).toFixed(1)} MB`;
  console.log(`  RSS at steps ${FROM} and ${STEPS}: ${mbs(pinned)} (young generation pinned), ${mbs(plain)} (default V8 flags)`);
  console.log(`  loss ${pinned.loss[0].toFixed(4)} at step ${FROM} -> ${pinned.loss[1].toFixed(4)} at step ${STEPS}`);

  // Op throughput on float32.
  const n = 256;
  const [ma, mb] = [T.randn([n, n]), T.randn([n, n])];
  // as many repetitions as the peers take (torch_cpu.py's gemm: 1e10 / 2n³; the elementwise ops: 50)
  const gemmMs = timeMs(() => T.matmul(ma, mb), Math.max(3, Math.floor(1e10 / (2 * n ** 3))));
  let gemmPeer: { value: number; torch: string } | null = null;
  if (!existsSync(TORCH_CPU)) console.error(`engine bench: ${TORCH_CPU} is missing; the matmul row has no peer`);
  else {
    const line = python([TORCH_CPU, 'gemm', '--sizes', String(n), '--threads', String(THREADS)]);
    if (line) gemmPeer = JSON.parse(line.trim().split('\n')[0]!) as { value: number; torch: string };
  }
  rows.push(throughput(`matmul-${n}`, (2 * n ** 3) / gemmMs / 1e6, 'GFLOP/s', gemmPeer && `torch-cpu ${gemmPeer.torch} (${THREADS} threads)`, gemmPeer?.value ?? null));
  const [a, b] = [T.randn([1 << 20]), T.randn([1 << 20])];
  const addMs = timeMs(() => T.add(a, b), 50);
  rows.push(throughput('add-1M', (1 << 20) / addMs / 1e3, 'Melem/s', peerName, peer ? (1 << 20) / peer.add_ms / 1e3 : null));
  const s = T.randn([256, 1024]);
  const softmaxMs = timeMs(() => T.softmax(s, -1), 50);
  rows.push(throughput('softmax-256x1024', (256 * 1024) / softmaxMs / 1e3, 'Melem/s', peerName, peer ? (256 * 1024) / peer.softmax_ms / 1e3 : null));

  const path = writeResults('engine', rows);
  for (const r of rows) console.log(`  ${r.name}: ${r.value} ${r.unit}${r.peer_value !== null ? `  (peer ${r.peer_value}${r.ratio !== null ? `, ratio ${r.ratio}` : ''})` : ''}`);
  console.log(`wrote ${path}`);
  const rssRow = rows[0]!;
  if (rssRow.value >= 5) console.error(`engine bench: rss-growth-10k-steps is ${rssRow.value}%, over the 5% bound`);
}

if (process.argv.includes('--mlp-loop') && import.meta.url === pathToFileURL(process.argv[1]!).href) {
  console.log(JSON.stringify(mlpLoop()));
}

// Shared terminal output for the CLI: progress bars (rate, ETA), tables and JSON.
import { InvalidArgumentError } from '@commander-js/extra-typings';
import cliProgress from 'cli-progress';

/** Options of a progress bar. */
export interface ProgressOptions {
  unit?: string;
  /** Nothing at all (--json, --quiet). */
  quiet?: boolean;
  /** Seconds between the plain lines printed when stderr is not a terminal (a log file, CI). Default 10. */
  lineEvery?: number;
}

/** "1h 02m", "3m 20s", "45s". */
export function formatDuration(seconds: number): string {
  const s = Math.round(seconds);
  if (s >= 3600) return `${Math.floor(s / 3600)}h ${String(Math.floor((s % 3600) / 60)).padStart(2, '0')}m`;
  if (s >= 60) return `${Math.floor(s / 60)}m ${String(s % 60).padStart(2, '0')}s`;
  return `${s}s`;
}

/**
 * Progress on stderr: count, rate and ETA. On a terminal, a bar redrawn in place; elsewhere (a log, CI) a plain line
 * every `lineEvery` seconds and one at the end, as tqdm does in logs. The rate is an exponential moving average of
 * recent updates (early steps are slow: warm-up, compilation), and the ETA is shown once it means something: after
 * 5 s and 2% of the work.
 */
export function progressBar(label: string, total: number, opts: ProgressOptions = {}) {
  const unit = opts.unit ?? 'items';
  const tty = process.stderr.isTTY === true;
  const enabled = !opts.quiet;
  const lineEvery = (opts.lineEvery ?? 10) * 1000;
  const bar = new cliProgress.SingleBar(
    { format: `${label} |{bar}| {percentage}% {value}/{total} ${unit} | {rate} ${unit}/s | {eta} {extra}`, stream: process.stderr, hideCursor: true },
    cliProgress.Presets.shades_classic,
  );
  const start = Date.now();
  let started = false, stopped = false, lastLine = start, lastTime = start, lastValue = 0, rate = 0, current = 0, extraText = '';
  const eta = (now: number) => {
    const elapsed = (now - start) / 1000;
    if (elapsed < 5 || current < 0.02 * total || rate <= 0) return 'ETA --';
    return `ETA ${formatDuration((total - current) / rate)}`;
  };
  const line = (now: number) => {
    const pct = total > 0 ? Math.floor((100 * current) / total) : 0;
    process.stderr.write(`${label} ${pct}% ${formatNumber(current)}/${formatNumber(total)} ${unit} | ${formatNumber(rate)} ${unit}/s | ${eta(now)} | ${formatDuration((now - start) / 1000)} ${extraText}\n`);
  };
  return {
    update(value: number, extra = '') {
      if (!enabled || stopped) return;
      const now = Date.now();
      const dt = (now - lastTime) / 1000;
      if (dt > 0 && value > lastValue) {
        const instant = (value - lastValue) / dt;
        // A short memory for the first updates, then about the last 20 (each weighs 10%).
        rate = rate === 0 ? instant : 0.9 * rate + 0.1 * instant;
        lastTime = now;
        lastValue = value;
      }
      current = value;
      extraText = extra;
      if (tty) {
        if (!started) { bar.start(total, 0, { rate: '0', eta: 'ETA --', extra: '' }); started = true; }
        bar.update(value, { rate: formatNumber(rate), eta: eta(now), extra });
      } else if (now - lastLine >= lineEvery) {
        lastLine = now;
        line(now);
      }
    },
    setTotal(n: number) { total = n; if (started) bar.setTotal(n); },
    stop() {
      if (!enabled || stopped) return;
      stopped = true;
      if (started) bar.stop();
      else if (!tty && current > 0) line(Date.now());
    },
  };
}

/** What a corpus read counted of invalid UTF-8 (text/corpus.ts's CorpusStats has it). */
export interface InvalidUtf8 {
  invalidSequences: number;
  invalidBytes: number;
  invalidFiles: readonly { path: string; sequences: number }[];
}

/** Warns on stderr about invalid UTF-8 that a read replaced with U+FFFD (the work goes on), naming the files. */
export function warnInvalidUtf8(s: InvalidUtf8): void {
  if (s.invalidSequences === 0) return;
  const files = s.invalidFiles.map((f) => `${f.path} (${f.sequences})`).join(', ');
  console.error(`warning: ${formatNumber(s.invalidSequences)} invalid UTF-8 sequences (${formatNumber(s.invalidBytes)} bytes) replaced with U+FFFD in ${s.invalidFiles.length} file(s): ${files}`);
}

/** Formats a number compactly for tables and progress bars (12,345 / 1.23e-5 / 0.1234). */
export function formatNumber(x: number): string {
  if (!Number.isFinite(x)) return String(x);
  if (Number.isInteger(x)) return x.toLocaleString('en-US');
  const a = Math.abs(x);
  if (a !== 0 && (a < 1e-3 || a >= 1e6)) return x.toExponential(3);
  return a >= 100 ? x.toFixed(1) : x.toPrecision(4);
}

/** Renders rows as an aligned plain-text table with a header line. */
export function table(rows: Record<string, unknown>[], columns?: string[]): string {
  const cols = columns ?? [...new Set(rows.flatMap((r) => Object.keys(r)))];
  const cell = (v: unknown) => (typeof v === 'number' ? formatNumber(v) : v === null || v === undefined ? '-' : String(v));
  const cells = rows.map((r) => cols.map((c) => cell(r[c])));
  const widths = cols.map((c, i) => Math.max(c.length, ...cells.map((r) => r[i]!.length)));
  const line = (vals: string[]) => vals.map((v, i) => v.padEnd(widths[i]!)).join('  ').trimEnd();
  return [line(cols), line(widths.map((w) => '-'.repeat(w))), ...cells.map(line)].join('\n');
}

function parser(test: (n: number) => boolean, what: string) {
  return (value: string): number => {
    const n = Number(value);
    // InvalidArgumentError makes commander name the option: "option '--batch <n>' argument '0' is invalid. ..."
    if (value.trim() === '' || !test(n)) throw new InvalidArgumentError(`It must be ${what}.`);
    return n;
  };
}

/** Commander option parsers that reject anything else, naming the value. */
export const parse = {
  int: parser(Number.isInteger, 'an integer'),
  count: parser((n) => Number.isInteger(n) && n >= 0, 'a non-negative integer'),
  positiveInt: parser((n) => Number.isInteger(n) && n > 0, 'a positive integer'),
  number: parser(Number.isFinite, 'a number'),
  nonNegative: parser((n) => Number.isFinite(n) && n >= 0, 'a non-negative number'),
  positive: parser((n) => Number.isFinite(n) && n > 0, 'a positive number'),
  fraction: parser((n) => Number.isFinite(n) && n >= 0 && n <= 1, 'a number in [0, 1]'),
  unitInterval: parser((n) => Number.isFinite(n) && n >= 0 && n < 1, 'a number in [0, 1)'),
  probability: parser((n) => Number.isFinite(n) && n > 0 && n <= 1, 'a number in (0, 1]'),
  atLeastOne: parser((n) => Number.isFinite(n) && n >= 1, 'a number >= 1'),
};

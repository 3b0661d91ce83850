// Shared terminal output for the CLI: progress bars (rate, ETA), tables and JSON.
import cliProgress from 'cli-progress';

/** A progress bar on stderr showing count, rate and ETA; silent when stderr is not a terminal or `quiet`. */
export function progressBar(label: string, total: number, opts: { unit?: string; quiet?: boolean } = {}) {
  const unit = opts.unit ?? 'items';
  const enabled = !opts.quiet && process.stderr.isTTY === true;
  const bar = new cliProgress.SingleBar(
    {
      format: `${label} |{bar}| {percentage}% {value}/{total} ${unit} | {rate} ${unit}/s | ETA {eta_formatted} {extra}`,
      stream: process.stderr,
      hideCursor: true,
      noTTYOutput: false,
    },
    cliProgress.Presets.shades_classic,
  );
  const start = Date.now();
  let started = false;
  return {
    update(value: number, extra = '') {
      if (!enabled) return;
      if (!started) { bar.start(total, 0, { rate: '0', extra: '' }); started = true; }
      const secs = (Date.now() - start) / 1000;
      bar.update(value, { rate: secs > 0 ? formatNumber(value / secs) : '0', extra });
    },
    setTotal(n: number) { total = n; if (started) bar.setTotal(n); },
    stop() { if (started) bar.stop(); },
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
    if (value.trim() === '' || !test(n)) throw new Error(`not ${what}: ${value}`);
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
};

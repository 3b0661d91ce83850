// `pretrain lineage`: --help, a small run of the demo preset on its bundled data (one model, one task, small budgets)
// with --json, the files it writes, and the errors of bad flags.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const CLI = fileURLToPath(new URL('../../src/cli/main.ts', import.meta.url));
const run = (...args: string[]) => spawnSync(process.execPath, ['--import', 'tsx', CLI, ...args], { encoding: 'utf8' });

test('pretrain lineage --help lists the presets, the budgets with both defaults, and pretrain --help names the no-argument demo', () => {
  const help = run('lineage', '--help');
  assert.equal(help.status, 0, help.stderr);
  for (const flag of ['--preset', '--lang', '--out', '--cache', '--models', '--labels', '--seeds', '--bert-steps', '--json', '--overwrite']) assert.match(help.stdout, new RegExp(flag));
  assert.match(help.stdout, /--gpt-steps <n>\s+GPT steps \(default: demo 200, full 3000\)/);
  const top = run('--help');
  assert.equal(top.status, 0);
  assert.match(top.stdout, /lineage/);
  assert.match(top.stdout, /With no arguments, pretrain runs the main job: the lineage demo/);
});

test('pretrain lineage: the demo preset, cut to one model and task, writes lineage.json, lineage.md and pictures and prints the claims as JSON', () => {
  const out = mkdtempSync(join(tmpdir(), 'lineage-cli-'));
  const r = run('lineage', '--models', 'word2vec-sg', '--tasks', 'author', '--labels', '20', '--seeds', '2', '--w2v-epochs', '1', '--transfer-max-steps', '3', '--out', out, '--json');
  assert.equal(r.status, 0, r.stderr);
  const summary = JSON.parse(r.stdout.trim().split('\n').pop()!) as { cells: number; claims: { id: number; verdict: string; comparisons: number }[]; pictures: string[]; not_run: { what: string }[] };
  assert.equal(summary.cells, 3 * 2); // scratch, frozen, finetune x 2 seeds
  assert.deepEqual(summary.claims.map((c) => c.id), [1, 2, 3, 4, 5, 6]);
  assert.equal(summary.claims[0]!.comparisons, 2); // frozen and fine-tuned against scratch, at 20 labels
  assert.equal(summary.claims[4]!.verdict, 'not run');
  assert.ok(summary.not_run.some((n) => n.what === 'cove'));
  const results = JSON.parse(readFileSync(join(out, 'lineage.json'), 'utf8')) as { format: string; cells: { trainExamples: number; steps: number }[]; config: { preset: string } };
  assert.equal(results.format, 'pretrain.lineage');
  assert.equal(results.config.preset, 'demo');
  assert.ok(results.cells.every((c) => c.trainExamples === 20 && c.steps === 3));
  assert.ok(existsSync(join(out, 'lineage.md')) && summary.pictures.some((p) => p.endsWith('learning-curves.png')));
  assert.ok(existsSync(join(out, 'cache')));
  // the same command again: every cell kept from lineage.json, the pretrained vectors found in the cache
  const again = run('lineage', '--models', 'word2vec-sg', '--tasks', 'author', '--labels', '20', '--seeds', '2', '--w2v-epochs', '1', '--transfer-max-steps', '3', '--out', out);
  assert.equal(again.status, 0, again.stderr);
  assert.match(again.stderr, /word2vec-sg: cached/);
  assert.match(again.stdout, /Pretraining lets a task be learned from few labels\./);
});

test('pretrain lineage: bad flags are errors that name them', () => {
  const zh = run('lineage', '--lang', 'zh');
  assert.equal(zh.status, 1);
  assert.match(zh.stderr, /the demo preset bundles English data only/);
  const model = run('lineage', '--models', 'word2vec,bert');
  assert.equal(model.status, 1);
  assert.match(model.stderr, /--models: expected a comma-separated list of word2vec-sg, .*; got 'word2vec,bert'/);
  const labels = run('lineage', '--labels', '100,0');
  assert.equal(labels.status, 1);
  assert.match(labels.stderr, /--labels: expected positive counts or 'all'/);
  const task = run('lineage', '--tasks', 'sst2');
  assert.equal(task.status, 1);
  assert.match(task.stderr, /--tasks: no task sst2 in the demo preset \(author, names\)/);
});

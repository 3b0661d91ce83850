// `pretrain image`: pretrain LeNet-5 on tiny bar images made here, transfer it frozen to another set (the frozen
// layers stay the pretrained ones), resume a run from its checkpoint, classify files; and the errors of bad input.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { readSafetensors } from '../../src/io/safetensors.js';

const CLI = fileURLToPath(new URL('../../src/cli/main.ts', import.meta.url));
const run = (...args: string[]) => spawnSync(process.execPath, ['--import', 'tsx', CLI, ...args], { encoding: 'utf8' });
const { PNG } = createRequire(import.meta.url)('pngjs') as { PNG: { sync: { write(png: { width: number; height: number; data: Buffer }): Buffer } } };

/** A 12×12 grayscale PNG with a bright bar (horizontal, vertical or diagonal) at offset `at`, over a noise pattern `seed`. */
function bar(kind: 'h' | 'v' | 'd' | 'a', at: number, size = 12, seed = 0): Buffer {
  const data = Buffer.alloc(size * size * 4);
  for (let y = 0; y < size; y++) for (let x = 0; x < size; x++) {
    const on = kind === 'h' ? y === at : kind === 'v' ? x === at : kind === 'd' ? x - y === at - 5 : x + y === at + 5;
    const v = on ? 230 : 20 + ((x * 7 + y * 13 + at + 5 * seed) % 11);
    data.set([v, v, v, 255], (y * size + x) * 4);
  }
  return PNG.sync.write({ width: size, height: size, data });
}

/** root/<class>/<at>-<seed>.png for each class: twenty images, offsets 1…10 over two noise patterns. */
function imageFolder(root: string, classes: Record<string, 'h' | 'v' | 'd' | 'a'>): string {
  for (const [name, kind] of Object.entries(classes)) {
    mkdirSync(join(root, name), { recursive: true });
    for (let at = 1; at <= 10; at++) for (const seed of [0, 1]) writeFileSync(join(root, name, `${at}-${seed}.png`), bar(kind, at, 12, seed));
  }
  return root;
}

const last = (stdout: string) => JSON.parse(stdout.trim().split('\n').pop()!) as Record<string, unknown>;

test('pretrain image pretrain, transfer (frozen, then resumed) and predict on folders of bar images', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'image-cli-'));
  try {
    const source = imageFolder(join(dir, 'bars'), { horizontal: 'h', vertical: 'v' });
    const target = imageFolder(join(dir, 'diagonals'), { down: 'd', up: 'a' });
    const common = ['--batch', '16', '--lr', '0.01', '--eval-every', '20', '--log-every', '10', '--json'];
    const pre = run('image', 'pretrain', '--data', source, '--steps', '60', '--out', join(dir, 'pre'), ...common);
    assert.equal(pre.status, 0, pre.stderr);
    const preSummary = last(pre.stdout);
    assert.equal(preSummary.test_images, 4, 'a tenth of each class held out: two of twenty');
    assert.ok((preSummary.test_accuracy as number) >= 0.75, `bars are easy: ${preSummary.test_accuracy}`);
    assert.ok(existsSync(preSummary.filters as string), 'the first layer\'s filters as a picture');

    const from = join(dir, 'pre', 'checkpoint');
    const args = ['image', 'transfer', '--from', from, '--data', target, '--mode', 'frozen', '--layers', '2', '--checkpoint-every', '10', '--out', join(dir, 'tr'), ...common];
    const first = run(...args, '--steps', '20');
    assert.equal(first.status, 0, first.stderr);
    assert.deepEqual([last(first.stdout).steps, last(first.stdout).layers, last(first.stdout).mode], [20, 2, 'frozen']);
    const again = run(...args, '--steps', '20');
    assert.equal(again.status, 1, 'a second run into the same folder is refused without --resume or --overwrite');
    assert.match(again.stderr, /already holds a run \(checkpoint at step 20\); continue it with --resume/);
    const resumed = run(...args, '--steps', '40', '--resume');
    assert.equal(resumed.status, 0, resumed.stderr);
    assert.equal(last(resumed.stdout).steps, 40);
    const { tensors: before } = await readSafetensors(join(from, 'model.safetensors'));
    const { tensors: after } = await readSafetensors(join(dir, 'tr', 'checkpoint', 'model.safetensors'));
    for (const key of ['conv1.weight', 'conv1.bias', 'conv2.weight']) assert.deepEqual(after.get(key)!.data, before.get(key)!.data, `${key} frozen`);
    assert.notDeepEqual(after.get('fc1.weight')!.data, before.get('fc1.weight')!.data, 'layer 3 trains (re-initialised)');

    const predicted = run('image', 'predict', '--model', from, join(source, 'vertical', '3-0.png'), join(source, 'horizontal'), '--top', '2', '--json',
      '--activations', join(dir, 'acts.png'));
    assert.equal(predicted.status, 0, predicted.stderr);
    const lines = predicted.stdout.trim().split('\n').map((l) => JSON.parse(l) as { file: string; predictions: { label: string; probability: number }[] });
    assert.equal(lines.length, 21, 'one file, then the twenty in the folder');
    assert.equal(lines[0]!.predictions[0]!.label, 'vertical');
    assert.ok(Math.abs(lines[0]!.predictions[0]!.probability + lines[0]!.predictions[1]!.probability - 1) < 1e-5);
    assert.ok(existsSync(join(dir, 'acts.png')), '--activations writes the picture');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('pretrain image: one class, an empty folder, a wrong size without --resize, and --mode frozen without --from are errors that say so', () => {
  const dir = mkdtempSync(join(tmpdir(), 'image-bad-'));
  try {
    const one = imageFolder(join(dir, 'one'), { only: 'h' });
    mkdirSync(join(dir, 'empty'));
    const mixed = imageFolder(join(dir, 'mixed'), { a: 'h', b: 'v' });
    writeFileSync(join(mixed, 'b', 'big.png'), bar('v', 3, 16));
    const expect = (args: string[], pattern: RegExp) => {
      const r = run('image', ...args, '--steps', '1', '--out', join(dir, 'out'), '--overwrite');
      assert.equal(r.status, 1, r.stdout);
      assert.match(r.stderr, pattern);
    };
    expect(['pretrain', '--data', one], /has one class \(only\): a classifier needs at least two/);
    expect(['pretrain', '--data', join(dir, 'empty')], /is empty: expected one subfolder per class/);
    expect(['pretrain', '--data', mixed], /big\.png is 16×16, not 12×12 like the others; resize the images/);
    const resized = run('image', 'pretrain', '--data', mixed, '--resize', '--steps', '2', '--out', join(dir, 'ok'), '--json');
    assert.equal(resized.status, 0, resized.stderr);
    assert.match(resized.stderr, /resized 1 image\(s\) to 12×12/);
    expect(['transfer', '--data', mixed, '--mode', 'frozen'], /--mode frozen needs --from, the pretrained net/);
    const help = run('image', 'transfer', '--help');
    assert.equal(help.status, 0);
    assert.match(help.stdout, /--layers <k>/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

// The package entry loads in a browser: bundled for the browser it imports nothing from Node, and the bundle runs
// in a bare JavaScript context (no process, no require, no file system), where tensors, models and tokenizers work.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { runInNewContext } from 'node:vm';
import { build, type Plugin } from 'esbuild';

const ENTRY = new URL('../../src/index.ts', import.meta.url).pathname;
const BUILTIN = /^(node:|(fs|fs\/promises|path|os|url|v8|zlib|readline|module|worker_threads|child_process|crypto|stream|util)$)/;

/** Bundles the entry for the browser, recording every import of a Node built-in instead of resolving it. */
async function bundle(format: 'esm' | 'iife') {
  const builtins: string[] = [];
  const record: Plugin = {
    name: 'record-node-builtins',
    setup(b) {
      b.onResolve({ filter: BUILTIN }, (args) => {
        builtins.push(`${args.importer.replace(/.*\/src\//, 'src/')} imports ${args.path} (${args.kind})`);
        return { path: args.path, external: true };
      });
    },
  };
  const result = await build({
    entryPoints: [ENTRY], bundle: true, platform: 'browser', format, globalName: 'pretrain', write: false, logLevel: 'silent', plugins: [record],
  });
  return { builtins, code: result.outputFiles[0]!.text };
}

test('the entry bundled for the browser imports nothing from node:', async () => {
  const { builtins, code } = await bundle('esm');
  assert.deepEqual(builtins, [], `Node built-ins reached from the entry:\n${builtins.join('\n')}`);
  assert.ok(code.length > 100_000, 'the bundle holds the library');
});

test('the browser bundle runs in a bare JavaScript context: tensors, autograd, a GPT step and a tokenizer', async () => {
  const { code } = await bundle('iife');
  // What a browser page has beyond the language itself; no process, require or Buffer.
  const context: Record<string, unknown> = { TextEncoder, TextDecoder, URL, performance, console, structuredClone, setTimeout, clearTimeout, queueMicrotask };
  runInNewContext(code, context);
  const lib = context.pretrain as typeof import('../../src/index.js');
  assert.equal(typeof lib.tensor.tensor, 'function');
  assert.equal(lib.backend.getBackend().name, 'cpu-reference', 'outside Node the default backend is the reference one');

  const x = lib.tensor.tensor([[1, 2], [3, 4]]).requireGrad();
  lib.tensor.sum(lib.tensor.mul(x, x)).backward();
  // values made in the other context have its Array prototype: compare them as JSON
  const plain = (v: unknown) => JSON.parse(JSON.stringify(v)) as unknown;
  assert.deepEqual(plain(await x.grad!.toArray()), [[2, 4], [6, 8]]);

  const gpt = new lib.models.GPT(lib.models.gptConfig({ vocab_size: 11, n_positions: 8, n_embd: 16, n_layer: 1, n_head: 2 }));
  const ids = lib.tensor.fromArray(Int32Array.from([1, 2, 3, 4, 5, 6, 7, 8]), [1, 8], { dtype: 'int32' });
  const { loss } = gpt.forward({ inputIds: ids.slice(1, 0, 7), targets: ids.slice(1, 1, 8) });
  const value = await loss!.item();
  assert.ok(Math.abs(value - Math.log(11)) < 0.5, `a fresh GPT's loss is near log(vocab): ${value}`);

  const tok = lib.text.Tokenizer.fromVocabTxt('[PAD]\n[UNK]\n[CLS]\n[SEP]\nthe\ncat\n##s\n');
  assert.deepEqual(plain(tok.encode('the cats').tokens), ['[CLS]', 'the', 'cat', '##s', '[SEP]']);

  assert.throws(() => lib.text.Tokenizer.fromFile('tokenizer.json'), /needs Node's fs module/, 'file functions say what they need');
});

test('the entry loads in Node with every namespace', async () => {
  const lib = await import('../../src/index.js');
  for (const name of ['tensor', 'nn', 'optim', 'backend', 'io', 'text', 'data', 'models', 'tasks']) {
    assert.equal(typeof (lib as Record<string, unknown>)[name], 'object', name);
  }
  assert.notEqual(lib.backend.getBackend().name, 'cpu-reference', 'Node defaults to the fast CPU backend');
});

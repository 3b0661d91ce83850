// Perplexity over texts longer than the context: each token is scored once, with the context HF's sliding-window
// guide gives it, checked against scoring every token on its own prefix window.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as T from '../../src/tensor/index.js';
import { GPT, gptConfig } from '../../src/models/gpt.js';
import { gptPerplexity } from '../../src/tasks/perplexity.js';

/** The NLL of ids[j] given ids[begin..j-1], from the last logits of a forward pass over that prefix. */
async function nll(model: GPT, ids: number[], begin: number, j: number): Promise<number> {
  const x = T.fromArray(ids.slice(begin, j), [1, j - begin], { dtype: 'int32' });
  const logits = T.noGrad(() => model.forward({ inputIds: x }).logits);
  const last = await T.logSoftmax(T.slice(logits, 1, j - begin - 1, j - begin).reshape(-1), -1).data();
  return -last[ids[j]!]!;
}

test('a text longer than the context is scored in overlapping windows, each token once, as HF\'s guide does', async () => {
  T.manualSeed(3);
  const ctx = 8;
  const model = new GPT(gptConfig({ vocab_size: 13, n_positions: ctx, n_embd: 16, n_layer: 1, n_head: 2 })).eval();
  const ids = Array.from({ length: 23 }, (_, i) => (i * 7 + 3) % 13);
  const short = [1, 2, 3];
  for (const stride of [3, 4, 7]) {
    const r = await gptPerplexity(model, [ids, short], { stride });
    assert.equal(r.tokens, ids.length - 1 + short.length - 1);
    assert.equal(r.windowedTexts, 1);
    // token j is scored by the first window reaching it: begin = the smallest multiple of stride with begin + ctx > j
    let want = 0;
    for (let j = 1; j < ids.length; j++) want += await nll(model, ids, Math.max(0, Math.ceil((j + 1 - ctx) / stride) * stride), j);
    for (let j = 1; j < short.length; j++) want += await nll(model, short, 0, j);
    want /= r.tokens;
    assert.ok(Math.abs(r.loss - want) < 1e-5, `stride ${stride}: ${r.loss} vs ${want}`);
  }
  await assert.rejects(gptPerplexity(model, [ids], { stride: 8 }), /stride must be an integer in \[1, 7\]/);
});

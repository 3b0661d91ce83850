// Perplexity of a causal LM over separately encoded texts, with the semantics `pretrain gpt perplexity` documents.
import type { GPT } from '../models/gpt.js';
import { noGrad } from '../tensor/autograd.js';
import * as ops from '../tensor/ops.js';

/** Total predicted tokens, mean next-token negative log-likelihood, and its exponential. */
export interface PerplexityResult {
  tokens: number;
  loss: number;
  perplexity: number;
}

/**
 * Scores each text on its own, truncated to the model's context: every token after the first is predicted from
 * the ones before it. `loss` is the mean NLL over all predicted tokens of all texts (texts with fewer than two
 * tokens predict nothing).
 */
export async function gptPerplexity(model: GPT, texts: readonly number[][]): Promise<PerplexityResult> {
  const ctx = model.config.n_positions;
  let total = 0, count = 0;
  model.eval();
  for (const ids of texts) {
    const seq = ids.slice(0, ctx);
    if (seq.length < 2) continue;
    const n = seq.length - 1;
    const x = ops.fromArray(seq.slice(0, n), [1, n], { dtype: 'int32' });
    const y = ops.fromArray(seq.slice(1), [1, n], { dtype: 'int32' });
    const loss = noGrad(() => ops.crossEntropy(ops.reshape(model.forward({ inputIds: x }).logits, [n, -1]), ops.reshape(y, [n]), { reduction: 'sum' }));
    total += await loss.item();
    count += n;
  }
  const loss = count > 0 ? total / count : NaN;
  return { tokens: count, loss, perplexity: Math.exp(loss) };
}

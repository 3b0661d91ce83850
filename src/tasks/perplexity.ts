// Perplexity of a causal LM over separately encoded texts, with the sliding window of Hugging Face's "Perplexity of
// fixed-length models" guide for texts longer than the model's context.
import type { GPT } from '../models/gpt.js';
import { noGrad } from '../tensor/autograd.js';
import * as ops from '../tensor/ops.js';

/** Total predicted tokens, mean next-token negative log-likelihood, and its exponential. */
export interface PerplexityResult {
  tokens: number;
  loss: number;
  perplexity: number;
  /** Texts longer than the context, scored through overlapping windows. */
  windowedTexts: number;
}

/**
 * Scores each text on its own: every token after the first is predicted from the ones before it, and `loss` is the
 * mean NLL over all predicted tokens of all texts (texts with fewer than two tokens predict nothing). A text longer
 * than the context is read in windows of the context's length that start `stride` tokens apart (default: half the
 * context; at most context − 1, so that windows overlap); each token is scored once, in the first window that
 * reaches it, so it sees at least context − stride tokens before it — nothing is cut.
 */
export async function gptPerplexity(model: GPT, texts: readonly number[][], opts: { stride?: number } = {}): Promise<PerplexityResult> {
  const ctx = model.config.n_positions;
  const stride = opts.stride ?? Math.max(1, Math.floor(ctx / 2));
  // Windows must overlap by a token at least: a window's first token is its context, never its target.
  if (texts.some((t) => t.length > ctx) && !(Number.isInteger(stride) && stride > 0 && stride < ctx)) throw new RangeError(`gptPerplexity: stride must be an integer in [1, ${ctx - 1}], got ${stride}`);
  let total = 0, count = 0, windowedTexts = 0;
  model.eval();
  for (const ids of texts) {
    if (ids.length < 2) continue;
    if (ids.length > ctx) windowedTexts++;
    let scoredUpTo = 1; // absolute index of the first target not scored yet (token 0 is never predicted)
    for (let begin = 0; scoredUpTo < ids.length; begin += stride) {
      const end = Math.min(begin + ctx, ids.length);
      const n = end - begin - 1;
      // targets are ids[begin + 1 .. end - 1]; those before scoredUpTo were scored by an earlier window
      const targets = ids.slice(begin + 1, end).map((id, i) => (begin + 1 + i >= scoredUpTo ? id : -100));
      const x = ops.fromArray(ids.slice(begin, end - 1), [1, n], { dtype: 'int32' });
      const y = ops.fromArray(targets, [1, n], { dtype: 'int32' });
      const loss = noGrad(() => ops.crossEntropy(ops.reshape(model.forward({ inputIds: x }).logits, [n, -1]), ops.reshape(y, [n]), { reduction: 'sum' }));
      total += await loss.item();
      count += end - scoredUpTo;
      scoredUpTo = end;
    }
  }
  const loss = count > 0 ? total / count : NaN;
  return { tokens: count, loss, perplexity: Math.exp(loss), windowedTexts };
}

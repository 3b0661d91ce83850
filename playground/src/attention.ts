// A GPT's attention weights for one prompt, per head, as transformers' output_attentions gives them: the model does
// not return them (its fused kernel keeps them internal), so they are recomputed from each block's input with the
// block's own ln_1 and c_attn, softmax(q kᵀ / √d) under the causal mask. test/playground/attention.test.ts checks
// that these weights times the values, through c_proj, give the block's attention output.
import { models, tensor as T } from 'pretrain';

/** Per layer, per head, the [T, T] weights (row: query position; each row sums to 1, zero above the diagonal). */
export async function attentionWeights(model: models.GPT, ids: readonly number[]): Promise<Float32Array[][]> {
  const { n_head: H, n_embd: C } = model.config;
  const n = ids.length, D = C / H;
  const wasTraining = model.training;
  model.eval();
  // the graph is built under noGrad, synchronously (a noGrad scope would end at an await); read afterwards
  const weights = T.noGrad(() => {
    const inputIds = T.fromArray(Int32Array.from(ids), [1, n], { dtype: 'int32' });
    const { hiddenStates } = model.forward({ inputIds, outputHiddenStates: true });
    // -inf above the diagonal: position i sees 0..i
    const hide = new Float32Array(n * n);
    for (let i = 0; i < n; i++) for (let j = i + 1; j < n; j++) hide[i * n + j] = -Infinity;
    const causal = T.fromArray(hide, [1, 1, n, n]);
    const heads = (x: T.Tensor) => T.transpose(T.reshape(x, [1, n, H, D]), 1, 2); // (1, H, T, D)
    return model.transformer.h.map((block, l) => {
      const [q, k] = T.split(block.attn.c_attn.forward(block.ln_1.forward(hiddenStates![l]!)), C, -1) as [T.Tensor, T.Tensor];
      return T.softmax(T.add(T.mul(T.matmul(heads(q), T.transpose(heads(k))), 1 / Math.sqrt(D)), causal), -1); // (1, H, T, T)
    });
  });
  model.train(wasTraining);
  const data = (await Promise.all(weights.map((w) => w.data()))) as Float32Array[];
  return data.map((w) => Array.from({ length: H }, (_, h) => w.slice(h * n * n, (h + 1) * n * n)));
}

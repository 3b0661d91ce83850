// Fill-mask with a BERT masked-LM, with the semantics of Hugging Face's fill-mask pipeline: the text is encoded
// with the tokenizer's special tokens, and each [MASK] position gets a softmax over the vocabulary.
import { BertForPreTraining, type BertForMaskedLM } from '../models/bert.js';
import type { Tensor } from '../tensor/tensor.js';
import { noGrad } from '../tensor/autograd.js';
import * as ops from '../tensor/ops.js';

/** One candidate for a masked position. */
export interface FillMaskCandidate {
  token: string;
  tokenId: number;
  score: number;
}

/** What fill-mask needs from a tokenizer (src/text's Tokenizer has it). */
export interface FillMaskTokenizer {
  encode(text: string): { ids: number[] };
  tokenToId(token: string): number | undefined;
  idToToken(id: number): string | undefined;
}

/** A BERT with a masked-LM head: a pretraining checkpoint, or a BertForMaskedLM (most published BERT checkpoints). */
export type MaskedLanguageModel = BertForPreTraining | BertForMaskedLM;

/** The `topK` most likely tokens at each [MASK] of `text`, best first (one list per mask, in text order). */
export async function fillMask(model: MaskedLanguageModel, tokenizer: FillMaskTokenizer, text: string, topK = 5, maskToken = '[MASK]'): Promise<FillMaskCandidate[][]> {
  const maskId = tokenizer.tokenToId(maskToken);
  if (maskId === undefined) throw new Error(`fillMask: the tokenizer has no ${maskToken} token`);
  const { ids } = tokenizer.encode(text);
  const positions = ids.flatMap((id, i) => (id === maskId ? [i] : []));
  if (positions.length === 0) throw new Error(`fillMask: no ${maskToken} in ${JSON.stringify(text)}`);
  if (ids.length > model.config.max_position_embeddings) {
    throw new Error(`fillMask: ${ids.length} tokens exceed the model's ${model.config.max_position_embeddings} positions`);
  }
  model.eval();
  const probs = noGrad(() => {
    const inputIds = ops.fromArray(ids, [1, ids.length], { dtype: 'int32' });
    const at = ops.fromArray(positions, [1, positions.length], { dtype: 'int32' });
    let logits: Tensor; // (1, masks, vocab)
    if (model instanceof BertForPreTraining) logits = model.forward({ inputIds, maskedPositions: at }).predictionLogits;
    else {
      const all = model.forward({ inputIds }).logits;
      logits = ops.gather(all, 1, ops.expand(ops.reshape(at, [1, positions.length, 1]), [1, positions.length, all.shape[2]!]));
    }
    return ops.softmax(logits, -1);
  });
  const data = await probs.data();
  const V = model.config.vocab_size;
  return positions.map((_, m) => {
    const row = data.subarray(m * V, (m + 1) * V);
    const order = Array.from(row.keys()).sort((a, b) => row[b]! - row[a]!).slice(0, topK);
    return order.map((id) => ({ token: tokenizer.idToToken(id) ?? `[${id}]`, tokenId: id, score: row[id]! }));
  });
}

// Parameter groups for the usual pretraining recipe: weight decay on matrices, none on biases and norm weights.
import type { Tensor } from '../tensor/tensor.js';
import type { NamedTensor } from './optimizer.js';

/** A parameter group with its own weight decay, accepted by every optimizer. */
export interface DecayGroup {
  params: NamedTensor[];
  weightDecay: number;
}

/** Whether a named parameter is exempt from weight decay. */
export type NoDecayRule = (name: string, p: Tensor) => boolean;

/**
 * The default exemption, the union of nanoGPT's and Hugging Face's rules: tensors of rank < 2 (biases, LayerNorm
 * gains), and names ending in `bias`, `LayerNorm.weight` (BERT) or `ln_*.weight` (GPT-2).
 */
export const defaultNoDecay: NoDecayRule = (name, p) =>
  p.rank < 2 || /(^|\.)bias$/.test(name) || /(^|\.)LayerNorm\.weight$/.test(name) || /(^|\.)ln_[^.]*\.weight$/.test(name);

/**
 * Two groups over named parameters: one with `weightDecay`, one with none (per `noDecay`). Pass the result to
 * AdamW; names key the optimizer's saved state. Empty groups are kept so that group indices stay fixed.
 */
export function weightDecayGroups(named: Iterable<NamedTensor>, weightDecay: number, noDecay: NoDecayRule = defaultNoDecay): DecayGroup[] {
  const decay: NamedTensor[] = [], keep: NamedTensor[] = [];
  for (const entry of named) (noDecay(entry[0], entry[1]) ? keep : decay).push(entry);
  return [{ params: decay, weightDecay }, { params: keep, weightDecay: 0 }];
}

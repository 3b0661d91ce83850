// Our outputs in the layout of scripts/gen_hf_fixtures.py's reference.json, and their comparison with transformers'.
// Used by test/io/hf-fixtures.test.ts (against committed fixtures) and scripts/check-hf-roundtrip.ts (against
// transformers loading checkpoints saved here, on the GPU machine).
import * as T from '../src/tensor/index.js';
import type { PretrainedModel } from '../src/io/hf.js';
import { GPT } from '../src/models/gpt.js';

/** The fixed inputs both sides run: [B][T] each. */
export interface ReferenceInputs { input_ids: number[][]; attention_mask: number[][]; token_type_ids: number[][] }

/** reference.json: the inputs and transformers' outputs, flattened row-major (float32 values). */
export interface Reference {
  inputs: ReferenceInputs;
  logits?: number[];
  prediction_logits?: number[];
  seq_relationship_logits?: number[];
  pooler_output?: number[];
  last_hidden_state?: number[];
  hidden_states: number[][];
}

const ints = (rows: number[][]) => T.fromArray(rows.flat(), [rows.length, rows[0]!.length], { dtype: 'int32' });
const floats = async (t: T.Tensor) => Array.from(await t.data());

/** Runs the model on the reference's inputs and returns the outputs transformers reports for that architecture. */
export async function ourOutputs(model: PretrainedModel, inputs: ReferenceInputs, architecture: string): Promise<Omit<Reference, 'inputs'>> {
  model.eval();
  if (model instanceof GPT) {
    // as the fixture script runs GPT2LMHeadModel: input ids alone
    const o = T.noGrad(() => model.forward({ inputIds: ints(inputs.input_ids), outputHiddenStates: true }));
    return { logits: await floats(o.logits), hidden_states: await Promise.all(o.hiddenStates!.map(floats)) };
  }
  const o = T.noGrad(() => model.forward({ inputIds: ints(inputs.input_ids), attentionMask: ints(inputs.attention_mask), tokenTypeIds: ints(inputs.token_type_ids) }));
  const hidden_states = await Promise.all(o.hiddenStates.map(floats));
  if (architecture === 'BertModel') {
    return { pooler_output: await floats(o.poolerOutput), last_hidden_state: await floats(o.lastHiddenState), hidden_states };
  }
  return { prediction_logits: await floats(o.predictionLogits), seq_relationship_logits: await floats(o.seqRelationshipLogits), hidden_states };
}

/** max |ours − theirs| / max |theirs|: the relative error of a whole output. */
export function relativeError(ours: ArrayLike<number>, theirs: ArrayLike<number>): number {
  if (ours.length !== theirs.length) return Infinity;
  let diff = 0;
  let scale = 0;
  for (let i = 0; i < theirs.length; i++) {
    diff = Math.max(diff, Math.abs(ours[i]! - theirs[i]!));
    scale = Math.max(scale, Math.abs(theirs[i]!));
  }
  return diff / (scale || 1);
}

/** Every output transformers gave, with our relative error on it (hidden states as hidden_states[i]). */
export function compareOutputs(ours: Omit<Reference, 'inputs'>, theirs: Reference): { name: string; error: number }[] {
  const rows: { name: string; error: number }[] = [];
  for (const name of ['logits', 'prediction_logits', 'seq_relationship_logits', 'pooler_output', 'last_hidden_state'] as const) {
    const t = theirs[name];
    if (t) rows.push({ name, error: ours[name] ? relativeError(ours[name]!, t) : Infinity });
  }
  if (ours.hidden_states.length !== theirs.hidden_states.length) rows.push({ name: 'hidden_states (count)', error: Infinity });
  theirs.hidden_states.forEach((t, i) => rows.push({ name: `hidden_states[${i}]`, error: ours.hidden_states[i] ? relativeError(ours.hidden_states[i]!, t) : Infinity }));
  return rows;
}

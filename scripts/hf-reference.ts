// Our outputs in the layout of scripts/gen_hf_fixtures.py's reference.json, and their comparison with transformers'.
// Used by test/io/hf-fixtures.test.ts (against committed fixtures) and scripts/check-hf-roundtrip.ts (against
// transformers loading checkpoints saved here, on the GPU machine).
import * as T from '../src/tensor/index.js';
import {
  BertForMaskedLM, BertForMultipleChoice, BertForPreTraining, BertForSequenceClassification, BertForTokenClassification, BertModel,
} from '../src/models/bert.js';
import { GPT, GPT2ForSequenceClassification, GPT2ForTokenClassification, GPT2Model } from '../src/models/gpt.js';
import type { PretrainedModule } from '../src/models/family.js';

type Nested = number | Nested[];

/** The fixed inputs both sides run: [B][T] each ([B][choices][T] for multiple choice). */
export interface ReferenceInputs { input_ids: Nested[]; attention_mask: Nested[]; token_type_ids: Nested[] }

/** reference.json: the inputs, the labels passed (if the head takes them) and transformers' outputs, flattened row-major. */
export interface Reference {
  inputs: ReferenceInputs;
  labels?: Nested[] | null;
  loss?: number;
  logits?: number[];
  prediction_logits?: number[];
  seq_relationship_logits?: number[];
  pooler_output?: number[];
  last_hidden_state?: number[];
  hidden_states: number[][];
}

/** What we compare: the same names, with our values. */
export type Outputs = Omit<Reference, 'inputs' | 'labels'>;

function shapeOf(x: Nested): number[] {
  return Array.isArray(x) ? [x.length, ...shapeOf(x[0]!)] : [];
}

/** A nested array as a tensor: int32 when every value is an integer (ids, class labels), else float32. */
function tensorOf(x: Nested[], dtype?: 'int32' | 'float32'): T.Tensor {
  const flat = (x as unknown[]).flat(Infinity) as number[];
  return T.fromArray(flat, shapeOf(x), { dtype: dtype ?? (flat.every(Number.isInteger) ? 'int32' : 'float32') });
}

const floats = async (t: T.Tensor) => Array.from(await t.data());
const hidden = (hs: T.Tensor[]) => Promise.all(hs.map(floats));

/** Runs the model on the reference's inputs (and labels) and returns the outputs transformers reports for its class. */
export async function ourOutputs(model: PretrainedModule, reference: Pick<Reference, 'inputs' | 'labels'>): Promise<Outputs> {
  model.eval();
  const { inputs } = reference;
  const inputIds = tensorOf(inputs.input_ids, 'int32');
  const labelRows = reference.labels ?? undefined;
  return T.noGrad(async () => {
    if (model instanceof GPT || model instanceof GPT2Model || model instanceof GPT2ForSequenceClassification || model instanceof GPT2ForTokenClassification) {
      // as the fixture script runs GPT-2: input ids alone
      if (model instanceof GPT2Model) {
        const o = model.forward({ inputIds });
        return { last_hidden_state: await floats(o.lastHiddenState), hidden_states: await hidden(o.hiddenStates) };
      }
      if (model instanceof GPT) {
        // transformers shifts the labels inside: position t predicts labels[t + 1]
        const targets = labelRows && T.fromArray((labelRows as number[][]).flatMap((row) => [...row.slice(1), -100]), shapeOf(labelRows), { dtype: 'int32' });
        const o = model.forward({ inputIds, targets, outputHiddenStates: true });
        return { logits: await floats(o.logits), ...(o.loss ? { loss: await o.loss.item() } : {}), hidden_states: await hidden(o.hiddenStates!) };
      }
      const o = model.forward({ inputIds, labels: labelRows && tensorOf(labelRows) });
      return { logits: await floats(o.logits), ...(o.loss ? { loss: await o.loss.item() } : {}), hidden_states: await hidden(o.hiddenStates) };
    }
    const bertInputs = { inputIds, attentionMask: tensorOf(inputs.attention_mask, 'int32'), tokenTypeIds: tensorOf(inputs.token_type_ids, 'int32') };
    if (model instanceof BertModel) {
      const o = model.forward(bertInputs);
      return { ...(o.poolerOutput ? { pooler_output: await floats(o.poolerOutput) } : {}), last_hidden_state: await floats(o.lastHiddenState), hidden_states: await hidden(o.hiddenStates) };
    }
    if (model instanceof BertForPreTraining) {
      const o = model.forward(bertInputs);
      return { prediction_logits: await floats(o.predictionLogits), seq_relationship_logits: await floats(o.seqRelationshipLogits), hidden_states: await hidden(o.hiddenStates) };
    }
    if (model instanceof BertForMaskedLM || model instanceof BertForSequenceClassification || model instanceof BertForTokenClassification ||
      model instanceof BertForMultipleChoice) {
      const o = model.forward({ ...bertInputs, labels: labelRows && tensorOf(labelRows) });
      return { logits: await floats(o.logits), ...(o.loss ? { loss: await o.loss.item() } : {}), hidden_states: await hidden(o.hiddenStates) };
    }
    throw new Error(`hf-reference: no reference layout for ${model.constructor.name}`);
  });
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
export function compareOutputs(ours: Outputs, theirs: Reference): { name: string; error: number }[] {
  const rows: { name: string; error: number }[] = [];
  for (const name of ['logits', 'prediction_logits', 'seq_relationship_logits', 'pooler_output', 'last_hidden_state'] as const) {
    const t = theirs[name];
    if (t) rows.push({ name, error: ours[name] ? relativeError(ours[name]!, t) : Infinity });
  }
  if (theirs.loss !== undefined && theirs.loss !== null) rows.push({ name: 'loss', error: ours.loss === undefined ? Infinity : relativeError([ours.loss], [theirs.loss]) });
  if (ours.hidden_states.length !== theirs.hidden_states.length) rows.push({ name: 'hidden_states (count)', error: Infinity });
  theirs.hidden_states.forEach((t, i) => rows.push({ name: `hidden_states[${i}]`, error: ours.hidden_states[i] ? relativeError(ours.hidden_states[i]!, t) : Infinity }));
  return rows;
}

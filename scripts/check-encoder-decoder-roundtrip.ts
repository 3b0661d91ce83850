// Encoder-decoders saved here load in transformers' EncoderDecoderModel with the same outputs: builds bert2bert,
// bert2gpt2 (widths differ: enc_to_dec_proj), gpt2gpt2 and a tied bert2bert, every weight perturbed, saves each with
// savePretrained, has transformers load it (scripts/check_encoder_decoder_hf.py, in PRETRAIN_PYTHON or python3) and
// compares logits, loss and both sides' hidden states with ours. Run where transformers is installed (the GPU machine):
//   node --import tsx scripts/check-encoder-decoder-roundtrip.ts
// Exits 1 when an output differs by more than 1e-4 relative error.
import { spawnSync } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import * as T from '../src/tensor/index.js';
import { normalAt } from '../src/tensor/random.js';
import { bertConfig } from '../src/models/bert.js';
import { gptConfig } from '../src/models/gpt.js';
import { EncoderDecoderModel, encoderDecoderConfig, type SideConfig } from '../src/models/encoder-decoder.js';
import { savePretrained } from '../src/models/pretrained.js';
import { relativeError } from './hf-reference.js';

const python = process.env.PRETRAIN_PYTHON || 'python3';
const script = fileURLToPath(new URL('./check_encoder_decoder_hf.py', import.meta.url));
const bert: SideConfig = { model_type: 'bert', ...bertConfig({ vocab_size: 99, hidden_size: 64, num_hidden_layers: 2, num_attention_heads: 4, intermediate_size: 128, max_position_embeddings: 64 }) };
const gpt: SideConfig = { model_type: 'gpt2', ...gptConfig({ vocab_size: 99, n_positions: 64, n_embd: 48, n_layer: 2, n_head: 4 }) };
const cases: [string, SideConfig, SideConfig, boolean][] = [['bert2bert', bert, bert, false], ['bert2gpt2', bert, gpt, false], ['gpt2gpt2', gpt, gpt, false], ['bert2bert-tied', bert, bert, true]];

type Nested = number[][];
const int = (rows: Nested) => T.fromArray(rows.flat(), [rows.length, rows[0]!.length], { dtype: 'int32' });
const float = (rows: Nested) => T.fromArray(rows.flat(), [rows.length, rows[0]!.length]);
let worst = 0;
for (const [i, [name, encoder, decoder, tie]] of cases.entries()) {
  T.manualSeed(i);
  const model = new EncoderDecoderModel(encoderDecoderConfig({ encoder, decoder, decoder_start_token_id: 2, pad_token_id: 0, eos_token_id: 3, tie_encoder_decoder: tie })).eval();
  // N(0, 0.02²) on every weight, as the fixtures do, so LayerNorms and biases are checked too
  const state = new Map<string, T.Tensor>();
  for (const [k, [n, p]] of model.namedParameters().entries()) {
    const d = Float32Array.from((await p.data()) as Float32Array, (v, j) => v + 0.02 * normalAt(1000 * (i + 1) + k, j));
    state.set(n, T.fromArray(d, [...p.shape]));
  }
  model.loadStateDict(state);
  const dir = mkdtempSync(join(tmpdir(), `pretrain-${name}-`));
  await savePretrained(model, dir);
  const res = spawnSync(python, [script, dir], { encoding: 'utf8', maxBuffer: 64 << 20 });
  if (res.status !== 0) { console.error(`${name}: transformers could not load ${dir}:\n${res.stderr}`); process.exit(1); }
  const theirs = JSON.parse(res.stdout.trim().split('\n').pop()!) as { inputs: Record<string, Nested>; logits: number[]; loss: number; hidden_states: number[][]; encoder_hidden_states: number[][] };
  const x = theirs.inputs;
  const out = T.noGrad(() => model.forward({ inputIds: int(x.input_ids!), attentionMask: float(x.attention_mask!), decoderInputIds: int(x.decoder_input_ids!),
    decoderAttentionMask: float(x.decoder_attention_mask!), labels: int(x.decoder_input_ids!) }));
  const rows = [
    { output: 'logits', error: relativeError(await out.logits.data(), theirs.logits) },
    { output: 'loss', error: relativeError([await out.loss!.item()], [theirs.loss]) },
    ...await Promise.all(out.decoderHiddenStates.map(async (h, k) => ({ output: `decoder_hidden_states[${k}]`, error: relativeError(await h.data(), theirs.hidden_states[k] ?? []) }))),
    ...await Promise.all(out.encoderHiddenStates.map(async (h, k) => ({ output: `encoder_hidden_states[${k}]`, error: relativeError(await h.data(), theirs.encoder_hidden_states[k] ?? []) }))),
  ];
  for (const r of rows) worst = Math.max(worst, r.error);
  console.table(rows.map((r) => ({ model: name, ...r, error: r.error.toExponential(2) })));
}
console.log(`worst relative error ${worst.toExponential(2)} (limit 1e-4): ${worst <= 1e-4 ? 'pass' : 'FAIL'}`);
process.exitCode = worst <= 1e-4 ? 0 : 1;

// Warm-starting an encoder-decoder from pretrained checkpoints (Rothe et al. 2020; transformers'
// EncoderDecoderModel.from_encoder_decoder_pretrained): each side from a model directory (ours or transformers',
// BERT or GPT-2, with or without a head) or from scratch, the decoder's cross-attention always new, and so is
// enc_to_dec_proj when the two widths differ. Kept apart from encoder-decoder.ts because it loads through
// pretrained.ts, which registers that file's family.
import { readHfCheckpoint } from '../io/hf.js';
import type { Module } from '../nn/module.js';
import { EncoderDecoderModel, crossAttentionHiddenSize, encoderDecoderConfig, type EncoderDecoderConfig, type SideConfig } from './encoder-decoder.js';
import { loadTensors, modelFamily, type LoadReport } from './pretrained.js';

/** Where one side comes from: a model directory, or a config (a side from scratch). */
export type SideSource = { dir: string } | { config: SideConfig };

/** The token ids and tying of the model to build (transformers sets these on the EncoderDecoderConfig). */
export type WarmStartOptions = Pick<EncoderDecoderConfig, 'decoder_start_token_id' | 'pad_token_id'> & Partial<Pick<EncoderDecoderConfig, 'eos_token_id' | 'tie_encoder_decoder'>>;

/** What warm-starting loaded, per side (null for a side from scratch). */
export interface WarmStartReport {
  encoder: LoadReport | null;
  decoder: LoadReport | null;
  /** Parameters that start random, with their encoder-decoder names (the cross-attention at least, unless from scratch). */
  newlyInitialized: string[];
}

/** A side's config from a model directory's config.json (BERT or GPT-2). */
async function sideOf(source: SideSource, role: string) {
  if ('config' in source) return { config: source.config, checkpoint: null };
  const checkpoint = await readHfCheckpoint(source.dir);
  const type = checkpoint.config.model_type;
  if (type !== 'bert' && type !== 'gpt2') {
    throw new Error(`${checkpoint.configPath}: model_type '${String(type)}' cannot be the ${role} of an encoder-decoder (bert or gpt2)` +
      (type === 'encoder-decoder' ? '; it is one already: load it with loadPretrained' : ''));
  }
  // cross_attention_hidden_size comes along as transformers' AutoConfig keeps it (EncoderDecoderModel then checks it)
  const config = {
    model_type: type, ...modelFamily(type).configFromJson({ ...checkpoint.config, is_decoder: false, add_cross_attention: false }, checkpoint.configPath),
    ...crossAttentionHiddenSize(checkpoint.config, checkpoint.configPath),
  } as SideConfig;
  return { config, checkpoint };
}

/**
 * An encoder-decoder whose sides start from the given checkpoints (the encoder as the base model, whatever head its
 * checkpoint had; the decoder as the causal LM, its LM head loaded when the checkpoint has one) or from scratch. With
 * tie_encoder_decoder, the decoder's weights are the ones both sides keep, as in transformers.
 */
export async function warmStartEncoderDecoder(encoder: SideSource, decoder: SideSource, opts: WarmStartOptions): Promise<{ model: EncoderDecoderModel; report: WarmStartReport }> {
  const enc = await sideOf(encoder, 'encoder'), dec = await sideOf(decoder, 'decoder');
  const model = new EncoderDecoderModel(encoderDecoderConfig({ ...opts, encoder: enc.config, decoder: dec.config }));
  const report: WarmStartReport = {
    encoder: enc.checkpoint && loadTensors(model.encoder, enc.checkpoint.tensors, enc.checkpoint.weightsPath),
    decoder: dec.checkpoint && loadTensors(model.decoder, dec.checkpoint.tensors, dec.checkpoint.weightsPath),
    newlyInitialized: [],
  };
  // New is what no checkpoint filled: by parameter, so that a tied weight (listed once, under the encoder's name)
  // counts as loaded when either side's checkpoint held it.
  const loaded = new Set<unknown>();
  const mark = (side: Module, r: LoadReport | null) => {
    if (r) for (const [name, p] of side.namedParameters()) if (!r.newlyInitialized.includes(name)) loaded.add(p);
  };
  mark(model.encoder, report.encoder);
  mark(model.decoder, report.decoder);
  report.newlyInitialized = model.namedParameters().filter(([, p]) => !loaded.has(p)).map(([n]) => n);
  model.eval();
  return { model, report };
}

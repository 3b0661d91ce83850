// The encoder-decoder Transformer, as Hugging Face's EncoderDecoderModel builds it: any encoder (BERT or GPT-2,
// the base model) and any decoder (BERT or GPT-2 with causal self-attention and a cross-attention block in every
// layer, plus its LM head), joined by the encoder's last states; a projection between them when their widths
// differ (unless the decoder's config sets cross_attention_hidden_size, which must then be both widths); optionally the encoder's weights tied to the decoder's. Each side may start from a pretrained checkpoint
// (warm-start.ts), or from scratch for baselines of the same shape.
//
// References: Rothe, Narayan & Severyn 2020 "Leveraging Pre-trained Checkpoints for Sequence Generation Tasks";
// Vaswani et al. 2017 "Attention Is All You Need"; Hugging Face modeling_encoder_decoder.py. Field names are its
// checkpoint keys (encoder.embeddings.word_embeddings.weight, decoder.bert.encoder.layer.0.crossattention.self.query.weight,
// decoder.transformer.h.0.crossattention.q_attn.weight, enc_to_dec_proj.weight), and config.json nests the two
// sides' configs under `encoder` and `decoder` with model_type 'encoder-decoder', so transformers'
// EncoderDecoderModel.from_pretrained loads what savePretrained writes.
import { Linear, Module, type KVCache, type Parameter } from '../nn/index.js';
import * as ops from '../tensor/ops.js';
import { noGrad } from '../tensor/autograd.js';
import type { Tensor } from '../tensor/tensor.js';
import { BertLMHeadModel, BertModel, bertConfig, bertFamily, type BertConfig } from './bert.js';
import { GPT, GPT2Model, gpt2Family, gptConfig, type GPTConfig } from './gpt.js';
import type { ModelFamily } from './family.js';

/**
 * One side's config: BERT's or GPT-2's, tagged with its model_type as config.json's nested configs are, with
 * PretrainedConfig's `cross_attention_hidden_size` (read on the decoder only; see `encoderDecoderConfig`).
 */
export type SideConfig = (({ model_type: 'bert' } & BertConfig) | ({ model_type: 'gpt2' } & GPTConfig)) & {
  /**
   * The width of the states the decoder's cross-attention reads, when it is not the decoder's own (transformers'
   * PretrainedConfig field; null or absent: unset). Set, it must equal the encoder's width, and there is no
   * enc_to_dec_proj. BERT's and GPT-2's cross-attention project from their own hidden size whatever it says, so
   * for them it can only equal both widths.
   */
  cross_attention_hidden_size?: number | null;
};

/** The model types a side can be. */
export type SideType = SideConfig['model_type'];

/** The encoder-decoder's configuration (transformers' EncoderDecoderConfig fields). */
export interface EncoderDecoderConfig {
  /** The encoder's config (its is_decoder and add_cross_attention are off). */
  encoder: SideConfig;
  /** The decoder's config (BERT's is_decoder and both sides' add_cross_attention are on). */
  decoder: SideConfig;
  /** The first decoder input, which `labels` are shifted right behind (BERT: [CLS]; GPT-2: <|endoftext|>). */
  decoder_start_token_id: number;
  /** Padding of decoder inputs; -100 in labels becomes this when they are shifted into inputs. */
  pad_token_id: number;
  /** The token that ends a target (BERT: [SEP]); null: none, decoding runs to its length limit. */
  eos_token_id: number | null;
  /** The encoder's weights are the decoder base model's, wherever the two have a parameter of the same name. */
  tie_encoder_decoder: boolean;
}

/** A side's width (transformers' `hidden_size`, GPT-2's n_embd). */
export function hiddenSize(side: SideConfig): number {
  return side.model_type === 'bert' ? side.hidden_size : side.n_embd;
}

/** The most tokens a side reads (its position embeddings). */
export function maxPositions(side: SideConfig): number {
  return side.model_type === 'bert' ? side.max_position_embeddings : side.n_positions;
}

/** A side's config checked and set up for its role: the encoder without cross-attention, the decoder with it. */
export function sideConfig(side: SideConfig, role: 'encoder' | 'decoder', where = `EncoderDecoderConfig.${role}`): SideConfig {
  const decoder = role === 'decoder';
  if (side.model_type === 'bert') return { model_type: 'bert', ...bertConfig({ ...side, is_decoder: decoder, add_cross_attention: decoder }, where) };
  if (side.model_type === 'gpt2') return { model_type: 'gpt2', ...gptConfig({ ...side, add_cross_attention: decoder }, where) };
  throw new Error(`${where}: model_type '${String((side as { model_type: unknown }).model_type)}' cannot be a side of an encoder-decoder (bert or gpt2)`);
}

/**
 * A checked encoder-decoder config: the sides set up for their roles, the token ids in the decoder's vocabulary,
 * and tying only between sides of one type and shape. `where` names the source in errors.
 */
export function encoderDecoderConfig(fields: Pick<EncoderDecoderConfig, 'encoder' | 'decoder' | 'decoder_start_token_id' | 'pad_token_id'> & Partial<EncoderDecoderConfig>,
  where = 'EncoderDecoderConfig'): EncoderDecoderConfig {
  const cfg: EncoderDecoderConfig = {
    eos_token_id: null, tie_encoder_decoder: false, ...fields,
    encoder: sideConfig(fields.encoder, 'encoder', `${where}: encoder`), decoder: sideConfig(fields.decoder, 'decoder', `${where}: decoder`),
  };
  checkCrossAttentionWidth(cfg.encoder, cfg.decoder, where);
  const V = cfg.decoder.vocab_size;
  for (const name of ['decoder_start_token_id', 'pad_token_id', 'eos_token_id'] as const) {
    const id = cfg[name];
    if (id === null && name === 'eos_token_id') continue;
    if (!(Number.isInteger(id) && id! >= 0 && id! < V)) throw new Error(`${where}: ${name} must be a token id of the decoder's vocabulary (0..${V - 1}), got ${String(id)}`);
  }
  if (cfg.tie_encoder_decoder) {
    const { encoder: e, decoder: d } = cfg;
    const shape = (s: SideConfig) => JSON.stringify([s.model_type, hiddenSize(s), s.vocab_size, maxPositions(s), s.model_type === 'bert' ? s.num_hidden_layers : s.n_layer]);
    if (shape(e) !== shape(d)) throw new Error(`${where}: tie_encoder_decoder needs an encoder and a decoder of one type and shape (type, width, vocabulary, positions, layers), got ${shape(e)} and ${shape(d)}`);
  }
  return cfg;
}

/**
 * transformers' EncoderDecoderModel: a decoder config's cross_attention_hidden_size, when set, must be the encoder's
 * width (its ValueError). And since BertSelfAttention's key/value (nn.Linear(hidden_size, ...)) and
 * GPT2Attention(is_cross_attention=True)'s c_attn (Conv1D(2 * n_embd, n_embd)) take the decoder's own width whatever
 * the field says, a value that is not also the decoder's width gives a model that transformers builds (without
 * enc_to_dec_proj) but cannot run: that is refused here, when the config is read, rather than at the first forward.
 */
function checkCrossAttentionWidth(encoder: SideConfig, decoder: SideConfig, where: string): void {
  const c = decoder.cross_attention_hidden_size;
  if (c === undefined || c === null) return;
  if (!(Number.isInteger(c) && c > 0)) throw new Error(`${where}: decoder: cross_attention_hidden_size must be a positive integer or null, got ${JSON.stringify(c)}`);
  const [e, d] = [hiddenSize(encoder), hiddenSize(decoder)];
  if (c !== e) {
    throw new Error(`${where}: if cross_attention_hidden_size is specified in the decoder's configuration, it has to be equal to the encoder's hidden_size; got ${c} for decoder.cross_attention_hidden_size and ${e} for encoder.hidden_size (as transformers' EncoderDecoderModel raises)`);
  }
  if (c !== d) {
    const kv = decoder.model_type === 'bert' ? 'crossattention.self.key/value (nn.Linear(hidden_size, hidden_size))' : 'crossattention.c_attn (Conv1D(2 * n_embd, n_embd))';
    throw new Error(`${where}: decoder: cross_attention_hidden_size ${c} is the encoder's width but not the decoder's (${d}): a ${decoder.model_type} decoder's ${kv} reads ` +
      `states of its own width whatever cross_attention_hidden_size says, in transformers as here, and with the field set there is no enc_to_dec_proj, so transformers builds this model but cannot run it; ` +
      `leave cross_attention_hidden_size unset (null) to map the encoder's ${e}-wide states to ${d} through enc_to_dec_proj`);
  }
}

/** Inputs of the encoder-decoder. */
export interface EncoderDecoderInputs {
  /** int32 [B, S]: source tokens. */
  inputIds: Tensor;
  /** [B, S]: 1 for real source tokens, 0 for padding. */
  attentionMask?: Tensor;
  /** int32 [B, T]: decoder inputs; without them, `labels` shifted right behind decoder_start_token_id. */
  decoderInputIds?: Tensor;
  /** [B, T]: 1 for real decoder inputs; with decoder inputs made from labels, where they are not pad_token_id. */
  decoderAttentionMask?: Tensor;
  /** int32 [B, T]: the target of each decoder position (not shifted again), -100 where there is none. */
  labels?: Tensor;
}

/** What the encoder gives the decoder: its states (projected to the decoder's width) and the source mask. */
export interface EncoderOutput {
  /** [B, S, decoder width]: what cross-attention attends to. */
  states: Tensor;
  /** [B, S]: 1 for real source tokens. */
  mask?: Tensor;
  /** The embeddings' output and every encoder layer's, [B, S, encoder width] each. */
  hiddenStates: Tensor[];
}

/** The decoder's caches while decoding step by step: self-attention's keys and values so far, and the source's. */
export interface DecoderCache {
  self: KVCache[];
  cross: KVCache[];
}

/** Outputs of the encoder-decoder (transformers' Seq2SeqLMOutput). */
export interface Seq2SeqLMOutput {
  /** [B, T, decoder vocab]. */
  logits: Tensor;
  /** Mean cross-entropy over the labelled positions, when labels are given. */
  loss?: Tensor;
  /** The decoder's embeddings output and every layer's, [B, T, width] each (GPT-2's last after ln_f). */
  decoderHiddenStates: Tensor[];
  /** The encoder's embeddings output and every layer's. */
  encoderHiddenStates: Tensor[];
  /** The decoder's caches, to pass to `decode` for the next step. */
  cache: DecoderCache;
}

/**
 * transformers' shift_tokens_right: decoder inputs from labels, decoder_start_token_id first and each label moved one
 * place right, -100 replaced by pad_token_id.
 */
export function shiftTokensRight(labels: Tensor, padTokenId: number, decoderStartTokenId: number): Tensor {
  const [B, T] = labels.shape as [number, number];
  return noGrad(() => {
    const start = ops.full([B, 1], decoderStartTokenId, 'int32');
    const shifted = ops.concat([start, ops.slice(labels, 1, 0, T - 1)], 1);
    return ops.where(ops.eq(shifted, -100), padTokenId, shifted).cast('int32');
  });
}

/** An encoder as transformers' AutoModel builds it: the base model, without a head. */
function buildEncoder(side: SideConfig): BertModel | GPT2Model {
  return side.model_type === 'bert' ? new BertModel(side) : new GPT2Model(side);
}

/** A decoder as AutoModelForCausalLM builds it: the causal LM with cross-attention. */
function buildDecoder(side: SideConfig): BertLMHeadModel | GPT {
  return side.model_type === 'bert' ? new BertLMHeadModel(side) : new GPT(side);
}

/** Hugging Face's EncoderDecoderModel: an encoder, a decoder that attends to it, and the loss on the decoder's logits. */
export class EncoderDecoderModel extends Module {
  encoder: BertModel | GPT2Model;
  decoder: BertLMHeadModel | GPT;
  /**
   * Maps the encoder's states to the decoder's width when the two differ and the decoder's config sets no
   * cross_attention_hidden_size (transformers' enc_to_dec_proj: nn.Linear(encoder width, decoder width), which keeps
   * PyTorch's initialisation there, as here).
   */
  enc_to_dec_proj: Linear | null;

  constructor(readonly config: EncoderDecoderConfig) {
    super();
    this.encoder = buildEncoder(config.encoder);
    this.decoder = buildDecoder(config.decoder);
    const [e, d] = [hiddenSize(config.encoder), hiddenSize(config.decoder)];
    const crossWidth = config.decoder.cross_attention_hidden_size ?? null;
    this.enc_to_dec_proj = e !== d && crossWidth === null ? new Linear(e, d) : null;
    if (config.tie_encoder_decoder) this.tieEncoderDecoder();
  }

  /**
   * transformers' _tie_encoder_decoder_weights: every encoder parameter that the decoder's base model has under the
   * same name becomes the decoder's (the encoder's pooler and the decoder's cross-attention stay their own).
   */
  private tieEncoderDecoder(): void {
    const base = this.decoder instanceof BertLMHeadModel ? this.decoder.bert : this.decoder.transformer;
    const shared = new Map(base.namedParameters());
    for (const [name, p] of this.encoder.namedParameters()) {
      const twin = shared.get(name);
      if (twin && twin.shape.every((n, i) => n === p.shape[i])) this.encoder.setParameter(name, twin);
    }
  }

  /** Parameters once each: a tied weight under the encoder's name, which is the one transformers saves. */
  override namedParameters(prefix = ''): [string, Parameter][] {
    const seen = new Set<Parameter>();
    return super.namedParameters(prefix).filter(([, p]) => !seen.has(p) && Boolean(seen.add(p)));
  }

  /** Runs the encoder on sources [B, S] (mask [B, S], 1 = real): the states cross-attention reads. */
  encode(inputIds: Tensor, attentionMask?: Tensor): EncoderOutput {
    const S = inputIds.shape[1]!, limit = maxPositions(this.config.encoder);
    if (S > limit) throw new Error(`EncoderDecoderModel: a source of ${S} tokens exceeds the encoder's ${limit} positions`);
    const out = this.encoder.forward({ inputIds, attentionMask });
    const states = this.enc_to_dec_proj ? this.enc_to_dec_proj.forward(out.lastHiddenState) : out.lastHiddenState;
    return { states, mask: attentionMask, hiddenStates: out.hiddenStates };
  }

  /**
   * Runs the decoder on decoder inputs [B, T] against the encoder's output, after the positions in `past` (the
   * cache of the previous call): logits [B, T, vocab], the decoder's hidden states and the caches for the next call.
   * `attentionMask` covers [B, T_past + T].
   */
  decode(decoderInputIds: Tensor, encoded: Pick<EncoderOutput, 'states' | 'mask'>, past?: DecoderCache, attentionMask?: Tensor):
    { logits: Tensor; hiddenStates: Tensor[]; cache: DecoderCache } {
    const out = this.decoder.forward({
      inputIds: decoderInputIds, attentionMask, encoderHiddenStates: encoded.states, encoderAttentionMask: encoded.mask,
      past: past?.self, crossPast: past?.cross, ...(this.decoder instanceof GPT ? { outputHiddenStates: true } : {}),
    });
    return { logits: out.logits, hiddenStates: out.hiddenStates!, cache: { self: out.cache, cross: out.crossCache! } };
  }

  forward(inputs: EncoderDecoderInputs): Seq2SeqLMOutput {
    const encoded = this.encode(inputs.inputIds, inputs.attentionMask);
    let { decoderInputIds, decoderAttentionMask } = inputs;
    if (!decoderInputIds) {
      if (!inputs.labels) throw new Error('EncoderDecoderModel: give decoderInputIds or labels (which are shifted right into decoder inputs)');
      decoderInputIds = shiftTokensRight(inputs.labels, this.config.pad_token_id, this.config.decoder_start_token_id);
      decoderAttentionMask ??= noGrad(() => ops.ne(decoderInputIds!, this.config.pad_token_id).cast('float32'));
    }
    const out = this.decode(decoderInputIds, encoded, undefined, decoderAttentionMask);
    const result: Seq2SeqLMOutput = { logits: out.logits, decoderHiddenStates: out.hiddenStates, encoderHiddenStates: encoded.hiddenStates, cache: out.cache };
    // as transformers: the loss on the logits as they are, the labels already aligned with the decoder inputs
    if (inputs.labels) result.loss = ops.crossEntropy(ops.reshape(out.logits, [-1, this.config.decoder.vocab_size]), ops.reshape(inputs.labels, [-1]));
    return result;
  }
}

/** A nested side config from config.json: its family reads the fields; the role's flags are then set. */
function sideFromJson(raw: unknown, role: 'encoder' | 'decoder', where: string): SideConfig {
  const at = `${where}: ${role}`;
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) throw new Error(`${at}: missing, or not an object`);
  const fields = raw as Record<string, unknown>;
  const cross = crossAttentionHiddenSize(fields, at);
  if (fields.model_type === 'bert') return sideConfig({ model_type: 'bert', ...bertFamily.configFromJson(fields, at), ...cross }, role, at);
  if (fields.model_type === 'gpt2') return sideConfig({ model_type: 'gpt2', ...gpt2Family.configFromJson(fields, at), ...cross }, role, at);
  throw new Error(`${at}: model_type ${fields.model_type === undefined ? 'is missing' : `'${String(fields.model_type)}' is not implemented`} (an encoder or decoder is bert or gpt2)`);
}

/** A config.json's cross_attention_hidden_size, as a SideConfig field when it is set. */
export function crossAttentionHiddenSize(fields: Record<string, unknown>, where: string): Pick<SideConfig, 'cross_attention_hidden_size'> {
  const v = fields.cross_attention_hidden_size;
  if (v === undefined || v === null) return {};
  if (!(Number.isInteger(v) && (v as number) > 0)) throw new Error(`${where}: field 'cross_attention_hidden_size' is ${JSON.stringify(v)}, expected a positive integer or null`);
  return { cross_attention_hidden_size: v as number };
}

/** A side's config.json fields, with its model_type and its role's flags as transformers writes them. */
function sideToJson(side: SideConfig, role: 'encoder' | 'decoder'): Record<string, unknown> {
  const { model_type, cross_attention_hidden_size: cross, ...rest } = side;
  const fields = model_type === 'bert' ? bertFamily.configToJson(rest as BertConfig) : gpt2Family.configToJson(rest as GPTConfig);
  return { ...fields, model_type, is_decoder: role === 'decoder', add_cross_attention: role === 'decoder', ...(cross === undefined || cross === null ? {} : { cross_attention_hidden_size: cross }) };
}

/**
 * A token id of the top-level config.json, else of the decoder's config under `fallback` (as transformers' generate
 * falls back to the decoder's bos and pad tokens); null where neither has one.
 */
function tokenField(raw: Record<string, unknown>, name: string, fallback: string, where: string): number | null {
  const v = raw[name] ?? (raw.decoder as Record<string, unknown>)[fallback] ?? null;
  if (v !== null && !Number.isInteger(v)) throw new Error(`${where}: field '${name}' is ${JSON.stringify(v)}, expected an integer`);
  return v as number | null;
}

/** The encoder-decoder in the model registry: config.json's `encoder-decoder`, the EncoderDecoderModel architecture. */
export const encoderDecoderFamily: ModelFamily<EncoderDecoderConfig> = {
  modelType: 'encoder-decoder',
  basePrefix: 'encoder_decoder',
  architectures: [{ name: 'EncoderDecoderModel', model: EncoderDecoderModel, create: (config) => new EncoderDecoderModel(config), prefixed: false }],
  configFromJson(raw, where) {
    const decoder = sideFromJson(raw.decoder, 'decoder', where);
    const encoder = sideFromJson(raw.encoder, 'encoder', where);
    if (raw.tie_encoder_decoder !== undefined && typeof raw.tie_encoder_decoder !== 'boolean') throw new Error(`${where}: field 'tie_encoder_decoder' must be true or false`);
    const start = tokenField(raw, 'decoder_start_token_id', 'bos_token_id', where), pad = tokenField(raw, 'pad_token_id', 'pad_token_id', where);
    if (start === null || pad === null) {
      throw new Error(`${where}: ${start === null ? 'decoder_start_token_id' : 'pad_token_id'} is not set (transformers needs it to train and to generate: the decoder's first input, and its padding)`);
    }
    return encoderDecoderConfig({
      encoder, decoder, decoder_start_token_id: start, pad_token_id: pad, eos_token_id: tokenField(raw, 'eos_token_id', 'eos_token_id', where),
      tie_encoder_decoder: raw.tie_encoder_decoder === true,
    }, where);
  },
  configToJson(config) {
    return {
      encoder: sideToJson(config.encoder, 'encoder'), decoder: sideToJson(config.decoder, 'decoder'), is_encoder_decoder: true,
      decoder_start_token_id: config.decoder_start_token_id, pad_token_id: config.pad_token_id,
      ...(config.eos_token_id === null ? {} : { eos_token_id: config.eos_token_id }),
      ...(config.tie_encoder_decoder ? { tie_encoder_decoder: true } : {}),
    };
  },
  renameKey(key) {
    const dot = key.indexOf('.');
    const side = key.slice(0, dot), rest = key.slice(dot + 1);
    if (side !== 'encoder' && side !== 'decoder') return key;
    // Each side's own renames (buffers, tied copies, TF-era names); the two families' rules do not overlap.
    const renamed = bertFamily.renameKey(rest);
    const both = renamed === null ? null : gpt2Family.renameKey(renamed);
    // transformers before 4.31 saved GPT-2 cross-attention's mask buffers too
    return both === null || /(^|\.)crossattention\.(masked_)?bias$/.test(both) ? null : `${side}.${both}`;
  },
};

// ELMo (models/elmo.ts) as a transfer encoder: each word is one token, read through its characters, so no word is
// out of vocabulary; a sequence is `<S>` words `</S>` (a pair: `<S>` A `</S>` `<S>` B `</S>`, segment ids 0 and 1), and
// each word gets the biLM's three representations, 2P wide: the token layer [x; x], then LSTM layers 1 and 2
// [forward; backward], for the feature model's scalar mix (Peters et al. 2018, eq. 1) or one chosen layer.
import { ELMO_TOKENS, ElmoBiLM, charIds } from '../../models/elmo.js';
import { loadPretrained, modelFromConfig } from '../../models/pretrained.js';
import { Module, type LSTM } from '../../nn/index.js';
import { nodePath } from '../../platform/node.js';
import * as ops from '../../tensor/ops.js';
import type { Tensor } from '../../tensor/tensor.js';
import { splitWords } from '../../text/word-lm.js';
import type { Encoder, EncoderLoader, TokenBatch, TokenizedInput, TokenizeReport, WordsInput } from './encoders.js';

/** One biLM layer, both directions, as one module (the unit of freezing below a layer). */
class BiLMLayer extends Module {
  constructor(readonly forward_lstm: LSTM, readonly backward_lstm: LSTM) { super(); }
}

/** The ids every ELMo encoder reserves: the sentence marks and padding (a token of no characters, AllenNLP's zeros). */
const BOS = 0, EOS = 1, PAD = 2;

/** ELMo's biLM as a source of per-word features (see the file comment). */
export class ElmoEncoder implements Encoder {
  readonly kind = 'elmo';
  // <S>: the backward LM's state there has read the whole sequence (the feature model's default is the words' mean)
  readonly sequenceToken = 'first';
  readonly maxTokens = Infinity;
  readonly padId = PAD;
  readonly layers: readonly Module[];
  /** The words seen so far, each with an id (its row in the batches' character tables). */
  private readonly words: string[] = [ELMO_TOKENS.bos, ELMO_TOKENS.eos, ''];
  private readonly chars: Int32Array[];
  private readonly ids = new Map<string, number>();
  constructor(readonly model: ElmoBiLM) {
    const { forward_layers: f, backward_layers: b } = model;
    this.layers = [model.token_encoder, ...f.map((l, i) => new BiLMLayer(l, b[i]!))];
    const maxChars = model.config.char_cnn.max_characters_per_token;
    this.chars = [charIds(ELMO_TOKENS.bos, maxChars), charIds(ELMO_TOKENS.eos, maxChars), new Int32Array(maxChars)];
    model.eval();
  }

  get numStates(): number { return this.model.config.lstm.n_layers + 1; }
  get hiddenSize(): number { return this.model.outputSize; }

  /** The text's tokens: words with their case, punctuation split off (what `pretrain elmo train` reads by default). */
  splitText(text: string): string[] {
    return splitWords(text, 'tokens');
  }

  private idOf(word: string): number {
    let id = this.ids.get(word);
    if (id === undefined) {
      id = this.words.length;
      this.words.push(word);
      this.chars.push(charIds(word, this.model.config.char_cnn.max_characters_per_token));
      this.ids.set(word, id);
    }
    return id;
  }

  tokenize(examples: readonly WordsInput[]): { inputs: TokenizedInput[]; report: TokenizeReport } {
    const inputs = examples.map((ex, example) => {
      const ids: number[] = [], typeIds: number[] = [], wordStarts: number[] = [];
      const sequence = (words: readonly string[], type: number) => {
        ids.push(BOS); typeIds.push(type);
        for (const w of words) { wordStarts.push(ids.length); ids.push(this.idOf(w)); typeIds.push(type); }
        ids.push(EOS); typeIds.push(type);
      };
      sequence(ex.words, 0);
      if (ex.pair) sequence(ex.pair, 1);
      return { ids, typeIds, wordStarts, scoredWords: wordStarts.map(() => true), example, window: 0 };
    });
    return { inputs, report: { windowed: 0, truncatedPairs: 0, emptyWords: 0 } };
  }

  forward(batch: TokenBatch): Tensor[] {
    const [B, T] = batch.inputIds.shape as [number, number];
    const ids = batch.hostIds ?? (batch.inputIds.dataSync() as Int32Array);
    // The char CNN runs once per distinct word of the batch.
    const rowOf = new Map<number, number>();
    const tokens = new Int32Array(B * T);
    ids.forEach((id, i) => { let r = rowOf.get(id); if (r === undefined) { r = rowOf.size; rowOf.set(id, r); } tokens[i] = r; });
    const C = this.model.config.char_cnn.max_characters_per_token;
    const chars = new Int32Array(rowOf.size * C);
    for (const [id, r] of rowOf) chars.set(this.chars[id]!, r * C);
    return this.model.forward({
      chars: ops.fromArray(chars, [rowOf.size, C], { dtype: 'int32' }), tokens: ops.fromArray(tokens, [B, T], { dtype: 'int32' }), mask: batch.mask,
    }).layers;
  }
}

/** Loads ELMo directories as encoders: the trained biLM, or (scratch) the same architecture with fresh weights. */
export const elmoEncoderLoader: EncoderLoader = {
  async load(dir) {
    const { model } = await loadPretrained(dir);
    if (!(model instanceof ElmoBiLM)) throw new Error(`${dir}: not an ELMo biLM (${model.constructor.name})`);
    return new ElmoEncoder(model);
  },
  async scratch(dir, config) {
    const model = modelFromConfig(config, {}, nodePath.join(dir, 'config.json'));
    if (!(model instanceof ElmoBiLM)) throw new Error(`${dir}: not an ELMo biLM (${model.constructor.name})`);
    return new ElmoEncoder(model);
  },
};

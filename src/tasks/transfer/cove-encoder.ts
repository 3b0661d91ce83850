// CoVe (models/cove.ts) as a transfer encoder: McCann et al.'s features [GloVe(w); CoVe(w)], the MT-LSTM of a
// translation model trained here. Words go through its GloVe vocabulary (as written, else lowercased, else <unk>), one
// token each, and each word gets three states of one width, d + 2·hidden:
//   0  [GloVe(w); 0]         the fixed vectors alone, zero-padded (the paper's GloVe-only baseline)
//   1  [GloVe(w); MT-LSTM₁]  with the first biLSTM layer
//   2  [GloVe(w); MT-LSTM₂]  with the second, the paper's CoVe
// so that a scalar mix or one chosen layer (--layer 2 is the paper's input) reads them; zeros change neither a cosine
// nor what a linear top can learn. The MT-LSTM runs in evaluation mode (no dropout), as the paper keeps it fixed.
import { CoveModel } from '../../models/cove.js';
import { modelFromConfig } from '../../models/pretrained.js';
import { Module, type Embedding, type LSTM } from '../../nn/index.js';
import { nodePath } from '../../platform/node.js';
import { noGrad } from '../../tensor/autograd.js';
import * as ops from '../../tensor/ops.js';
import type { Tensor } from '../../tensor/tensor.js';
import { loadCove, sourceId, sourceTokens } from '../cove-train.js';
import { padBatch, wordTokens, type Encoder, type EncoderLoader, type TokenBatch, type WordsInput } from './encoders.js';
import type { WordVocab } from '../../text/word-lm.js';
import { selectLayers, type LayerSelection } from '../layer-selection.js';

/** One layer of the MT-LSTM's nn.LSTM, both directions, as a module of its own (for freezing below a layer). */
class LSTMLayer extends Module {
  constructor(rnn: LSTM, layer: number) {
    super();
    const fields = this as unknown as Record<string, unknown>;
    for (const [name, p] of rnn.namedParameters()) if (name.match(/_l(\d+)(_reverse)?$/)?.[1] === String(layer)) fields[name] = p;
  }
}

/** CoVe's MT-LSTM as a source of per-word features (see the file comment). */
export class CoveEncoder implements Encoder {
  readonly kind = 'cove';
  // bidirectional: the first word's backward state has read the whole sentence (the mean of words is the default)
  readonly sequenceToken = 'first';
  readonly maxTokens = Infinity;
  readonly numStates = 3;
  /** Padding is masked out of the LSTM; `<unk>`'s row. */
  readonly padId = 0;
  readonly layers: readonly [Embedding, Module, Module];
  constructor(readonly model: CoveModel, readonly vocab: WordVocab) {
    if (vocab.size !== model.config.source_vocab_size) throw new Error(`CoveEncoder: a vocabulary of ${vocab.size} words for a model of ${model.config.source_vocab_size}`);
    if (model.config.num_layers !== 2) throw new Error(`CoveEncoder: CoVe's features read a 2-layer MT-LSTM, this one has ${model.config.num_layers}`);
    const { rnn } = model.encoder;
    this.layers = [model.encoder.embeddings, new LSTMLayer(rnn, 0), new LSTMLayer(rnn, 1)];
    model.eval();
  }

  get hiddenSize(): number { return this.model.config.embedding_size + 2 * this.model.config.hidden_size; }

  /** The text's tokens as the translation model's source was split: words and punctuation. */
  splitText(text: string): string[] {
    return sourceTokens(text);
  }

  tokenize(examples: readonly WordsInput[]) {
    return wordTokens(examples, (w) => sourceId(this.vocab, w));
  }

  forward(batch: TokenBatch): Tensor[] {
    const out = this.model.encoder.forward(batch.inputIds, batch.mask);
    const [B, T] = batch.inputIds.shape as [number, number];
    const zeros = ops.zeros([B, T, 2 * this.model.config.hidden_size], { dtype: out.glove.dtype });
    return [zeros, ...out.layers].map((h) => ops.concat([out.glove, h], -1));
  }
}

/**
 * The CoVe features of tokenised sentences, one entry per sentence: [3, n, d + 2·hidden] ('all'), or [n, d + 2·hidden]
 * ('top': [GloVe; MT-LSTM₂], the paper's; 'average': the mean of the three states).
 */
export async function coveEmbed(encoder: CoveEncoder, sentences: readonly (readonly string[])[], opts: { layers?: LayerSelection; batchSize?: number } = {}): Promise<{ data: Float32Array; shape: number[] }[]> {
  const layers = opts.layers ?? 'all', size = opts.batchSize ?? 32;
  const D = encoder.hiddenSize;
  const out: { data: Float32Array; shape: number[] }[] = [];
  for (let from = 0; from < sentences.length; from += size) {
    const group = sentences.slice(from, from + size);
    const batch = padBatch(encoder.tokenize(group.map((words) => ({ words: [...words] }))).inputs, encoder.padId);
    const T = batch.inputIds.shape[1]!;
    const states = await Promise.all(noGrad(() => encoder.forward(batch)).map((s) => s.data() as Promise<Float32Array>));
    group.forEach((s, b) => out.push(selectLayers(states.map((v) => v.subarray(b * T * D, (b * T + s.length) * D)), s.length, D, layers)));
  }
  return out;
}

/** Loads CoVe directories as encoders: the trained MT-LSTM, or (scratch) its architecture with fresh weights on the same GloVe. */
export const coveEncoderLoader: EncoderLoader = {
  async load(dir) {
    const { model, vocabs } = await loadCove(dir);
    return new CoveEncoder(model, vocabs.source);
  },
  async scratch(dir, config) {
    // a random MT-LSTM over the same fixed vectors: what the translation training added, and nothing else, is gone
    const { model: trained, vocabs } = await loadCove(dir);
    const model = modelFromConfig(config, {}, nodePath.join(dir, 'config.json'));
    if (!(model instanceof CoveModel)) throw new Error(`${dir}: not a CoVe model (${model.constructor.name})`);
    model.setGlove((await trained.encoder.embeddings.weight.data()) as Float32Array);
    return new CoveEncoder(model, vocabs.source);
  },
};

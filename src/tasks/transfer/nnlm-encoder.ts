// Bengio's NNLM (models/nnlm.ts) as a transfer encoder. Words go through the model's vocabulary (<unk> for the rest),
// one token each, and each word gets two states, both left-context features:
//   0  C(w_t): its word vector;
//   1  tanh(d + H·x_t), x_t the concatenated vectors of the n−1 words ending at w_t (<s> before the sequence's
//      start): the hidden layer the model predicts w_{t+1} from.
// The states share one width for the scalar mix: the narrower (usually C, m < h) is zero-padded to the wider, as ELMo
// repeats its token layer to the biLSTM's width; zeros change neither a cosine nor what a linear top can learn.
import { NNLM } from '../../models/nnlm.js';
import { loadPretrained, modelFromConfig } from '../../models/pretrained.js';
import { Dropout, Linear, Module, type Embedding } from '../../nn/index.js';
import { fsp, nodePath } from '../../platform/node.js';
import * as ops from '../../tensor/ops.js';
import type { Tensor } from '../../tensor/tensor.js';
import { BOS, EOS, WordVocab, splitWords, tokenize, type WordSplit } from '../../text/word-lm.js';
import { wordTokens, type Encoder, type EncoderLoader, type TokenBatch, type WordsInput } from './encoders.js';

/** The file `pretrain nnlm train` writes the vocabulary to, beside config.json. */
export const NNLM_VOCAB_FILE = 'vocab.txt';

/** The NNLM's hidden layer with the dropout its training put before it (one module, so eval() turns the dropout off). */
class NNLMHiddenLayer extends Module {
  hidden: Linear;
  dropout: Dropout;
  constructor(model: NNLM) {
    super();
    this.hidden = model.hidden;
    this.dropout = model.dropout;
  }
}

/**
 * How a vocabulary's corpus was split: 'words' when every word is one that split gives (lowercase letters and
 * digits), else 'whitespace' (pre-tokenised text such as wikitext, with capitals and punctuation as words).
 */
export function vocabSplit(vocab: WordVocab): WordSplit {
  return vocab.words.slice(3).every((w) => { const t = tokenize(w); return t.length === 1 && t[0] === w; }) ? 'words' : 'whitespace';
}

/** The NNLM as a source of per-word features (see the file comment). */
export class NNLMEncoder implements Encoder {
  readonly kind = 'nnlm';
  // the last word's hidden state has read the most of the sequence (left context only, as GPT's last token)
  readonly sequenceToken = 'last';
  readonly maxTokens = Infinity;
  readonly numStates = 2;
  /** Right padding: no state reads a later position, so any id serves; </s>. */
  readonly padId: number;
  readonly layers: readonly [Embedding, Module];
  readonly split: WordSplit;
  private readonly hiddenLayer: NNLMHiddenLayer;
  constructor(readonly model: NNLM, readonly vocab: WordVocab, split?: WordSplit) {
    if (vocab.size !== model.config.vocab_size) throw new Error(`NNLMEncoder: a vocabulary of ${vocab.size} words for a model of ${model.config.vocab_size}`);
    this.split = split ?? vocabSplit(vocab);
    this.padId = vocab.id(EOS);
    this.hiddenLayer = new NNLMHiddenLayer(model);
    this.layers = [model.embeddings, this.hiddenLayer];
  }

  get hiddenSize(): number { return Math.max(this.model.config.embedding_size, this.model.config.hidden_size); }

  /** The text's words as the model's corpus was split. */
  splitText(text: string): string[] {
    return splitWords(text, this.split);
  }

  /** A word's id (lowercased first when the corpus was: the 'words' split), `<unk>`'s outside the vocabulary. */
  idOf(word: string): number {
    return this.vocab.id(this.split === 'words' ? word.toLowerCase() : word);
  }

  tokenize(examples: readonly WordsInput[]) {
    return wordTokens(examples, (w) => this.idOf(w));
  }

  forward(batch: TokenBatch): Tensor[] {
    const { order, embedding_size: m, hidden_size: h } = this.model.config;
    const [B, T] = batch.inputIds.shape as [number, number];
    const n1 = order - 1;
    // windows [B, T, n−1], oldest first: position t reads ids t−n+2 … t, <s> before the start
    const padded = ops.pad(batch.inputIds, [[n1 - 1, 0]], this.vocab.id(BOS));
    const windows = ops.stack(Array.from({ length: n1 }, (_, j) => ops.slice(padded, 1, j, j + T)), 2);
    const x = ops.reshape(this.model.embeddings.forward(windows), [B, T, n1 * m]);
    const word = ops.slice(x, 2, (n1 - 1) * m); // C(w_t): the window's last vector, (B, T, m)
    const hidden = ops.tanh(this.hiddenLayer.hidden.forward(this.hiddenLayer.dropout.forward(x))); // (B, T, h)
    const width = this.hiddenSize;
    const widen = (s: Tensor, d: number) => (d < width ? ops.pad(s, [[0, width - d]]) : s);
    return [widen(word, m), widen(hidden, h)];
  }
}

/** The vocabulary saved beside an NNLM, checked against its config. */
export async function readNnlmVocab(dir: string, vocabSize: number): Promise<WordVocab> {
  const path = nodePath.join(dir, NNLM_VOCAB_FILE);
  const text = await fsp.readFile(path, 'utf8').catch(() => { throw new Error(`${dir}: no ${NNLM_VOCAB_FILE} beside the model (pretrain nnlm train writes it)`); });
  const vocab = WordVocab.fromText(text, path);
  if (vocab.size !== vocabSize) throw new Error(`${path}: ${vocab.size} words, but config.json's vocab_size is ${vocabSize}`);
  return vocab;
}

/** Loads NNLM directories as encoders: the trained model, or (scratch) its architecture with fresh weights, on its vocabulary. */
export const nnlmEncoderLoader: EncoderLoader = {
  async load(dir) {
    const { model } = await loadPretrained(dir);
    if (!(model instanceof NNLM)) throw new Error(`${dir}: not an NNLM (${model.constructor.name})`);
    return new NNLMEncoder(model, await readNnlmVocab(dir, model.config.vocab_size));
  },
  async scratch(dir, config) {
    const model = modelFromConfig(config, {}, nodePath.join(dir, 'config.json'));
    if (!(model instanceof NNLM)) throw new Error(`${dir}: not an NNLM (${model.constructor.name})`);
    return new NNLMEncoder(model, await readNnlmVocab(dir, model.config.vocab_size));
  },
};

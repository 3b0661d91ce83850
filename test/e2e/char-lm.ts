// The character-level LSTM language model shared by the end-to-end tests: Embedding -> LSTM -> Linear, with field
// names that equal the state_dict keys of the PyTorch model in scripts/gen_torch_fixtures.py.
import * as T from '../../src/tensor/index.js';
import { Embedding, Linear, LSTM, Module } from '../../src/nn/index.js';

/** Next-character logits from character ids. */
export class CharLM extends Module {
  embed: Embedding;
  lstm: LSTM;
  head: Linear;
  constructor(vocab: number, embedDim: number, hidden: number, numLayers = 2) {
    super();
    this.embed = new Embedding(vocab, embedDim);
    this.lstm = new LSTM({ inputSize: embedDim, hiddenSize: hidden, numLayers });
    this.head = new Linear(hidden, vocab);
  }
  /** ids [B, T] to logits [B, T, vocab]. */
  forward(ids: T.Tensor): T.Tensor {
    return this.head.forward(this.lstm.forward(this.embed.forward(ids)).output);
  }
  /** Mean cross-entropy of the logits for ids [B, T] against targets [B, T]. */
  loss(ids: T.Tensor, targets: T.Tensor): T.Tensor {
    const logits = this.forward(ids);
    return T.crossEntropy(T.reshape(logits, [-1, logits.shape[2]!]), T.reshape(targets, [-1]));
  }
}

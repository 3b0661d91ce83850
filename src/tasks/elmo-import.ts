// A released ELMo (bilm-tf's or AllenNLP's options.json + weights.hdf5) as our biLM: the options read as our config,
// the weights converted as AllenNLP loads them (models/elmo.ts, elmoStateFromBilmTf). Published dumps have no softmax:
// such a model gives representations (embed, transfer, probes) but no perplexity, and its vocabulary is the specials.
import { readFile } from 'node:fs/promises';
import { ElmoBiLM, elmoConfigFromOptions, elmoStateFromBilmTf } from '../models/elmo.js';
import { openHdf5 } from '../io/hdf5.js';
import { WordVocab } from '../text/word-lm.js';
import { ELMO_SPECIALS } from './elmo-pretrain.js';

/** What `importBilmTf` read: the model, its vocabulary, and whether the file had a softmax. */
export interface ImportedElmo { model: ElmoBiLM; vocab: WordVocab; hasSoftmax: boolean }

/** Reads options.json, weights.hdf5 and (for a file with a softmax) bilm-tf's vocabulary file into a biLM. */
export async function importBilmTf(optionsPath: string, weightsPath: string, vocabPath?: string): Promise<ImportedElmo> {
  const text = await readFile(optionsPath, 'utf8').catch((err: NodeJS.ErrnoException) => { throw new Error(`${optionsPath}: cannot read (${err.code ?? err.message})`); });
  let options: unknown;
  try {
    options = JSON.parse(text);
  } catch (err) {
    throw new Error(`${optionsPath}: not JSON (${(err as Error).message})`);
  }
  const file = await openHdf5(weightsPath);
  try {
    const hasSoftmax = file.has('softmax/W');
    const vocab = vocabPath ? WordVocab.fromText(await readFile(vocabPath, 'utf8'), vocabPath, ELMO_SPECIALS) : new WordVocab(ELMO_SPECIALS.words, ELMO_SPECIALS);
    if (hasSoftmax && !vocabPath) throw new Error(`${weightsPath}: has a softmax; give its vocabulary file (bilm-tf's vocab, <S> </S> <UNK> first)`);
    const config = elmoConfigFromOptions(options, optionsPath, vocab.size);
    const model = new ElmoBiLM(config);
    let state;
    try {
      state = elmoStateFromBilmTf(config, (name) => file.read(name), (name) => file.has(name));
    } catch (err) {
      const message = (err as Error).message;
      throw new Error(message.startsWith(weightsPath) ? message : `${weightsPath}: ${message}`);
    }
    model.loadStateDict(state, hasSoftmax);
    model.eval();
    return { model, vocab, hasSoftmax };
  } finally {
    file.close();
  }
}

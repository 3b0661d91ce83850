// The list of subcommands. Each entry adds one command (with its subcommands) to the program.
import type { Command } from '@commander-js/extra-typings';
import { registerData } from './data.js';
import { registerBert } from './bert.js';
import { registerGpt } from './gpt.js';
import { registerTokenizer } from './tokenizer.js';
import { registerWord2vec } from './word2vec.js';
import { registerVectors } from './vectors.js';
import { registerGlove } from './glove.js';
import { registerFinetune } from './finetune.js';
import { registerNnlm } from './nnlm.js';
import { registerProbe } from './probe.js';
import { registerElmo } from './elmo.js';
import { registerCove } from './cove.js';
import { registerLineage } from './lineage.js';
import { registerSeq2seq } from './seq2seq.js';
import { registerImage } from './image.js';

/** Every top-level command, in the order `pretrain --help` lists them. */
export const commands: ((program: Command) => void)[] = [registerNnlm, registerElmo, registerCove, registerSeq2seq, registerGpt, registerBert, registerFinetune, registerProbe, registerTokenizer, registerData, registerWord2vec, registerGlove, registerVectors, registerLineage, registerImage];

#!/usr/bin/env node
// The `pretrain` command: a thin shell over the library. Each subcommand lives in its own file and
// registers itself here; the library never prints, the CLI does.
import { Command } from '@commander-js/extra-typings';
import { commands } from './commands.js';

const program = new Command();
program
  .name('pretrain')
  .description('Pretrain word2vec, GloVe, GPT and BERT on your own corpus, transfer them to labelled tasks (fine-tuned or frozen), generate, fill masks and query word vectors.')
  .version('0.1.0')
  .showHelpAfterError();

for (const register of commands) register(program);

program.parseAsync(process.argv).catch((err: unknown) => {
  console.error(`pretrain: ${err instanceof Error ? err.message : String(err)}`);
  process.exit(1);
});

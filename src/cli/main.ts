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
  .showHelpAfterError()
  .addHelpText('after', '\nWith no arguments, pretrain runs the main job: the lineage demo (pretrain lineage --preset demo).');

for (const register of commands) register(program);

// No arguments: the demo a newcomer runs first (`npx pretrain`, `npm start`), rather than the help.
const argv = process.argv.length > 2 ? process.argv : [...process.argv, 'lineage', '--preset', 'demo'];
program.parseAsync(argv).catch((err: unknown) => {
  console.error(`pretrain: ${err instanceof Error ? err.message : String(err)}`);
  process.exit(1);
});

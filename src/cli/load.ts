// Loading a model directory for a command: the model, and on stderr what loading found beyond a clean match.
import { loadPretrained, type LoadOptions } from '../models/pretrained.js';

/** Loads a Hugging Face directory and says on stderr (also under --json) which weights were new and which tensors went unused. */
export async function loadModel(dir: string, opts: LoadOptions = {}) {
  const loaded = await loadPretrained(dir, opts);
  const { architecture, newlyInitialized, unexpected } = loaded.report;
  const list = (keys: string[]) => keys.slice(0, 6).join(', ') + (keys.length > 6 ? `, ... (${keys.length} in all)` : '');
  if (newlyInitialized.length) console.error(`${dir}: ${architecture}: new weights, not from the checkpoint (train them): ${list(newlyInitialized)}`);
  if (unexpected.length) console.error(`${dir}: checkpoint tensors ${architecture} does not use: ${list(unexpected)}`);
  return loaded;
}

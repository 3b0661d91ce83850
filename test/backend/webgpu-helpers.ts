// Kept for the files that still import it (test/cli): the WebGPU backend or a skip message, from test/helpers/backends.ts.
export { openWebGPU } from '../helpers/backends.js';

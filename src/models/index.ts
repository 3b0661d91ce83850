// The models of the lineage, one file each.
export * from './gpt.js';
export * from './bert.js';

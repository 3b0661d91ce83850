// The lineage experiment: every model pretrained on one corpus and transferred to the same tasks, the essay's claims
// decided by the numbers, and the pictures. Node only (files, a native PNG renderer): not part of the package entry.
export * from './grid.js';
export * from './cache.js';
export * from './features.js';
export * from './pretrain.js';
export * from './transfer.js';
export * from './claims.js';
export * from './plots.js';
export * from './run.js';

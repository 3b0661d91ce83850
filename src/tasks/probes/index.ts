// Probes of what pretrained representations hold: word sense by nearest neighbours (polysemy), and linear probes of
// POS and sense per layer, on frozen span features.
export * from './features.js';
export * from './polysemy.js';
export * from './layer-probe.js';

// File formats: safetensors and Hugging Face model directories.
export * from './safetensors.js';
export * from './hf.js';

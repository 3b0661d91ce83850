// The messages between the page and its training worker: one request type per verb, each with its answer type, and
// the progress events a long request sends while it runs. Shared by both sides so that a renamed field fails to compile.

/** Which engine runs the models: the page picks WebGPU when an adapter exists, else the WebAssembly kernels. */
export type EngineChoice = 'auto' | 'webgpu' | 'wasm' | 'reference';

/** What the worker started on. */
export interface EngineInfo {
  /** The backend's name: 'webgpu', 'cpu-wasm' or 'cpu-reference'. */
  backend: string;
  /** In words, e.g. "WebAssembly relaxed SIMD, 8 threads" or the GPU adapter. */
  description: string;
  /** Why a faster engine was not taken, when it was not. */
  fallback?: string;
  crossOriginIsolated: boolean;
}

/** Counts of the corpus the worker holds; a file's invalid UTF-8 is replaced with U+FFFD, as TextDecoder does, and counted. */
export interface CorpusInfo { chars: number; lines: number; words: number; distinctWords: number; invalidSequences: number; invalidBytes: number }

/** word2vec's settings in the page. */
export interface Word2VecSettings { model: 'cbow' | 'skipgram'; dim: number; window: number; epochs: number; minCount: number; negative: number }

/** GPT's settings in the page. */
export interface GptSettings {
  tokenizer: 'char' | 'bpe';
  /** BPE vocabulary size (tokenizer 'bpe'). */
  vocabSize: number;
  layers: number;
  dim: number;
  heads: number;
  block: number;
  batch: number;
  steps: number;
  lr: number;
}

/** BERT's settings when trained in the page. */
export interface BertSettings { vocabSize: number; layers: number; dim: number; heads: number; steps: number; batch: number; seqLength: number; lr: number }

/** A Hugging Face directory's files, as the page read them from disk or fetched them. */
export interface HfFiles { config: string; weights: ArrayBuffer; tokenizer: string; where: string }

/** Which model a polysemy comparison or a checkpoint download is about. */
export type ModelChoice = 'word2vec' | 'gpt' | 'bert';

/** Per layer (0: embeddings), the cosine of the word's two contextual vectors. */
export interface PolysemyAnswer { model: ModelChoice; layers: number[]; tokensA: string[]; tokensB: string[] }

/** Each request's arguments and answer. */
export interface Requests {
  init: { args: { engine: EngineChoice; wasmFiles: Record<string, string> }; result: EngineInfo };
  /** Pasted text, or a file's bytes. */
  corpus: { args: { text: string } | { bytes: ArrayBuffer }; result: CorpusInfo };
  word2vecTrain: { args: Word2VecSettings; result: { vocabulary: number; seconds: number; wordsPerSec: number; words: number } };
  neighbours: { args: { word: string; topn: number }; result: [string, number][] };
  analogy: { args: { a: string; b: string; c: string; topn: number }; result: [string, number][] };
  project: { args: { words: string[] }; result: { words: string[]; points: [number, number][]; missing: string[]; explained: [number, number] } };
  gptTrain: { args: GptSettings; result: { steps: number; seconds: number; tokensPerSec: number; valLoss: number; stopped: boolean } };
  gptSample: { args: { prompt: string; maxNewTokens: number; temperature: number; topK: number; seed: number }; result: { text: string } };
  gptAttention: { args: { prompt: string; layer: number }; result: { tokens: string[]; heads: number[][][]; layers: number } };
  bertLoad: { args: HfFiles; result: { where: string; parameters: number; vocabulary: number; architecture: string } };
  bertTrain: { args: BertSettings; result: { steps: number; seconds: number; mlmLoss: number } };
  fillMask: { args: { text: string; topK: number }; result: { token: string; score: number }[][] };
  polysemy: { args: { model: ModelChoice; a: string; b: string; word: string }; result: PolysemyAnswer };
  checkpoint: { args: { model: 'gpt' | 'bert' }; result: { name: string; zip: Uint8Array } };
  stop: { args: Record<string, never>; result: null };
}

/** A request's name. */
export type RequestName = keyof Requests;

/** Page to worker. */
export interface RequestMessage<K extends RequestName = RequestName> { id: number; name: K; args: Requests[K]['args'] }

/** Progress of a long request. */
export type ProgressEvent =
  | { kind: 'word2vec'; words: number; totalWords: number; wordsPerSec: number; loss: number }
  | { kind: 'gpt'; step: number; maxSteps: number; loss: number; tokensPerSec: number; valLoss?: number }
  | { kind: 'bert'; step: number; maxSteps: number; loss: number }
  | { kind: 'status'; text: string };

/** Worker to page: an answer, a failure, or progress. */
export type WorkerMessage =
  | { id: number; result: unknown }
  | { id: number; error: string }
  | { progress: ProgressEvent };

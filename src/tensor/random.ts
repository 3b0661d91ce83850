// Seeded, counter-based random numbers, so that runs are reproducible and every backend draws the same values.
//
// A generator hands each random op a fresh 32-bit key; element i of that op is hash(key, i). This is what
// Philox does for PyTorch's CUDA generator: no sequential state inside a kernel, so a GPU computes the same
// numbers as the CPU.

/** Mixes a key and a counter into 32 uniformly distributed bits (a murmur3-style finaliser over two rounds). */
export function hash32(key: number, counter: number): number {
  let h = (key ^ Math.imul(counter, 0x9e3779b9)) >>> 0;
  h ^= h >>> 16; h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13; h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  h = (h + key) >>> 0;
  h ^= h >>> 15; h = Math.imul(h, 0x2c1b3c6d);
  h ^= h >>> 12; h = Math.imul(h, 0x297a2d39);
  h ^= h >>> 15;
  return h >>> 0;
}

/** A uniform float in [0, 1) for element `i` of the draw with `key` (24 bits of mantissa, like float32). */
export function uniformAt(key: number, i: number): number {
  return (hash32(key, i) >>> 8) / 16777216;
}

/** A standard normal for element `i` of the draw with `key` (Box-Muller over two uniforms). */
export function normalAt(key: number, i: number): number {
  const u1 = ((hash32(key, 2 * i) >>> 8) + 1) / 16777217; // (0, 1]: log is finite
  const u2 = (hash32(key, 2 * i + 1) >>> 8) / 16777216;
  return Math.sqrt(-2 * Math.log(u1)) * Math.cos(2 * Math.PI * u2);
}

/**
 * A seeded generator of draw keys: a Weyl sequence (the state steps by an odd constant, so it visits all 2^32
 * values before repeating) whose terms pass through a bijective mixer, so no key repeats within 2^32 draws.
 * (Iterating a hash instead, state = hash(state), is a random mapping of 2^32 values: it falls into a cycle after
 * some 10^4-10^5 draws, and a long training run would then see the same batches and dropout masks again and again.)
 */
export class Generator {
  private state: number;
  constructor(seed = 0) { this.state = hash32(seed >>> 0, 0x5eed); }
  /** Reseeds the generator. */
  seed(seed: number): void { this.state = hash32(seed >>> 0, 0x5eed); }
  /** The key for the next draw. */
  nextKey(): number {
    this.state = (this.state + 0x9e3779b9) >>> 0;
    // murmur3's fmix32: each step is invertible, so distinct states give distinct keys.
    let z = this.state;
    z = Math.imul(z ^ (z >>> 16), 0x85ebca6b);
    z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35);
    return (z ^ (z >>> 16)) >>> 0;
  }
  /** A uniform number in [0, 1) (for host-side sampling such as token sampling). */
  random(): number { return uniformAt(this.nextKey(), 0); }
  /** The generator's state, for checkpoints. */
  getState(): number { return this.state; }
  /** Restores a state from `getState`. */
  setState(state: number): void { this.state = state >>> 0; }
}

/** The default generator used by creation ops, initialisers and dropout. */
export const defaultGenerator = new Generator(0);

/** Seeds the default generator (like `torch.manual_seed`). */
export function manualSeed(seed: number): void {
  defaultGenerator.seed(seed);
}

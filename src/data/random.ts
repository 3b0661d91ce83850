// A small seeded PRNG for data preparation (xoshiro128**, seeded by splitmix32), with the draws
// create_pretraining_data.py makes through Python's `random`: random(), randint(a, b) inclusive, shuffle.
//
// Not src/tensor/random.ts's Generator: that one is counter-based for kernels and draws 24-bit uniforms, while data
// preparation needs a sequential stream with 53-bit uniforms and unbiased integers over large ranges.

/** Seeded sequential random numbers; the state can be saved and restored. */
export class Rng {
  private s = new Uint32Array(4);

  constructor(seed = 12345) {
    // splitmix32 spreads any seed (0 included) over the 128-bit state.
    let x = seed >>> 0;
    for (let i = 0; i < 4; i++) {
      x = (x + 0x9e3779b9) >>> 0;
      let z = x;
      z = Math.imul(z ^ (z >>> 16), 0x85ebca6b);
      z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35);
      this.s[i] = (z ^ (z >>> 16)) >>> 0;
    }
  }

  /** 32 random bits. */
  nextUint32(): number {
    const s = this.s;
    const result = Math.imul(rotl(Math.imul(s[1]!, 5), 7), 9) >>> 0;
    const t = s[1]! << 9;
    s[2]! ^= s[0]!; s[3]! ^= s[1]!; s[1]! ^= s[2]!; s[0]! ^= s[3]!;
    s[2]! ^= t;
    s[3] = rotl(s[3]!, 11);
    return result;
  }

  /** A uniform float in [0, 1) with 53 random bits, like Python's random.random(). */
  random(): number {
    return ((this.nextUint32() >>> 5) * 67108864 + (this.nextUint32() >>> 6)) / 9007199254740992;
  }

  /** A uniform integer in [0, n), unbiased (rejection sampling, as Python's _randbelow). */
  below(n: number): number {
    if (!(n >= 1) || n > 2 ** 32) throw new RangeError(`Rng.below: n must be in [1, 2^32], got ${n}`);
    const limit = 2 ** 32 - (2 ** 32 % n);
    let x: number;
    do x = this.nextUint32(); while (x >= limit);
    return x % n;
  }

  /** A uniform integer in [a, b], both ends included, like Python's random.randint. */
  randint(a: number, b: number): number {
    return a + this.below(b - a + 1);
  }

  /** Shuffles an array or typed array in place (Fisher-Yates from the end, as Python's random.shuffle). */
  shuffle<A extends { length: number; [index: number]: unknown }>(items: A): A {
    for (let i = items.length - 1; i > 0; i--) {
      const j = this.below(i + 1);
      const t = items[i]; items[i] = items[j]; items[j] = t;
    }
    return items;
  }

  /** The state, for resuming. */
  getState(): number[] { return Array.from(this.s); }
  /** Restores a state from `getState`. */
  setState(state: readonly number[]): void { this.s.set(state.map((v) => v >>> 0)); }
}

function rotl(x: number, k: number): number {
  return ((x << k) | (x >>> (32 - k))) >>> 0;
}

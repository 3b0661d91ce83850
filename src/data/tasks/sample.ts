// Seeded training-set samples for learning curves: plain, or stratified by label.
//
// Both are nested: for one seed, the sample of N is a subset of the sample of N+1, so a learning curve adds examples
// rather than redrawing them. Each label's examples are shuffled once (data/random.ts's Rng); the stratified sizes come
// from Webster's divisor method, giving seats one at a time to the label with the largest count / (2 * taken + 1),
// which is proportional up to rounding and, unlike largest-remainder rounding, never takes a seat back as N grows.
import { Rng } from '../random.js';
import { sortLabels } from './labels.js';

/**
 * Indices of a sample of `size` out of `n` items, in increasing order (the file's order). With `strata` (one label
 * per item), each label keeps its share of the sample; without, the sample is plain.
 */
export function sampleIndices(n: number, size: number, seed: number, strata?: readonly string[]): number[] {
  if (!(Number.isInteger(size) && size >= 0 && size <= n)) throw new RangeError(`sampleIndices: size must be in [0, ${n}], got ${size}`);
  const rng = new Rng(seed);
  let chosen: number[];
  if (!strata) {
    chosen = rng.shuffle(Array.from({ length: n }, (_, i) => i)).slice(0, size);
  } else {
    if (strata.length !== n) throw new RangeError(`sampleIndices: ${strata.length} labels for ${n} items`);
    const groups = new Map<string, number[]>();
    for (let i = 0; i < n; i++) {
      const key = strata[i]!;
      let g = groups.get(key);
      if (!g) groups.set(key, (g = []));
      g.push(i);
    }
    const order = sortLabels(groups.keys()).map((label) => rng.shuffle(groups.get(label)!));
    const taken = order.map(() => 0);
    for (let seat = 0; seat < size; seat++) {
      let best = -1, bestPriority = -1;
      for (let g = 0; g < order.length; g++) {
        if (taken[g]! >= order[g]!.length) continue;
        const priority = order[g]!.length / (2 * taken[g]! + 1);
        if (priority > bestPriority) { best = g; bestPriority = priority; }
      }
      taken[best]!++;
    }
    chosen = order.flatMap((g, i) => g.slice(0, taken[i]));
  }
  return chosen.sort((a, b) => a - b);
}

// A 2-D projection of word vectors by principal component analysis: the rows are centred, and the top two
// eigenvectors of their covariance are found by power iteration with deflation (the matrix is dim × dim, small).

/** Each row's coordinates on the first two principal axes, and the share of variance each axis explains. */
export function pca2(rows: readonly Float32Array[]): { points: [number, number][]; explained: [number, number] } {
  const n = rows.length, d = rows[0]?.length ?? 0;
  if (n < 2) throw new Error('a projection needs at least two words');
  const mean = new Float64Array(d);
  for (const r of rows) for (let k = 0; k < d; k++) mean[k]! += r[k]! / n;
  const centred = rows.map((r) => Float64Array.from(r, (v, k) => v - mean[k]!));
  const cov = new Float64Array(d * d);
  for (const r of centred) for (let a = 0; a < d; a++) for (let b = 0; b < d; b++) cov[a * d + b]! += (r[a]! * r[b]!) / (n - 1);
  let total = 0;
  for (let a = 0; a < d; a++) total += cov[a * d + a]!;
  const axes: Float64Array[] = [];
  const variances: number[] = [];
  for (let c = 0; c < 2; c++) {
    // a fixed start (not random) keeps the picture the same from run to run
    let v = Float64Array.from({ length: d }, (_, k) => 1 + ((k * 7919) % 13) / 13);
    let lambda = 0;
    for (let it = 0; it < 500; it++) {
      const w = new Float64Array(d);
      for (let a = 0; a < d; a++) { let s = 0; for (let b = 0; b < d; b++) s += cov[a * d + b]! * v[b]!; w[a] = s; }
      const norm = Math.hypot(...w);
      if (norm === 0) break;
      const next = w.map((x) => x / norm);
      const moved = Math.hypot(...next.map((x, k) => x - v[k]!));
      v = next;
      lambda = norm;
      if (moved < 1e-10) break;
    }
    // deflate: remove this axis' variance before finding the next
    for (let a = 0; a < d; a++) for (let b = 0; b < d; b++) cov[a * d + b]! -= lambda * v[a]! * v[b]!;
    axes.push(v);
    variances.push(lambda);
  }
  const dot = (x: Float64Array, y: Float64Array) => x.reduce((s, xi, k) => s + xi * y[k]!, 0);
  return {
    points: centred.map((r) => [dot(r, axes[0]!), dot(r, axes[1]!)]),
    explained: [variances[0]! / (total || 1), variances[1]! / (total || 1)],
  };
}

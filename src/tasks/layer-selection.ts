// Which of a token's layer representations a file of embeddings holds, as AllenNLP's `elmo` command writes them
// (--all, --top, --average); shared by `elmo embed` and `cove embed`.

/** Every layer [L, n, D], the top one [n, D], or their mean [n, D]. */
export type LayerSelection = 'all' | 'top' | 'average';

/** One sentence's representations from each layer's rows ([n, D] each, row-major, bottom layer first). */
export function selectLayers(rows: readonly Float32Array[], n: number, D: number, which: LayerSelection): { data: Float32Array; shape: number[] } {
  const L = rows.length;
  if (which === 'top') return { data: rows[L - 1]!.slice(0, n * D), shape: [n, D] };
  if (which === 'all') {
    const data = new Float32Array(L * n * D);
    rows.forEach((r, l) => data.set(r.subarray(0, n * D), l * n * D));
    return { data, shape: [L, n, D] };
  }
  const data = new Float32Array(n * D);
  for (const r of rows) for (let i = 0; i < n * D; i++) data[i]! += r[i]! / L;
  return { data, shape: [n, D] };
}

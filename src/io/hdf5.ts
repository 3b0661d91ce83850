// Reading float datasets from an HDF5 file (the format of bilm-tf's and AllenNLP's weights.hdf5) through h5wasm, the
// HDF5 library compiled to WebAssembly. Node only (it reads from the file system), so the package entry does not
// export it; commands import it when a file needs it.
import { open } from 'node:fs/promises';

/** A float dataset, row-major, as float32. */
export interface Hdf5Dataset { shape: number[]; data: Float32Array }

/** An open HDF5 file's datasets by path ('CNN/W_cnn_0'), with errors that name the file and the dataset. */
export interface Hdf5Reader {
  has(path: string): boolean;
  read(path: string): Hdf5Dataset;
  close(): void;
}

const SIGNATURE = [0x89, 0x48, 0x44, 0x46, 0x0d, 0x0a, 0x1a, 0x0a];

/** Opens an HDF5 file for reading; a file that is not HDF5 (no signature at byte 0) is an error naming it. */
export async function openHdf5(path: string): Promise<Hdf5Reader> {
  const handle = await open(path, 'r').catch((err: NodeJS.ErrnoException) => { throw new Error(`${path}: cannot open (${err.code ?? err.message})`); });
  const head = new Uint8Array(8);
  try { await handle.read(head, 0, 8, 0); } finally { await handle.close(); }
  if (SIGNATURE.some((b, i) => head[i] !== b)) throw new Error(`${path}: not an HDF5 file (no HDF5 signature at byte 0)`);
  const h5wasm = (await import('h5wasm/node')).default;
  await h5wasm.ready;
  const file = new h5wasm.File(path, 'r');
  const dataset = (name: string) => {
    const entry = file.get(name);
    return entry instanceof h5wasm.Dataset ? entry : null;
  };
  return {
    has: (name) => dataset(name) !== null,
    read(name) {
      const d = dataset(name);
      if (!d) {
        const top = file.keys();
        throw new Error(`${path}: no dataset '${name}' (${top.length ? `the file's top level: ${top.slice(0, 8).join(', ')}${top.length > 8 ? ', ...' : ''}` : 'the file reads as empty: truncated or corrupt?'})`);
      }
      const value = d.value;
      if (!(value instanceof Float32Array || value instanceof Float64Array)) throw new Error(`${path}: dataset '${name}' is not a float array (dtype ${String(d.dtype)})`);
      const shape = d.shape ?? [];
      const size = shape.reduce((a, b) => a * b, 1);
      if (value.length !== size) throw new Error(`${path}: dataset '${name}' holds ${value.length} values for shape [${shape.join(', ')}] (a truncated file?)`);
      return { shape, data: value instanceof Float32Array ? value : Float32Array.from(value) };
    },
    close: () => file.close(),
  };
}

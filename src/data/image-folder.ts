// Images from a folder with one subfolder per class, as torchvision's ImageFolder reads them: PNG and JPEG, decoded
// by pngjs and jpeg-js (pure JavaScript, optional dependencies loaded on first use; pngjs also writes the pictures). A file that does not decode (a
// bad or truncated image) is skipped and reported by name; an image of another size is an error naming it, or is
// resized, as the caller chooses; grayscale and colour images are brought to one channel count, and the report
// says how many were converted.
import { fsp, node, nodePath } from '../platform/node.js';
import { ImageDataset } from './images.js';

/** Options of `readImageFolder`. */
export interface ImageFolderOptions {
  /** The size every image must have, [height, width] or one number for both (default: the first image's). */
  size?: number | readonly [number, number];
  /** An image of another size: 'error' (the default, naming the file) or 'resize' (bilinear). */
  onSizeMismatch?: 'error' | 'resize';
  /** 1 (grayscale) or 3 (RGB); default: 3 when any image has colour, else 1. */
  channels?: 1 | 3;
  /** The classes in label order (a trained model's, to read a test set for it); default: the subfolders, sorted. */
  classes?: readonly string[];
  /** Called after each file (for a progress bar). */
  onProgress?: (done: number, total: number) => void;
}

/** What reading a folder found besides the images. */
export interface ImageFolderReport {
  classes: string[];
  /** Images read per class. */
  counts: number[];
  /** Files that did not decode, with why. */
  skipped: { file: string; reason: string }[];
  /** Files in class folders that are not PNG or JPEG by their extension (not read). */
  ignored: string[];
  /** Images resized to the common size. */
  resized: number;
  /** Images converted to the common channel count (grayscale to RGB, or colour to grayscale), if any. */
  converted: { count: number; to: 'RGB' | 'grayscale' } | null;
}

/** A decoded image: 8-bit RGB, and whether all its pixels are gray (R = G = B). */
interface Decoded { width: number; height: number; rgb: Uint8Array; gray: boolean }

interface PngModule {
  PNG: { sync: { read(data: Uint8Array): { width: number; height: number; data: Uint8Array }; write(png: { width: number; height: number; data: Uint8Array }): Uint8Array } };
}
interface JpegModule { decode(data: Uint8Array, opts: Record<string, unknown>): { width: number; height: number; data: Uint8Array } }

let decoders: { png: PngModule; jpeg: JpegModule } | null = null;
/** pngjs and jpeg-js, required at run time (CommonJS packages, and only where images are read). */
function loadDecoders(): { png: PngModule; jpeg: JpegModule } {
  if (decoders) return decoders;
  const require = node('module', 'reading images').createRequire(import.meta.url);
  const load = <T>(name: string): T => {
    try {
      return require(name) as T;
    } catch {
      throw new Error(`reading PNG and JPEG images needs the '${name}' package (an optional dependency of pretrain that is not installed): run \`npm install ${name}\``);
    }
  };
  return (decoders = { png: load<PngModule>('pngjs'), jpeg: load<JpegModule>('jpeg-js') });
}

const IMAGE_EXTENSIONS = ['.png', '.jpg', '.jpeg'];

/** PNG bytes of an 8-bit RGBA image [height, width, 4] (pngjs, like the decoder). */
export function encodePng(width: number, height: number, rgba: Uint8Array): Uint8Array {
  if (rgba.length !== width * height * 4) throw new Error(`encodePng: ${rgba.length} bytes are not a ${width}×${height} RGBA image`);
  return loadDecoders().png.PNG.sync.write({ width, height, data: rgba });
}

/** Decodes PNG or JPEG bytes (by their signature); throws with the reason when they do not decode. */
export function decodeImage(bytes: Uint8Array): Decoded {
  const { png, jpeg } = loadDecoders();
  let width: number, height: number, data: Uint8Array, stride: number;
  if (bytes[0] === 0x89 && bytes[1] === 0x50 && bytes[2] === 0x4e && bytes[3] === 0x47) {
    ({ width, height, data } = png.PNG.sync.read(bytes));
    stride = 4;
  } else if (bytes[0] === 0xff && bytes[1] === 0xd8) {
    // jpeg-js fills a cut-off scan with gray unless told not to tolerate it; the end-of-image marker must be there too.
    let end = bytes.length;
    while (end > 2 && bytes[end - 1] === 0) end--;
    if (!(bytes[end - 2] === 0xff && bytes[end - 1] === 0xd9)) throw new Error('truncated JPEG (no end-of-image marker)');
    ({ width, height, data } = jpeg.decode(bytes, { useTArray: true, formatAsRGBA: false, tolerantDecoding: false }));
    stride = 3;
  } else {
    throw new Error('neither a PNG nor a JPEG (unknown signature)');
  }
  if (!(width > 0 && height > 0)) throw new Error(`empty image (${width}×${height})`);
  // Alpha is dropped, as PIL's convert('RGB') does.
  const rgb = new Uint8Array(width * height * 3);
  let gray = true;
  for (let p = 0; p < width * height; p++) {
    const r = data[p * stride]!, g = data[p * stride + 1]!, b = data[p * stride + 2]!;
    rgb[p * 3] = r; rgb[p * 3 + 1] = g; rgb[p * 3 + 2] = b;
    gray &&= r === g && g === b;
  }
  return { width, height, rgb, gray };
}

/**
 * An image as channel-first bytes [C, H, W] of `channels` (grayscale by ITU-R 601 luma, as PIL's convert('L'); or
 * gray replicated to RGB) at [height, width] (bilinear with half-pixel centres, as F.interpolate's
 * align_corners=False, when the size differs).
 */
export function toChannels(img: Decoded, channels: 1 | 3, height: number, width: number): Uint8Array {
  const { width: W, height: H, rgb } = img;
  const out = new Uint8Array(channels * height * width);
  const sample = (y: number, x: number, c: number) => {
    const at = (y * W + x) * 3;
    return channels === 3 ? rgb[at + c]! : 0.299 * rgb[at]! + 0.587 * rgb[at + 1]! + 0.114 * rgb[at + 2]!;
  };
  const src = (o: number, n: number, m: number) => Math.min(Math.max((o + 0.5) * (n / m) - 0.5, 0), n - 1);
  for (let y = 0; y < height; y++) {
    const sy = src(y, H, height), y0 = Math.floor(sy), y1 = Math.min(y0 + 1, H - 1), fy = sy - y0;
    for (let x = 0; x < width; x++) {
      const sx = src(x, W, width), x0 = Math.floor(sx), x1 = Math.min(x0 + 1, W - 1), fx = sx - x0;
      for (let c = 0; c < channels; c++) {
        const v = (1 - fy) * ((1 - fx) * sample(y0, x0, c) + fx * sample(y0, x1, c)) + fy * ((1 - fx) * sample(y1, x0, c) + fx * sample(y1, x1, c));
        out[(c * height + y) * width + x] = Math.round(v);
      }
    }
  }
  return out;
}

const sizePair = (s: number | readonly [number, number]): [number, number] => (typeof s === 'number' ? [s, s] : [s[0], s[1]]);

/**
 * Reads `root`/<class>/<image> into a dataset (classes sorted by name unless given). Errors name the folder or file:
 * a missing or empty folder, a single class, a class with no readable image, an image of another size (unless
 * resizing).
 */
export async function readImageFolder(root: string, opts: ImageFolderOptions = {}): Promise<{ dataset: ImageDataset; report: ImageFolderReport }> {
  const stat = await fsp.stat(root).catch(() => null);
  if (!stat) throw new Error(`ImageFolder: ${root} does not exist`);
  if (!stat.isDirectory()) throw new Error(`ImageFolder: ${root} is not a folder (expected one subfolder per class holding PNG or JPEG images)`);
  const entries = await fsp.readdir(root, { withFileTypes: true });
  const found = entries.filter((e) => e.isDirectory() && !e.name.startsWith('.')).map((e) => e.name).sort();
  if (found.length === 0) throw new Error(`ImageFolder: ${root} is empty: expected one subfolder per class holding PNG or JPEG images`);
  const classes = opts.classes ? [...opts.classes] : found;
  if (opts.classes) {
    const extra = found.filter((c) => !classes.includes(c));
    if (extra.length) throw new Error(`ImageFolder: ${root} has folders for classes the model does not know: ${extra.join(', ')} (it knows ${classes.join(', ')})`);
  }
  if (classes.length < 2) throw new Error(`ImageFolder: ${root} has one class (${classes[0]}): a classifier needs at least two, one subfolder each`);
  const report: ImageFolderReport = { classes, counts: classes.map(() => 0), skipped: [], ignored: [], resized: 0, converted: null };
  const files: { file: string; label: number }[] = [];
  for (const [label, name] of classes.entries()) {
    const dir = nodePath.join(root, name);
    const names = found.includes(name) ? (await fsp.readdir(dir, { withFileTypes: true })).filter((e) => e.isFile()).map((e) => e.name).sort() : [];
    for (const f of names) {
      if (IMAGE_EXTENSIONS.includes(nodePath.extname(f).toLowerCase())) files.push({ file: nodePath.join(dir, f), label });
      else report.ignored.push(nodePath.join(dir, f));
    }
  }
  const decoded: { img: Decoded; label: number; file: string }[] = [];
  for (const [i, { file, label }] of files.entries()) {
    try {
      decoded.push({ img: decodeImage(await fsp.readFile(file)), label, file });
      report.counts[label]!++;
    } catch (e) {
      report.skipped.push({ file, reason: (e as Error).message });
    }
    opts.onProgress?.(i + 1, files.length);
  }
  const empty = classes.filter((_, c) => report.counts[c] === 0);
  if (empty.length) {
    const why = report.skipped.length ? ` (${report.skipped.length} file(s) skipped as unreadable)` : '';
    throw new Error(`ImageFolder: ${root}: no readable PNG or JPEG image for class(es) ${empty.join(', ')}${why}`);
  }
  const [height, width] = opts.size ? sizePair(opts.size) : [decoded[0]!.img.height, decoded[0]!.img.width];
  const channels = opts.channels ?? (decoded.some((d) => !d.img.gray) ? 3 : 1);
  const converted = decoded.filter((d) => (channels === 3 ? d.img.gray : !d.img.gray)).length;
  if (converted > 0 && (opts.channels !== undefined || converted < decoded.length)) report.converted = { count: converted, to: channels === 3 ? 'RGB' : 'grayscale' };
  const area = channels * height * width;
  const pixels = new Uint8Array(decoded.length * area);
  decoded.forEach(({ img, file }, k) => {
    if (img.height !== height || img.width !== width) {
      if (opts.onSizeMismatch !== 'resize') {
        throw new Error(`ImageFolder: ${file} is ${img.width}×${img.height}, not ${width}×${height} like the others; resize the images, or let them be resized (onSizeMismatch: 'resize', --resize)`);
      }
      report.resized++;
    }
    pixels.set(toChannels(img, channels, height, width), k * area);
  });
  const dataset = new ImageDataset(pixels, Int32Array.from(decoded, (d) => d.label), channels, height, width, classes, decoded.map((d) => d.file));
  return { dataset, report };
}

/** One image file as bytes [C, H, W] of the given channels and size (resized when it differs, unless `onSizeMismatch` is 'error'). */
export async function readImageFile(file: string, channels: 1 | 3, size: number | readonly [number, number], onSizeMismatch: 'error' | 'resize' = 'resize'): Promise<Uint8Array> {
  let img: Decoded;
  try {
    img = decodeImage(await fsp.readFile(file));
  } catch (e) {
    throw new Error(`${file}: ${(e as Error).message}`);
  }
  const [height, width] = sizePair(size);
  if ((img.height !== height || img.width !== width) && onSizeMismatch === 'error') throw new Error(`${file} is ${img.width}×${img.height}, not ${width}×${height}`);
  return toChannels(img, channels, height, width);
}

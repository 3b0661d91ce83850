// A pool of GPU storage buffers by size class, so that a training step reuses last step's buffers instead of
// allocating (allocation is slow on every driver, and freeing on GC alone would churn device memory).
/// <reference types="@webgpu/types" />

/** The byte size a request is rounded up to: eight classes per power of two, so at most 12.5% is wasted. */
export function sizeClass(bytes: number): number {
  if (bytes <= 256) return 256;
  const step = 2 ** Math.ceil(Math.log2(bytes)) / 8;
  return Math.ceil(bytes / step) * step;
}

/** Why an allocation failed: the requested size and what the backend held at the time. */
export class DeviceMemoryError extends Error {
  override name = 'DeviceMemoryError';
}

const USAGE = 0x80 /* STORAGE */ | 0x4 /* COPY_SRC */ | 0x8 /* COPY_DST */;

/**
 * Buffers freed while commands that use them are still being recorded must not be handed out again before those
 * commands are submitted: a later queue.writeBuffer into them would run before the recorded reads. So frees are
 * parked until `release()` after each submission.
 */
export class BufferPool {
  /** Free buffers by size class, each list in descending creation order so that `pop` gives the oldest. */
  private free = new Map<number, GPUBuffer[]>();
  private created = new WeakMap<GPUBuffer, number>();
  private nextId = 0;
  private parked: GPUBuffer[] = [];
  /** Bytes in buffers handed out and not yet freed. */
  liveBytes = 0;
  /** Bytes in buffers kept for reuse. */
  pooledBytes = 0;
  /** Bytes in freed buffers waiting for the next submission before they can be reused. */
  parkedBytes = 0;
  /** Allocation failures reported asynchronously by the device, thrown at the next read. */
  readonly failures: string[] = [];

  /** `onDestroy` hears of every buffer the pool destroys (the backend drops its cached bind groups over it). */
  constructor(private device: GPUDevice, private maxPooledBytes: number, private onDestroy: (buf: GPUBuffer) => void = () => {}) {}

  /** A buffer of at least `bytes` bytes (contents undefined); `what` names the tensor in error messages. */
  acquire(bytes: number, what: string): GPUBuffer {
    const size = sizeClass(bytes);
    const maxSize = this.device.limits.maxBufferSize;
    if (size > maxSize) {
      throw new DeviceMemoryError(`WebGPU: ${what} needs ${fmtBytes(bytes)}, over the device's largest buffer (${fmtBytes(maxSize)})`);
    }
    const list = this.free.get(size);
    let buf = list?.pop();
    if (buf) this.pooledBytes -= size;
    else {
      this.device.pushErrorScope('out-of-memory');
      buf = this.device.createBuffer({ size, usage: USAGE });
      this.created.set(buf, this.nextId++);
      const live = this.liveBytes;
      void this.device.popErrorScope().then((err) => {
        if (err) this.failures.push(`WebGPU out of memory allocating ${what} (${fmtBytes(bytes)}) with ${fmtBytes(live)} in live tensors: ${err.message}`);
      });
    }
    this.liveBytes += size;
    return buf;
  }

  /** Returns a buffer; it becomes reusable after the next `release()`. */
  park(buf: GPUBuffer): void {
    this.liveBytes -= buf.size;
    this.parkedBytes += buf.size;
    this.parked.push(buf);
  }

  /** Makes parked buffers reusable (call after submitting the commands that used them). */
  release(): void {
    for (const buf of this.parked) {
      if (this.pooledBytes + buf.size > this.maxPooledBytes) { this.destroy(buf); continue; }
      let list = this.free.get(buf.size);
      if (!list) this.free.set(buf.size, (list = []));
      // The oldest free buffer is handed out first, whatever order buffers came back in (garbage collection
      // decides that), so a training step tends to get the same buffers as the last and its bind groups are reused.
      const id = this.created.get(buf)!;
      let lo = 0, hi = list.length;
      while (lo < hi) {
        const mid = (lo + hi) >> 1;
        if (this.created.get(list[mid]!)! > id) lo = mid + 1;
        else hi = mid;
      }
      list.splice(lo, 0, buf);
      this.pooledBytes += buf.size;
    }
    this.parked = [];
    this.parkedBytes = 0;
  }

  /** Destroys every pooled buffer (live ones are untouched). */
  drain(): void {
    for (const list of this.free.values()) for (const b of list) this.destroy(b);
    this.free.clear();
    this.pooledBytes = 0;
  }

  private destroy(buf: GPUBuffer): void {
    this.onDestroy(buf);
    buf.destroy();
  }
}

/** Bytes in binary units, for messages. */
export function fmtBytes(n: number): string {
  if (n < 1024) return `${n} B`;
  const units = ['KiB', 'MiB', 'GiB', 'TiB'];
  let i = -1;
  do { n /= 1024; i++; } while (n >= 1024 && i < units.length - 1);
  return `${n.toFixed(1)} ${units[i]}`;
}

// Counting invalid UTF-8 exactly as the WHATWG decoder (TextDecoder) replaces it, across chunk boundaries.
//
// Counting U+FFFD in decoded text cannot tell a replacement from a U+FFFD that was in the source, so the bytes are
// scanned with the decoder's own state machine: every error it reports is one U+FFFD in TextDecoder's output.

/** Streaming validator: feed chunks in order, then `end()`; counts replacement characters and the bytes they cover. */
export class Utf8Counter {
  /** U+FFFD characters the decoder emits (one per maximal invalid subsequence). */
  invalidSequences = 0;
  /** Source bytes those replacements stand for. */
  invalidBytes = 0;
  private needed = 0;
  private seen = 0;
  private lower = 0x80;
  private upper = 0xbf;

  /** Scans the next chunk. */
  push(bytes: Uint8Array): void {
    let { needed, seen, lower, upper } = this;
    const n = bytes.length;
    for (let i = 0; i < n; i++) {
      const b = bytes[i]!;
      if (needed === 0) {
        if (b < 0x80) continue;
        if (b >= 0xc2 && b <= 0xdf) needed = 1;
        else if (b >= 0xe0 && b <= 0xef) { if (b === 0xe0) lower = 0xa0; else if (b === 0xed) upper = 0x9f; needed = 2; }
        else if (b >= 0xf0 && b <= 0xf4) { if (b === 0xf0) lower = 0x90; else if (b === 0xf4) upper = 0x8f; needed = 3; }
        else { this.invalidSequences++; this.invalidBytes++; }
        continue;
      }
      if (b < lower || b > upper) {
        // The partial sequence is one error; the byte is reprocessed as the start of something new.
        this.invalidSequences++; this.invalidBytes += seen + 1;
        needed = 0; seen = 0; lower = 0x80; upper = 0xbf;
        i--;
        continue;
      }
      lower = 0x80; upper = 0xbf;
      if (++seen === needed) { needed = 0; seen = 0; }
    }
    this.needed = needed; this.seen = seen; this.lower = lower; this.upper = upper;
  }

  /** Ends the stream: a sequence cut off by the end of the file is one more error. */
  end(): void {
    if (this.needed !== 0) { this.invalidSequences++; this.invalidBytes += this.seen + 1; }
    this.needed = 0; this.seen = 0; this.lower = 0x80; this.upper = 0xbf;
  }
}

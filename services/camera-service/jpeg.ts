/**
 * JPEG framing: splits a byte stream of concatenated JPEG images (ffmpeg `-f mjpeg`) into
 * whole images, and reads an image's size from its SOF marker.
 *
 * The splitter walks the marker segments (so an FFD9 inside an EXIF thumbnail or any other
 * segment cannot end a frame early) and scans the entropy-coded data after SOS for the EOI
 * marker FFD9. Its buffer is bounded: a frame larger than `maxFrameBytes` is dropped.
 *
 * @module
 */

/** A complete JPEG image cut out of a stream. */
export interface JpegImage {
  /** The image, SOI (FFD8) to EOI (FFD9) inclusive. Never mutated after it is emitted. */
  readonly bytes: Uint8Array<ArrayBuffer>;
  /** Width in pixels, from the SOF marker. */
  readonly width: number;
  /** Height in pixels, from the SOF marker. */
  readonly height: number;
}

/** Counters of a {@linkcode JpegSplitter}. */
export interface JpegSplitterStats {
  /** Images emitted. */
  images: number;
  /** Bytes skipped while looking for a start of image. */
  skippedBytes: number;
  /** Images dropped because their markers were broken or had no SOF size. */
  corrupt: number;
  /** Images dropped because they grew beyond `maxFrameBytes`. */
  oversize: number;
}

/** Default upper bound of one image: 8 MiB (a 4K JPEG at high quality is ~3 MiB). */
export const DEFAULT_MAX_FRAME_BYTES = 8 * 1024 * 1024;

/** Whether `marker` is one of the SOFn markers that carry the frame size. */
function isSofMarker(marker: number): boolean {
  return marker >= 0xc0 && marker <= 0xcf && marker !== 0xc4 && marker !== 0xc8 &&
    marker !== 0xcc;
}

/** Markers without a length field (besides SOI/EOI): RSTn and TEM. */
function isStandalone(marker: number): boolean {
  return (marker >= 0xd0 && marker <= 0xd7) || marker === 0x01;
}

/**
 * Incremental splitter of a JPEG byte stream: `push(chunk)` returns the images completed by
 * that chunk. Garbage between images is skipped, a broken image is dropped and the splitter
 * resynchronises on the next SOI.
 *
 * @example
 * ```ts ignore
 * const splitter = new JpegSplitter();
 * for await (const chunk of child.stdout) {
 *   for (const image of splitter.push(chunk)) console.log(image.width, image.height);
 * }
 * ```
 */
export class JpegSplitter {
  readonly #maxFrameBytes: number;
  #buf: Uint8Array<ArrayBuffer> = new Uint8Array(0);
  /** Where parsing resumes in `#buf` (which, when non-empty, starts with SOI). */
  #cursor = 0;
  #inEntropy = false;
  #width = 0;
  #height = 0;
  readonly #stats: JpegSplitterStats = { images: 0, skippedBytes: 0, corrupt: 0, oversize: 0 };

  /** @param maxFrameBytes bound of one image and of the internal buffer. */
  constructor(maxFrameBytes: number = DEFAULT_MAX_FRAME_BYTES) {
    this.#maxFrameBytes = maxFrameBytes;
  }

  /** Counters since construction. */
  get stats(): Readonly<JpegSplitterStats> {
    return { ...this.#stats };
  }

  /** Bytes held for the image in progress. */
  get bufferedBytes(): number {
    return this.#buf.length;
  }

  /** Feeds bytes; returns the images they completed, in order. */
  push(chunk: Uint8Array): JpegImage[] {
    if (chunk.length === 0) return [];
    if (this.#buf.length === 0) {
      this.#buf = chunk.slice();
    } else {
      const joined = new Uint8Array(this.#buf.length + chunk.length);
      joined.set(this.#buf);
      joined.set(chunk, this.#buf.length);
      this.#buf = joined;
    }
    const images: JpegImage[] = [];
    while (this.#step(images));
    if (this.#buf.length > this.#maxFrameBytes) {
      this.#stats.oversize++;
      this.#reset(this.#buf.length);
    }
    return images;
  }

  /** Drops the image in progress (e.g. when the producer restarts). */
  clear(): void {
    this.#buf = new Uint8Array(0);
    this.#cursor = 0;
    this.#inEntropy = false;
    this.#width = 0;
    this.#height = 0;
  }

  /** Drops `count` bytes from the front and restarts the parse. */
  #reset(count: number): void {
    this.#buf = this.#buf.subarray(count);
    this.#cursor = 0;
    this.#inEntropy = false;
    this.#width = 0;
    this.#height = 0;
    if (this.#buf.length === 0) this.#buf = new Uint8Array(0);
  }

  /** Drops the image that starts the buffer as corrupt; resync after its SOI. */
  #corrupt(): void {
    this.#stats.corrupt++;
    this.#reset(2);
  }

  /** One parse step; false when more input is needed. */
  #step(images: JpegImage[]): boolean {
    const buf = this.#buf;
    if (this.#cursor === 0) {
      // Find SOI at the front.
      let soi = -1;
      for (let i = 0; i + 1 < buf.length; i++) {
        if (buf[i] === 0xff && buf[i + 1] === 0xd8) {
          soi = i;
          break;
        }
      }
      if (soi < 0) {
        // Keep a trailing 0xFF: it may be the first half of the next SOI.
        const keep = buf.length > 0 && buf[buf.length - 1] === 0xff ? 1 : 0;
        this.#stats.skippedBytes += buf.length - keep;
        this.#reset(buf.length - keep);
        return false;
      }
      if (soi > 0) {
        this.#stats.skippedBytes += soi;
        this.#reset(soi);
      }
      this.#cursor = 2;
      return true;
    }
    if (this.#inEntropy) return this.#scanEntropy(images);
    // Marker segment loop.
    let pos = this.#cursor;
    if (pos >= buf.length) return false;
    if (buf[pos] !== 0xff) {
      this.#corrupt();
      return true;
    }
    while (pos < buf.length && buf[pos] === 0xff) pos++; // fill bytes
    if (pos >= buf.length) return false;
    const marker = buf[pos];
    pos++;
    if (marker === 0xd9) return this.#emit(pos, images);
    if (marker === 0xd8 || marker === 0x00) {
      this.#corrupt();
      return true;
    }
    if (isStandalone(marker)) {
      this.#cursor = pos;
      return true;
    }
    if (pos + 2 > buf.length) return false;
    const length = (buf[pos] << 8) | buf[pos + 1];
    if (length < 2) {
      this.#corrupt();
      return true;
    }
    if (pos + length > buf.length) return false;
    if (isSofMarker(marker)) {
      if (length < 7) {
        this.#corrupt();
        return true;
      }
      this.#height = (buf[pos + 3] << 8) | buf[pos + 4];
      this.#width = (buf[pos + 5] << 8) | buf[pos + 6];
    }
    this.#cursor = pos + length;
    if (marker === 0xda) this.#inEntropy = true;
    return true;
  }

  /** Scans entropy-coded data for the next real marker. */
  #scanEntropy(images: JpegImage[]): boolean {
    const buf = this.#buf;
    for (let i = this.#cursor; i + 1 < buf.length; i++) {
      if (buf[i] !== 0xff) continue;
      const next = buf[i + 1];
      if (next === 0x00 || next === 0xff || (next >= 0xd0 && next <= 0xd7)) continue;
      if (next === 0xd9) return this.#emit(i + 2, images);
      // Another segment (DHT between progressive scans, another SOS, ...).
      this.#inEntropy = false;
      this.#cursor = i;
      return true;
    }
    // Resume at the last byte: it may be an 0xFF whose partner has not arrived yet.
    this.#cursor = Math.max(this.#cursor, buf.length - 1);
    return false;
  }

  #emit(end: number, images: JpegImage[]): boolean {
    if (this.#width < 1 || this.#height < 1) {
      this.#stats.corrupt++;
    } else {
      images.push({ bytes: this.#buf.slice(0, end), width: this.#width, height: this.#height });
      this.#stats.images++;
    }
    this.#reset(end);
    return true;
  }
}

/**
 * Reads the size of a JPEG image from its first SOFn marker; `null` when the bytes are not
 * a JPEG or carry no SOF.
 */
export function readJpegSize(bytes: Uint8Array): { width: number; height: number } | null {
  if (bytes.length < 4 || bytes[0] !== 0xff || bytes[1] !== 0xd8) return null;
  let pos = 2;
  while (pos + 4 <= bytes.length) {
    if (bytes[pos] !== 0xff) return null;
    while (pos < bytes.length && bytes[pos] === 0xff) pos++;
    const marker = bytes[pos];
    pos++;
    if (marker === 0xd9 || marker === 0xda) return null;
    if (isStandalone(marker)) continue;
    if (pos + 2 > bytes.length) return null;
    const length = (bytes[pos] << 8) | bytes[pos + 1];
    if (isSofMarker(marker)) {
      if (pos + 7 > bytes.length) return null;
      return {
        height: (bytes[pos + 3] << 8) | bytes[pos + 4],
        width: (bytes[pos + 5] << 8) | bytes[pos + 6],
      };
    }
    pos += length;
  }
  return null;
}

/** Reads the size of a PNG image from its IHDR chunk; `null` when the bytes are not a PNG. */
export function readPngSize(bytes: Uint8Array): { width: number; height: number } | null {
  const signature = [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a];
  if (bytes.length < 24 || signature.some((b, i) => bytes[i] !== b)) return null;
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  return { width: view.getUint32(16), height: view.getUint32(20) };
}

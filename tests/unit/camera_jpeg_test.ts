/** Unit tests of the JPEG stream splitter and size readers of camera-service. */
import assert from "node:assert/strict";
import { JpegSplitter, readJpegSize, readPngSize } from "../../services/camera-service/jpeg.ts";

/** A segment: marker + big-endian length (including itself) + payload. */
function segment(marker: number, payload: number[]): number[] {
  const length = payload.length + 2;
  return [0xff, marker, length >> 8, length & 0xff, ...payload];
}

/**
 * A structurally valid JPEG: APP1 whose payload contains FF D9 and FF D8 (as an EXIF
 * thumbnail would), SOF0 with the size, DHT, SOS, entropy data with stuffed FF00 bytes
 * and an RST marker, then EOI.
 */
function fakeJpeg(width: number, height: number, fill = 0x11): Uint8Array {
  return new Uint8Array([
    0xff,
    0xd8,
    ...segment(0xe0, [0x4a, 0x46, 0x49, 0x46, 0x00]),
    ...segment(0xe1, [0x45, 0x78, 0x69, 0x66, 0xff, 0xd8, 0x01, 0xff, 0xd9, 0x02]),
    ...segment(0xc0, [8, height >> 8, height & 0xff, width >> 8, width & 0xff, 1, 1, 0x11, 0]),
    ...segment(0xc4, [0x00, 1, 2, 3]),
    ...segment(0xda, [1, 1, 0, 0, 0x3f, 0]),
    fill,
    0xff,
    0x00,
    fill,
    0xff,
    0xd0, // RST0
    fill,
    0xff,
    0xff, // fill byte before a stuffed zero
    0x00,
    fill,
    0xff,
    0xd9,
  ]);
}

function concat(...parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const part of parts) {
    out.set(part, at);
    at += part.length;
  }
  return out;
}

Deno.test("camera jpeg: whole images come out, FFD9 inside APP1 does not end a frame", () => {
  const a = fakeJpeg(640, 480, 0x11);
  const b = fakeJpeg(320, 240, 0x22);
  const splitter = new JpegSplitter();
  const images = splitter.push(concat(a, b));
  assert.equal(images.length, 2);
  assert.deepEqual(images[0].bytes, a);
  assert.deepEqual(images[1].bytes, b);
  assert.deepEqual([images[0].width, images[0].height], [640, 480]);
  assert.deepEqual([images[1].width, images[1].height], [320, 240]);
  assert.equal(splitter.bufferedBytes, 0);
});

Deno.test("camera jpeg: every split point of the stream gives the same images", () => {
  const a = fakeJpeg(64, 48, 0x31);
  const b = fakeJpeg(32, 24, 0x32);
  const stream = concat(a, b, a);
  for (let cut = 1; cut < stream.length; cut++) {
    const splitter = new JpegSplitter();
    const images = [
      ...splitter.push(stream.subarray(0, cut)),
      ...splitter.push(stream.subarray(cut)),
    ];
    assert.equal(images.length, 3, `cut at ${cut}`);
    assert.deepEqual(images[1].bytes, b);
  }
  // ...and byte by byte.
  const splitter = new JpegSplitter();
  const images = [...stream].flatMap((byte) => splitter.push(new Uint8Array([byte])));
  assert.deepEqual(images.map((i) => i.width), [64, 32, 64]);
});

Deno.test("camera jpeg: garbage between images is skipped and counted", () => {
  const a = fakeJpeg(16, 16);
  const splitter = new JpegSplitter();
  const images = splitter.push(
    concat(new Uint8Array([1, 2, 0xff, 3]), a, new Uint8Array([9, 9]), a),
  );
  assert.equal(images.length, 2);
  assert.equal(splitter.stats.skippedBytes, 6);
});

Deno.test("camera jpeg: a broken image is dropped and the splitter resynchronises", () => {
  const good = fakeJpeg(16, 16);
  const broken = new Uint8Array([0xff, 0xd8, 0x12, 0x34]); // no marker after SOI
  const noSof = new Uint8Array([0xff, 0xd8, ...segment(0xda, [0]), 0x11, 0xff, 0xd9]);
  const splitter = new JpegSplitter();
  const images = splitter.push(concat(broken, good, noSof, good));
  assert.equal(images.length, 2);
  assert.equal(splitter.stats.corrupt, 2);
  assert.equal(splitter.stats.images, 2);
});

Deno.test("camera jpeg: an image over maxFrameBytes is dropped, memory stays bounded", () => {
  const splitter = new JpegSplitter(1024);
  const head = fakeJpeg(16, 16).subarray(0, 40); // in the entropy data, never ends
  splitter.push(head);
  for (let i = 0; i < 100; i++) splitter.push(new Uint8Array(100).fill(0x55));
  assert.ok(splitter.bufferedBytes <= 1024);
  assert.ok(splitter.stats.oversize >= 1);
  const images = splitter.push(fakeJpeg(8, 8));
  assert.deepEqual(images.map((i) => i.width), [8]);
});

Deno.test("camera jpeg: readJpegSize and readPngSize", () => {
  assert.deepEqual(readJpegSize(fakeJpeg(1920, 1080)), { width: 1920, height: 1080 });
  assert.equal(readJpegSize(new Uint8Array([1, 2, 3, 4])), null);
  const png = new Uint8Array(33);
  png.set([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0, 0, 0, 13, 0x49, 0x48, 0x44, 0x52]);
  new DataView(png.buffer).setUint32(16, 160);
  new DataView(png.buffer).setUint32(20, 120);
  assert.deepEqual(readPngSize(png), { width: 160, height: 120 });
  assert.equal(readPngSize(fakeJpeg(1, 1)), null);
});

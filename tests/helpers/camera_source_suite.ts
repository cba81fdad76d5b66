/**
 * The shared test suite of camera frame sources: every `FrameSource` implementation runs the
 * same cases through {@linkcode frameSourceSuite}.
 *
 * @module
 */
import assert from "node:assert/strict";
import type { FrameSource } from "../../services/camera-service/source.ts";
import type { JpegImage } from "../../services/camera-service/jpeg.ts";
import { ffprobeImage, isWholeJpeg, processGone, sof0Size } from "./camera_media.ts";
import { waitFor } from "./wait.ts";

/** A source under test and what it should produce; disposing it frees what the factory made. */
export interface FrameSourceFixture extends AsyncDisposable {
  /** The source. */
  readonly source: FrameSource;
  /** The frame size it was configured for. */
  readonly width: number;
  /** The frame height it was configured for. */
  readonly height: number;
}

/** Options of {@linkcode frameSourceSuite}. */
export interface FrameSourceSuiteOptions {
  /** Skip every case (e.g. no camera on this machine), with the reason in the name. */
  readonly ignore?: boolean;
}

async function take(
  source: FrameSource,
  count: number,
  signal: AbortSignal,
): Promise<JpegImage[]> {
  const images: JpegImage[] = [];
  for await (const image of source.frames(signal)) {
    images.push(image);
    if (images.length >= count) break;
  }
  return images;
}

/**
 * Registers the shared cases for one implementation: whole JPEGs of the configured size
 * (checked by an independent SOF0 reader and by ffprobe), a steady stream, the capture
 * process released when the consumer leaves or the signal aborts, and a restartable source.
 * Every case gets a fresh fixture, disposed after it.
 */
export function frameSourceSuite(
  name: string,
  factory: () => Promise<FrameSourceFixture>,
  options: FrameSourceSuiteOptions = {},
): void {
  const test = (title: string, fn: (under: FrameSourceFixture) => Promise<void>) =>
    Deno.test({
      name: `camera source ${name}: ${title}`,
      ignore: options.ignore,
      async fn() {
        await using under = await factory();
        await fn(under);
      },
    });

  test("yields whole JPEGs of the configured size", async ({ source, width, height }) => {
    const images = await take(source, 3, new AbortController().signal);
    assert.equal(images.length, 3);
    for (const image of images) {
      assert.ok(isWholeJpeg(image.bytes), "SOI..EOI");
      assert.deepEqual({ width: image.width, height: image.height }, { width, height });
      assert.deepEqual(sof0Size(image.bytes), { width, height });
    }
    const probed = await ffprobeImage(images[2].bytes);
    assert.deepEqual(probed, { codec: "mjpeg", width, height });
  });

  test("releases the capture process when the consumer leaves", async ({ source }) => {
    let pid: number | undefined;
    for await (const _ of source.frames(new AbortController().signal)) {
      pid = source.pid;
      break;
    }
    assert.ok(pid !== undefined, "a capture process ran");
    assert.ok(processGone(pid!), "the capture process is gone after the loop");
    assert.equal(source.pid, undefined);
  });

  test("abort stops a running capture and ends the iteration", async ({ source }) => {
    const stop = new AbortController();
    let count = 0;
    let pid: number | undefined;
    const done = (async () => {
      for await (const _ of source.frames(stop.signal)) {
        count++;
        pid ??= source.pid;
      }
    })();
    await waitFor(() => count >= 2, "two frames", 15_000);
    stop.abort();
    await done; // ends without throwing
    assert.ok(pid !== undefined);
    assert.ok(processGone(pid!), "the capture process is gone");
    assert.equal(source.pid, undefined);
  });

  test("can be started again after it stopped", async ({ source, width }) => {
    const first = await take(source, 1, new AbortController().signal);
    const second = await take(source, 2, new AbortController().signal);
    assert.equal(first[0].width, width);
    assert.equal(second.length, 2);
  });
}

/**
 * Unit tests of the latest-frame hub and of the /stream body: slow viewers skip frames and
 * hold at most one frame, whatever their number.
 */
import assert from "node:assert/strict";
import { FrameHub } from "../../services/camera-service/frame_hub.ts";
import { mjpegStream } from "../../services/camera-service/http.ts";

function image(n: number) {
  return { bytes: new Uint8Array([0xff, 0xd8, n, 0xff, 0xd9]), width: 2, height: 2 };
}

Deno.test("camera hub: next() returns a newer frame at once or waits for one", async () => {
  const hub = new FrameHub();
  assert.equal(hub.latest, null);
  const waiting = hub.next(0);
  assert.equal(hub.waiting, 1);
  const first = hub.publish(image(1), 1000);
  assert.equal(await waiting, first);
  assert.equal(first.seq, 1);
  assert.equal(first.capturedAt, 1000);
  hub.publish(image(2));
  const third = hub.publish(image(3));
  assert.equal(await hub.next(1), third, "a slow consumer gets the newest, skipping #2");
  assert.equal(hub.waiting, 0);
});

Deno.test("camera hub: abort and close end the wait with null", async () => {
  const hub = new FrameHub();
  const stop = new AbortController();
  const aborted = hub.next(0, stop.signal);
  stop.abort();
  assert.equal(await aborted, null);
  const closed = hub.next(0);
  hub.close();
  assert.equal(await closed, null);
  assert.equal(await hub.next(0), null);
  hub.publish(image(1));
  assert.equal(hub.waiting, 0);
});

Deno.test("camera hub: clear() forgets the frame but keeps numbering", async () => {
  const hub = new FrameHub();
  hub.publish(image(1));
  hub.clear();
  assert.equal(hub.latest, null);
  const next = hub.next(1);
  hub.publish(image(2));
  assert.equal((await next)?.seq, 2);
});

Deno.test("camera stream body: a slow viewer skips frames and holds at most one", async () => {
  const hub = new FrameHub();
  const stop = new AbortController();
  const viewers = Array.from({ length: 50 }, () => mjpegStream(hub, stop.signal).getReader());
  hub.publish(image(1));
  const decoder = new TextDecoder();
  // Every viewer reads the first part's header.
  const headers = await Promise.all(viewers.map((v) => v.read()));
  for (const { value } of headers) assert.match(decoder.decode(value), /X-Frame-Seq: 1\r\n/);
  // Each viewer now holds (at most) the rest of part 1; 100 frames pass while nobody reads.
  for (let i = 2; i <= 101; i++) hub.publish(image(i));
  for (const viewer of viewers) {
    const body = (await viewer.read()).value!;
    assert.equal(body[2], 1, "the rest of part 1");
    assert.equal(decoder.decode((await viewer.read()).value), "\r\n");
    const next = decoder.decode((await viewer.read()).value);
    assert.match(next, /X-Frame-Seq: 101\r\n/, "frames 2..100 were skipped, not queued");
  }
  stop.abort();
  for (const viewer of viewers) {
    await viewer.read(); // body of 101
    await viewer.read(); // CRLF
    assert.equal((await viewer.read()).done, true, "the stream ends when stopped");
  }
});

Deno.test("camera stream body: frames are shared, not copied per viewer", async () => {
  const hub = new FrameHub();
  const stop = new AbortController();
  const a = mjpegStream(hub, stop.signal).getReader();
  const b = mjpegStream(hub, stop.signal).getReader();
  const frame = hub.publish(image(7));
  await Promise.all([a.read(), b.read()]);
  const [bodyA, bodyB] = await Promise.all([a.read(), b.read()]);
  assert.equal(bodyA.value, frame.bytes);
  assert.equal(bodyB.value, frame.bytes);
  stop.abort();
  await a.cancel();
  await b.cancel();
});

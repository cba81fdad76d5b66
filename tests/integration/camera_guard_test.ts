/**
 * camera-service's guards with real HTTP requests: the Host allow-list (DNS rebinding),
 * CAMERA_TOKEN on the pictures, and ui-web's relay of a camera that needs the token.
 */
import assert from "node:assert/strict";
import { startBroker } from "../helpers/broker.ts";
import { isWholeJpeg, readStreamParts } from "../helpers/camera_media.ts";
import { startTestCamera } from "../helpers/camera_service.ts";
import { rawRequest } from "../helpers/http_raw.ts";
import { startUiWebHarness } from "../helpers/ui_web_harness.ts";
import { waitFor } from "../helpers/wait.ts";

const T = 20_000;
const TOKEN = "camera-token-42";

Deno.test("camera: a forged Host is answered 421 on every route (DNS rebinding)", async () => {
  await using broker = await startBroker();
  await using camera = await startTestCamera(broker.url, {
    CAMERA_ENABLED: "0",
    CAMERA_ALLOWED_HOSTS: "camera-service",
  });
  const port = camera.service.http.port;
  for (const path of ["/", "/stream", "/stream.mjpg", "/snapshot", "/healthz", "/nope"]) {
    const answer = await rawRequest(port, { path, host: `evil.example:${port}` });
    assert.equal(answer.status, 421, path);
    assert.match(answer.bodyStart, /CAMERA_ALLOWED_HOSTS/);
  }
  assert.equal((await rawRequest(port, { path: "/healthz", host: null })).status, 421);
  for (
    const host of [`localhost:${port}`, `127.0.0.1:${port}`, `[::1]:${port}`, "camera-service:8080"]
  ) {
    assert.equal((await rawRequest(port, { path: "/healthz", host })).status, 200, host);
  }
});

Deno.test("camera: with CAMERA_TOKEN the pictures need it, /healthz does not", async () => {
  await using broker = await startBroker();
  await using camera = await startTestCamera(broker.url, { CAMERA_TOKEN: TOKEN });
  const base = camera.baseUrl;
  for (const path of ["/", "/stream", "/stream.mjpg", "/snapshot"]) {
    const variants: Record<string, string>[] = [{}, { authorization: "Bearer wrong-token" }];
    for (const headers of variants) {
      const r = await fetch(`${base}${path}`, { headers });
      assert.equal(r.status, 401, path);
      assert.match(await r.text(), /CAMERA_TOKEN/);
    }
    const wrongQuery = await fetch(`${base}${path}?token=wrong-token`);
    assert.equal(wrongQuery.status, 401, path);
    await wrongQuery.body?.cancel();
  }
  const health = await fetch(`${base}/healthz`);
  assert.equal(health.status, 200);
  assert.equal((await health.json()).ok, true);
  // Bearer header or query parameter (an <img> cannot send headers).
  await waitFor(() => camera.service.hub.latest, "a first frame", T);
  const snapshot = await fetch(`${base}/snapshot`, {
    headers: { authorization: `Bearer ${TOKEN}` },
  });
  assert.equal(snapshot.status, 200);
  assert.ok(isWholeJpeg(new Uint8Array(await snapshot.arrayBuffer())));
  const stream = await fetch(`${base}/stream?token=${TOKEN}`);
  assert.equal(stream.status, 200);
  assert.equal((await readStreamParts(stream, 2, T)).length, 2);
  // The camera's own page passes the token on to its <img>.
  const page = await fetch(`${base}/?token=${TOKEN}`);
  assert.match(await page.text(), new RegExp(`src="/stream\\?token=${TOKEN}"`));
});

Deno.test("camera + ui-web: the dashboard relays a camera that needs CAMERA_TOKEN", async () => {
  await using broker = await startBroker();
  await using camera = await startTestCamera(broker.url, {
    CAMERA_TOKEN: TOKEN,
  });
  await using h = await startUiWebHarness({
    env: { UI_CAMERA_URL: `${camera.baseUrl}/stream`, CAMERA_TOKEN: TOKEN },
  });
  const hello = await (await fetch(`${h.base}/api/state`)).json();
  assert.equal(hello.config.cameraUrl, "/camera/stream", "the page never sees the camera's URL");
  assert.ok(!JSON.stringify(hello).includes(TOKEN), "nor its token");
  const relayed = await fetch(`${h.base}/camera/stream`);
  assert.equal(relayed.status, 200);
  assert.equal(relayed.headers.get("content-type"), "multipart/x-mixed-replace; boundary=frame");
  const parts = await readStreamParts(relayed, 3, T);
  assert.equal(parts.length, 3);
  for (const part of parts) assert.ok(isWholeJpeg(part.body));
  assert.equal(camera.service.http.viewers, 1, "one camera viewer: the relay");
  await relayed.body?.cancel().catch(() => {});
  await waitFor(() => camera.service.http.viewers === 0, "the relay leaves with the browser", T);
  // The page's CSP only allows its own origin's images.
  const page = await fetch(`${h.base}/`);
  assert.match(page.headers.get("content-security-policy") ?? "", /img-src 'self' data:;/);
  await page.body?.cancel();
  // A relay still open when ui-web stops is ended, not waited for.
  const open = await fetch(`${h.base}/camera/stream`);
  const reader = open.body!.getReader();
  assert.ok((await reader.read()).value, "the relay streams");
  const closed = h.server.close();
  while (!(await reader.read().catch(() => ({ done: true }))).done) {
    // the rest of the frames in flight
  }
  await closed;
  await waitFor(() => camera.service.http.viewers === 0, "the relay ended with ui-web", T);
});

Deno.test("camera + ui-web: without the camera's token the relay says what to set", async () => {
  await using broker = await startBroker();
  await using camera = await startTestCamera(broker.url, {
    CAMERA_ENABLED: "0",
    CAMERA_TOKEN: TOKEN,
  });
  await using h = await startUiWebHarness({ env: { UI_CAMERA_URL: `${camera.baseUrl}/stream` } });
  const relayed = await fetch(`${h.base}/camera/stream`);
  assert.equal(relayed.status, 502);
  assert.match((await relayed.json()).error, /401.*CAMERA_TOKEN/);
});

Deno.test("compose: the camera is published on 127.0.0.1 only and relayed with its token", async () => {
  const { parse } = await import("yaml");
  const compose = parse(
    await Deno.readTextFile(new URL("../../ops/compose.yml", import.meta.url)),
    { merge: true },
  ) as {
    services: Record<string, { ports?: string[]; environment?: Record<string, string> }>;
  };
  const camera = compose.services["camera-service"];
  assert.deepEqual(camera.ports, ["127.0.0.1:8080:8080"]);
  assert.match(camera.environment?.CAMERA_TOKEN ?? "", /^\$\{CAMERA_TOKEN:\?/);
  assert.equal(camera.environment?.CAMERA_ALLOWED_HOSTS, "camera-service");
  const ui = compose.services["ui-web"];
  assert.equal(ui.environment?.UI_CAMERA_URL, "http://camera-service:8080/stream");
  assert.match(ui.environment?.CAMERA_TOKEN ?? "", /^\$\{CAMERA_TOKEN:\?/);
});

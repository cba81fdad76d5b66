/**
 * ui-web's guards with real HTTP requests: the Host allow-list against DNS rebinding (HTTP,
 * SSE and the WebSocket alike), the token on the read-only views, request bodies read with a
 * limit, and the microphone's frame limit.
 */
import assert from "node:assert/strict";
import { topics } from "../../core/mod.ts";
import { chunkedFlood, rawRequest } from "../helpers/http_raw.ts";
import { postJson, readEvents, startUiWebHarness } from "../helpers/ui_web_harness.ts";
import { collect, rawClient, waitFor } from "../helpers/wait.ts";

const opts = { sanitizeOps: true, sanitizeResources: true };

const WS_HEADERS = {
  upgrade: "websocket",
  connection: "Upgrade",
  "sec-websocket-key": "dGhlIHNhbXBsZSBub25jZQ==",
  "sec-websocket-version": "13",
};

Deno.test(
  "ui-web: a forged Host is answered 421 on every route (DNS rebinding)",
  opts,
  async () => {
    await using h = await startUiWebHarness();
    await using raw = await rawClient(h.broker.url);
    const moves = await collect(raw, "movement/+");
    const port = h.server.port;
    const evil = `evil.example:${port}`;
    const move = JSON.stringify({ command: "wave" });
    const requests: Array<{ method?: string; path: string; headers?: Record<string, string> }> = [
      { path: "/" },
      { path: "/static/app.js" },
      { path: "/api/state" },
      { path: "/events", headers: { accept: "text/event-stream" } },
      { path: "/healthz" },
      { method: "POST", path: "/api/move", headers: { "content-type": "application/json" } },
      { path: "/ws/mic", headers: WS_HEADERS },
      { path: "/camera/stream" },
    ];
    for (const req of requests) {
      const answer = await rawRequest(port, {
        ...req,
        host: evil,
        body: req.method === "POST" ? move : undefined,
      });
      assert.equal(answer.status, 421, `${req.method ?? "GET"} ${req.path}`);
      assert.match(answer.bodyStart, /UI_ALLOWED_HOSTS/);
    }
    for (const host of [null, "", "evil.example", "127.0.0.1.evil.example", "localhost.evil"]) {
      const answer = await rawRequest(port, { path: "/api/state", host });
      assert.equal(answer.status, 421, `Host ${host}`);
    }
    // The loopback names work, on any port.
    for (const host of [`localhost:${port}`, `127.0.0.1:${port}`, `[::1]:${port}`, "127.0.0.2"]) {
      const answer = await rawRequest(port, { path: "/api/state", host });
      assert.equal(answer.status, 200, `Host ${host}`);
    }
    const ws = await rawRequest(port, {
      path: "/ws/mic",
      host: `localhost:${port}`,
      headers: WS_HEADERS,
    });
    assert.equal(ws.status, 101);
    // The forged move published nothing: the marker stop is the only movement message.
    assert.equal((await postJson(h.base, "/api/stop", {})).status, 202);
    await waitFor(() => moves.length >= 1, "the marker stop");
    assert.deepEqual(moves.map((m) => m.topic), [topics.movementStop.topic]);
  },
);

Deno.test("ui-web: UI_ALLOWED_HOSTS names the other hosts it answers to", opts, async () => {
  await using h = await startUiWebHarness({
    env: { UI_ALLOWED_HOSTS: "robot.local, 192.168.1.50:5010" },
  });
  const port = h.server.port;
  const status = async (host: string) =>
    (await rawRequest(port, { path: "/api/state", host })).status;
  assert.equal(await status(`robot.local:${port}`), 200);
  assert.equal(await status("ROBOT.local."), 200);
  assert.equal(await status("192.168.1.50:5010"), 200);
  assert.equal(await status("192.168.1.50:8000"), 421, "the entry names its port");
  assert.equal(await status(`evil.robot.local:${port}`), 421);
});

Deno.test(
  "ui-web: with UI_TOKEN the live stream and the state need the token too",
  opts,
  async () => {
    const token = "s3cret-token-123";
    await using h = await startUiWebHarness({ env: { UI_TOKEN: token } });
    for (const path of ["/api/state", "/events", "/camera/stream"]) {
      const r = await fetch(`${h.base}${path}`);
      assert.equal(r.status, 401, path);
      assert.match((await r.json()).error, /UI_TOKEN/);
      const wrong = await fetch(`${h.base}${path}?token=wrong-token`);
      assert.equal(wrong.status, 401, path);
      await wrong.body?.cancel();
    }
    const state = await fetch(`${h.base}/api/state`, { headers: { "x-ui-token": token } });
    assert.equal(state.status, 200);
    assert.equal((await state.json()).config.tokenRequired, true);
    const bearer = await fetch(`${h.base}/api/state`, {
      headers: { authorization: `Bearer ${token}` },
    });
    assert.equal(bearer.status, 200);
    await bearer.body?.cancel();
    // EventSource cannot send headers: the page passes the token in the query.
    await using sse = await readEvents(h.base, `?token=${token}`);
    await sse.next((e) => e.type === "hello", "hello with the token");
    // A control action takes the token from a header only, never from the URL.
    assert.equal((await postJson(h.base, `/api/stop?token=${token}`, {})).status, 401);
    // The page itself, its files and /healthz stay open, so the page can ask for the token.
    for (const path of ["/", "/static/app.js", "/healthz"]) {
      const r = await fetch(`${h.base}${path}`);
      assert.equal(r.status, 200, path);
      await r.body?.cancel();
    }
  },
);

Deno.test(
  "ui-web: a Content-Length over the limit is refused before the body is read",
  opts,
  async () => {
    await using h = await startUiWebHarness();
    await using raw = await rawClient(h.broker.url);
    const moves = await collect(raw, "movement/+");
    for (
      const path of [
        "/api/say",
        "/api/move",
        "/api/stop",
        "/api/clear",
        "/api/character",
        "/api/memory",
      ]
    ) {
      // The headers promise 10 MB and no byte follows: a server that reads first never answers.
      const answer = await rawRequest(h.server.port, {
        method: "POST",
        path,
        host: `127.0.0.1:${h.server.port}`,
        headers: { "content-type": "application/json", "content-length": "10000000" },
      });
      assert.equal(answer.status, 413, path);
      assert.match(answer.bodyStart, /16384 bytes/);
    }
    assert.equal((await postJson(h.base, "/api/stop", {})).status, 202);
    await waitFor(() => moves.length >= 1, "the marker stop");
    assert.equal(moves.length, 1);
  },
);

Deno.test("ui-web: a chunked body is cut off at the limit, not buffered", opts, async () => {
  await using h = await startUiWebHarness();
  for (
    const path of [
      "/api/say",
      "/api/move",
      "/api/stop",
      "/api/clear",
      "/api/character",
      "/api/memory",
    ]
  ) {
    const { answer, finished, written } = await chunkedFlood(
      h.server.port,
      path,
      256 * 1024 * 1024,
    );
    assert.equal(answer.status, 413, path);
    assert.equal(finished, false, `${path}: answered only after all ${written} bytes`);
  }
  // Below the limit, chunked works.
  const ok = await fetch(`${h.base}/api/say`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: ReadableStream.from([new TextEncoder().encode('{"text": "hello"}')]),
  });
  assert.equal(ok.status, 202);
  await ok.body?.cancel();
});

Deno.test(
  "ui-web: a microphone message over the frame limit closes the socket (1009)",
  opts,
  async () => {
    await using h = await startUiWebHarness();
    const socket = new WebSocket(`${h.base.replace("http", "ws")}/ws/mic`);
    socket.binaryType = "arraybuffer";
    const opened = Promise.withResolvers<void>();
    const closed = Promise.withResolvers<CloseEvent>();
    socket.onopen = () => opened.resolve();
    socket.onerror = () => opened.reject(new Error("mic socket failed"));
    socket.onclose = (event) => closed.resolve(event);
    await opened.promise;
    socket.send(new Uint8Array(64_000));
    let timer: ReturnType<typeof setTimeout> | undefined;
    const event = await Promise.race([
      closed.promise,
      new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new Error("the socket stayed open")), 10_000);
      }),
    ]).finally(() => {
      clearTimeout(timer);
      if (socket.readyState !== WebSocket.CLOSED) socket.close();
    });
    assert.equal(event.code, 1009);
    assert.match(event.reason, /32000 bytes/);
    await waitFor(() => h.server.app.stats.badFrames === 1, "the frame counted");
  },
);

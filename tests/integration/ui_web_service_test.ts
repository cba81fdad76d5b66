/**
 * ui-web against a real Mosquitto: the messages other services would publish reach the
 * browser stream, and the page's actions publish the right contracts.
 */
import assert from "node:assert/strict";
import { Buffer } from "node:buffer";
import {
  Envelope,
  epochSeconds,
  findTopicSpecByEventType,
  topicFor,
  topics,
  type TopicSpec,
} from "../../core/mod.ts";
import { postJson, readEvents, startUiWebHarness } from "../helpers/ui_web_harness.ts";
import { collect, rawClient, waitFor } from "../helpers/wait.ts";

const opts = { sanitizeOps: true, sanitizeResources: true };

Deno.test(
  "ui-web: retained health from services started before it, then live changes",
  opts,
  async () => {
    await using h = await startUiWebHarness({
      env: { UI_STALE_AFTER_SEC: "1" },
      before: async (world) => {
        await world.publishEvent(topics.systemHealth, { ok: true, event: "ready" }, {
          params: { client_id: "tars-stt" },
        });
        await world.publishEvent(topics.systemHealth, { ok: false, event: "lost" }, {
          params: { client_id: "tars-tts" },
        });
      },
    });
    await using sse = await readEvents(h.base);
    const hello = await sse.next((e) => e.type === "hello", "hello event");
    // Retained messages may still be arriving when the page connects: wait on the snapshot or
    // the live events.
    const stateOf = async (id: string, state: string) => {
      await waitFor(
        async () => {
          const snap = await (await fetch(`${h.base}/api/state`)).json();
          return snap.health.some((x: { clientId: string; state: string }) =>
            x.clientId === id && x.state === state
          );
        },
        `${id} ${state}`,
        10_000,
      );
    };
    assert.ok(Array.isArray(hello.health));
    assert.equal((hello.health as unknown[]).length >= 9, true, "a tile per known service");
    await stateOf("tars-stt", "ready");
    await stateOf("tars-tts", "lost");
    await stateOf("ui-web", "ready");

    await h.world.publishEvent(topics.systemHealth, { ok: true, event: "shutdown" }, {
      params: { client_id: "tars-stt" },
    });
    const shut = await sse.next(
      (e) =>
        e.type === "health" && (e.health as { clientId: string }).clientId === "tars-stt" &&
        (e.health as { state: string }).state === "shutdown",
      "tars-stt shutdown",
    );
    assert.equal((shut.health as { event: string }).event, "shutdown");

    // A heartbeating client that goes silent turns stale, and a new beat brings it back.
    const beat = () =>
      h.world.publishJson(topics.systemKeepalive, { timestamp: epochSeconds() }, {
        params: { client_id: "tars-router" },
      });
    await h.world.publishEvent(topics.systemHealth, { ok: true, event: "ready" }, {
      params: { client_id: "tars-router" },
    });
    await beat();
    await stateOf("tars-router", "ready");
    await stateOf("tars-router", "stale");
    await beat();
    await stateOf("tars-router", "ready");
    // An unknown client gets its own tile.
    await h.world.publishEvent(topics.systemHealth, { ok: false, err: "no camera" }, {
      params: { client_id: "camera-2" },
    });
    const extra = await sse.next(
      (e) => e.type === "health" && (e.health as { clientId: string }).clientId === "camera-2",
      "camera-2 tile",
    );
    assert.equal((extra.health as { state: string }).state, "error");
    assert.equal((extra.health as { err: string }).err, "no camera");
  },
);

Deno.test("ui-web: conversation events stream to the browser in order", opts, async () => {
  await using h = await startUiWebHarness();
  await using sse = await readEvents(h.base);
  await sse.next((e) => e.type === "hello", "hello");
  const w = h.world;
  await w.publishEvent(topics.sttPartial, { text: "what ti" });
  const partial = await sse.next((e) => e.type === "partial", "partial");
  assert.equal(partial.text, "what ti");

  const final = await w.publishEvent(topics.sttFinal, { text: "what time is it" });
  const user = await sse.next((e) => e.type === "entry", "user entry");
  assert.deepEqual(
    pick(user.entry, ["kind", "text", "done"]),
    { kind: "user", text: "what time is it", done: true },
  );
  assert.ok(final);

  const rid = "req-1";
  for (const [seq, delta] of [[1, "It is "], [2, "noon"], [3, "."]] as const) {
    await w.publishEvent(topics.llmStream, { id: rid, seq, delta }, { correlationId: rid });
  }
  const texts: string[] = [];
  for (let i = 0; i < 3; i++) {
    const e = await sse.next((e) => e.type === "entry", `chunk ${i}`);
    texts.push((e.entry as { text: string }).text);
  }
  assert.deepEqual(texts, ["It is ", "It is noon", "It is noon."]);
  // A repeated chunk is ignored; the response finishes the entry.
  await w.publishEvent(topics.llmStream, { id: rid, seq: 2, delta: "noon" });
  await w.publishEvent(topics.llmResponse, { id: rid, reply: "It is noon." });
  const done = await sse.next((e) => e.type === "entry", "final reply");
  assert.deepEqual(pick(done.entry, ["kind", "text", "done", "error"]), {
    kind: "assistant",
    text: "It is noon.",
    done: true,
    error: null,
  });
  await w.publishEvent(topics.llmResponse, { id: "req-2", error: "provider timed out" });
  const failed = await sse.next((e) => e.type === "entry", "error reply");
  assert.equal((failed.entry as { error: string }).error, "provider timed out");

  await w.publishEvent(topics.ttsSay, { text: "It is noon.", utt_id: "u1" });
  const say = await sse.next((e) => e.type === "entry", "tts entry");
  assert.deepEqual(pick(say.entry, ["kind", "id", "text"]), {
    kind: "tts",
    id: "u1",
    text: "It is noon.",
  });
  await w.publishEvent(topics.ttsStatus, { event: "speaking_start", text: "It is noon." });
  const status = await sse.next((e) => e.type === "tts.status", "tts status");
  assert.equal((status.tts as { event: string }).event, "speaking_start");

  await w.publishEvent(topics.systemCharacterCurrent, { name: "TARS", traits: { humor: 75 } }, {
    retain: false,
  });
  const character = await sse.next((e) => e.type === "character", "character");
  assert.deepEqual((character.character as { traits: unknown }).traits, { humor: 75 });

  // A page opened now starts from the same conversation.
  const snap = await (await fetch(`${h.base}/api/state`)).json();
  assert.deepEqual(
    snap.conversation.map((e: { kind: string; text: string }) => `${e.kind}:${e.text}`),
    ["user:what time is it", "assistant:It is noon.", "assistant:", "tts:It is noon."],
  );
  assert.equal(snap.character.name, "TARS");
  assert.equal(snap.tts.event, "speaking_start");

  // Garbage on a subscribed topic is counted and dropped, and the stream carries on.
  await using raw = await rawClient(h.broker.url);
  await raw.publishAsync(topics.sttFinal.topic, "not json", { qos: 1 });
  await raw.publishAsync(topics.llmStream.topic, '{"id":1}', { qos: 1 });
  await w.publishEvent(topics.sttPartial, { text: "still alive" });
  const alive = await sse.next((e) => e.type === "partial", "partial after garbage");
  assert.equal(alive.text, "still alive");
  assert.ok(h.uiClient.metrics().invalid >= 2);
});

Deno.test("ui-web: control actions publish the contracts", opts, async () => {
  await using h = await startUiWebHarness();
  await using raw = await rawClient(h.broker.url);
  const finals = await collect(raw, topics.sttFinal.topic);
  const moves = await collect(raw, "movement/+");
  const chars = await collect(raw, topics.characterUpdate.topic);

  const said = await postJson(h.base, "/api/say", { text: "  hello robot  " });
  assert.equal(said.status, 202);
  await waitFor(() => finals.length === 1, "stt/final");
  const env = Envelope.fromValue(JSON.parse(finals[0].text))!;
  assert.equal(env.type, "stt.final");
  assert.equal(env.source, "ui-web");
  assert.equal(env.data.text, "hello robot");
  assert.equal(env.id, said.body.id);

  assert.equal((await postJson(h.base, "/api/move", { command: "wave", speed: 0.5 })).status, 202);
  assert.equal((await postJson(h.base, "/api/stop", {})).status, 202);
  assert.equal((await postJson(h.base, "/api/clear", {})).status, 202);
  await waitFor(() => moves.length === 3, "three movement messages");
  const byTopic = Object.fromEntries(
    moves.map((m) => [m.topic, Envelope.fromValue(JSON.parse(m.text))!]),
  );
  assert.equal(byTopic["movement/test"].data.command, "wave");
  assert.equal(byTopic["movement/test"].data.speed, 0.5);
  assert.equal(byTopic["movement/stop"].type, "movement.stop");
  assert.equal(byTopic["movement/stop"].data.reason, "ui-web e-stop");
  assert.equal(byTopic["movement/clear"].type, "movement.clear");

  assert.equal(
    (await postJson(h.base, "/api/character", { trait: "humor", value: 90 })).status,
    202,
  );
  assert.equal(
    (await postJson(h.base, "/api/character", { action: "reset_traits" })).status,
    202,
  );
  await waitFor(() => chars.length === 2, "character updates");
  assert.equal(Envelope.fromValue(JSON.parse(chars[0].text))!.data.value, 90);

  // Bad input: plain errors, nothing published, the service carries on.
  const bad = [
    await postJson(h.base, "/api/say", { text: "   " }),
    await postJson(h.base, "/api/say", { text: "x".repeat(2001) }),
    await postJson(h.base, "/api/move", { command: "fly" }),
    await postJson(h.base, "/api/move", { command: "wave", speed: 7 }),
    await postJson(h.base, "/api/character", { trait: "humor", value: 101 }),
    await postJson(h.base, "/api/say", [1, 2]),
  ];
  assert.deepEqual(bad.map((r) => r.status), [400, 413, 400, 400, 400, 400]);
  for (const r of bad) assert.equal(typeof r.body.error, "string");
  const notJson = await fetch(`${h.base}/api/say`, { method: "POST", body: "text=hi" });
  assert.equal(notJson.status, 415);
  await notJson.body?.cancel();
  const broken = await fetch(`${h.base}/api/say`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: "{",
  });
  assert.equal(broken.status, 400);
  await broken.body?.cancel();
  const get = await fetch(`${h.base}/api/say`);
  assert.equal(get.status, 405);
  await get.body?.cancel();
  // A page of another site cannot make the browser send commands.
  const cross = await postJson(h.base, "/api/stop", {}, { origin: "http://evil.example" });
  assert.equal(cross.status, 403);
  const same = await postJson(h.base, "/api/stop", {}, { origin: h.base });
  assert.equal(same.status, 202);
  await waitFor(() => moves.length === 4, "same-origin stop");
  assert.equal(finals.length, 1);
});

Deno.test("ui-web: memory search goes through memory/query and memory/results", opts, async () => {
  await using h = await startUiWebHarness({ env: { UI_MEMORY_TIMEOUT_MS: "300" } });
  // Nobody answers yet: a plain 504.
  const timeout = await postJson(h.base, "/api/memory", { query: "pizza" });
  assert.equal(timeout.status, 504);
  assert.match(String(timeout.body.error), /memory-worker/);

  const seen: Array<{ text: string; top_k: number }> = [];
  await h.world.subscribe(topics.memoryQuery, async (query, ctx) => {
    seen.push({ text: query.text, top_k: query.top_k });
    await h.world.publishEvent(topics.memoryResults, {
      query: query.text,
      k: 1,
      results: [{ document: "I like pizza", score: 0.9 }],
    }, { correlationId: ctx.correlationId });
  });
  const found = await postJson(h.base, "/api/memory", { query: "pizza", k: 3 });
  assert.equal(found.status, 200);
  assert.deepEqual(seen, [{ text: "pizza", top_k: 3 }]);
  assert.equal((found.body.results as Array<{ document: string }>)[0].document, "I like pizza");
  assert.equal((await postJson(h.base, "/api/memory", { query: "" })).status, 400);
  assert.equal((await postJson(h.base, "/api/memory", { query: "a", k: 99 })).status, 400);
});

Deno.test("ui-web: push-to-talk frames are published on audio/pcm/ui-web", opts, async () => {
  await using h = await startUiWebHarness();
  const frames: Uint8Array[] = [];
  await h.world.subscribeRaw(topics.audioPcm, (bytes, ctx) => {
    assert.equal(ctx.topic, topicFor(topics.audioPcm, { source: "ui-web" }));
    frames.push(bytes);
  });
  const socket = new WebSocket(`${h.base.replace("http", "ws")}/ws/mic`);
  socket.binaryType = "arraybuffer";
  const opened = Promise.withResolvers<void>();
  const closed = Promise.withResolvers<void>();
  socket.onopen = () => opened.resolve();
  socket.onerror = () => opened.reject(new Error("mic socket failed"));
  socket.onclose = () => closed.resolve();
  await opened.promise;
  const frame = new Int16Array(320).map((_, i) => Math.round(Math.sin(i / 5) * 8000));
  socket.send(frame.buffer.slice(0));
  socket.send(new Uint8Array(3)); // odd length: not PCM16, dropped
  socket.send("hello"); // text: dropped
  socket.send(frame.buffer.slice(0));
  await waitFor(() => frames.length === 2, "two frames on audio/pcm/ui-web");
  assert.deepEqual(Buffer.from(frames[0]), Buffer.from(frame.buffer));
  await waitFor(() => h.server.app.stats.badFrames === 2, "two bad frames counted");
  socket.close();
  await closed.promise;
});

Deno.test("ui-web: with UI_TOKEN every control action needs the token", opts, async () => {
  const token = "s3cret-token-123";
  await using h = await startUiWebHarness({ env: { UI_TOKEN: token } });
  const hello = await (await fetch(`${h.base}/api/state?token=${token}`)).json();
  assert.equal(hello.config.tokenRequired, true);
  for (const path of ["/api/say", "/api/move", "/api/stop", "/api/clear", "/api/character"]) {
    const r = await postJson(h.base, path, { text: "x", command: "wave" });
    assert.equal(r.status, 401, path);
    assert.match(String(r.body.error), /token/i);
  }
  assert.equal((await postJson(h.base, "/api/stop", {}, { "x-ui-token": "wrong" })).status, 401);
  assert.equal((await postJson(h.base, "/api/stop", {}, { "x-ui-token": token })).status, 202);
  assert.equal(
    (await postJson(h.base, "/api/stop", {}, { authorization: `Bearer ${token}` })).status,
    202,
  );
  // The page itself stays readable (the views need the token: ui_web_guard_test.ts).
  const page = await fetch(`${h.base}/`);
  assert.equal(page.status, 200);
  await page.body?.cancel();

  const ws = `${h.base.replace("http", "ws")}/ws/mic`;
  const refused = new WebSocket(ws);
  const failed = Promise.withResolvers<void>();
  refused.onerror = () => failed.resolve();
  refused.onopen = () => failed.reject(new Error("the mic socket opened without a token"));
  await failed.promise;
  const allowed = new WebSocket(`${ws}?token=${token}`);
  const open = Promise.withResolvers<void>();
  const closed = Promise.withResolvers<void>();
  allowed.onopen = () => open.resolve();
  allowed.onerror = () => open.reject(new Error("the mic socket did not open with the token"));
  allowed.onclose = () => closed.resolve();
  await open.promise;
  allowed.close();
  await closed.promise;
  assert.ok(h.server.app.stats.refused >= 7);
});

Deno.test("ui-web: static files have the right types and no path escapes", opts, async () => {
  await using h = await startUiWebHarness();
  const types: Record<string, string> = {
    "/": "text/html; charset=utf-8",
    "/static/app.js": "text/javascript; charset=utf-8",
    "/static/mic-worklet.js": "text/javascript; charset=utf-8",
    "/static/style.css": "text/css; charset=utf-8",
    "/static/favicon.svg": "image/svg+xml",
  };
  for (const [path, type] of Object.entries(types)) {
    const r = await fetch(`${h.base}${path}`);
    assert.equal(r.status, 200, path);
    assert.equal(r.headers.get("content-type"), type, path);
    assert.equal(r.headers.get("x-content-type-options"), "nosniff");
    await r.body?.cancel();
  }
  // Raw request lines, so that no client normalises the paths first.
  const escapes = [
    "/static/../config.ts",
    "/static/%2e%2e/config.ts",
    "/static/%2E%2E%2Fconfig.ts",
    "/static/..%2fconfig.ts",
    "/static/..%5cconfig.ts",
    "/../../../../etc/passwd",
    "/static//etc/passwd",
    "//etc/passwd",
    "/etc/passwd",
    "/static/%00index.html",
    "/static/.hidden",
    "/static/",
    "/main.ts",
    "/static/main.ts",
  ];
  for (const path of escapes) {
    const { status, body } = await rawGet(h.server.port, path);
    assert.ok(status === 404 || status === 400, `${path} answered ${status}`);
    assert.ok(!body.includes("root:"), path);
    assert.ok(!body.includes("readUiWebConfig"), path);
  }
});

/** A GET with the path exactly as given, over a plain TCP connection. */
async function rawGet(port: number, path: string): Promise<{ status: number; body: string }> {
  const conn = await Deno.connect({ hostname: "127.0.0.1", port });
  try {
    const request = `GET ${path} HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\nConnection: close\r\n\r\n`;
    await conn.write(new TextEncoder().encode(request));
    let text = "";
    const buf = new Uint8Array(65536);
    while (true) {
      const n = await conn.read(buf);
      if (n === null) break;
      text += new TextDecoder().decode(buf.subarray(0, n));
    }
    const status = Number(text.split(" ")[1]);
    return { status, body: text };
  } finally {
    conn.close();
  }
}

function pick(value: unknown, keys: string[]): Record<string, unknown> {
  const record = value as Record<string, unknown>;
  return Object.fromEntries(keys.map((k) => [k, record[k]]));
}

const ttsAudio: TopicSpec | undefined = findTopicSpecByEventType("tts.audio");

Deno.test({
  name: "ui-web: tts/audio chunks are forwarded to the browser",
  ignore: ttsAudio === undefined,
  ...opts,
}, async () => {
  await using h = await startUiWebHarness();
  await using sse = await readEvents(h.base);
  await sse.next((e) => e.type === "hello", "hello");
  const pcm = new Int16Array(1600).map((_, i) => Math.round(Math.sin(i / 3) * 5000));
  const data = btoa(String.fromCharCode(...new Uint8Array(pcm.buffer)));
  for (const seq of [0, 1]) {
    await h.world.publishEvent(ttsAudio!, {
      utt_id: "u1",
      seq,
      sample_rate: 16000,
      channels: 1,
      format: "pcm_s16le",
      data,
      final: seq === 1,
    } as never);
  }
  const first = await sse.next((e) => e.type === "tts.audio", "first chunk");
  const second = await sse.next((e) => e.type === "tts.audio", "second chunk");
  assert.equal((first.audio as { seq: number }).seq, 0);
  assert.equal((second.audio as { final: boolean }).final, true);
  assert.equal((first.audio as { data: string }).data, data);
});

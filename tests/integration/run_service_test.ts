import assert from "node:assert/strict";
import type { LogRecord } from "../../core/mod.ts";
import { EXIT_CONFIG, runService } from "../../core/mod.ts";
import { startBroker } from "../helpers/broker.ts";
import { collect, rawClient, waitFor } from "../helpers/wait.ts";

function recordingSink(): { records: LogRecord[]; text(): string; sink(r: LogRecord): void } {
  const records: LogRecord[] = [];
  return {
    records,
    sink: (r) => records.push(r),
    text: () => records.map((r) => JSON.stringify(r.properties) + r.message.join("")).join("\n"),
  };
}

Deno.test("runService: a bad env fails at start with exit 78, naming every bad variable", async () => {
  const log = recordingSink();
  const original = console.error;
  const printed: string[] = [];
  console.error = (...args: unknown[]) => printed.push(args.join(" "));
  let ran = false;
  try {
    const code = await runService("bad", () => {
      ran = true;
    }, {
      exit: false,
      env: {
        MQTT_URL: "mqtt://tars:hunter2@127.0.0.1:notaport",
        MQTT_KEEPALIVE: "soon",
        MQTT_DEDUPE_TTL: "-3",
      },
      logging: { sink: log.sink },
    });
    assert.equal(code, EXIT_CONFIG);
  } finally {
    console.error = original;
  }
  assert.equal(ran, false);
  const message = printed.join("\n");
  for (const name of ["MQTT_URL", "MQTT_KEEPALIVE", "MQTT_DEDUPE_TTL"]) {
    assert.match(message, new RegExp(name), `${name} is named`);
  }
  assert.doesNotMatch(message + log.text(), /hunter2/, "the password never appears");
});

Deno.test("runService: connects, runs main, stops on its signal with health shutdown, exit 0", async () => {
  await using broker = await startBroker();
  await using watcher = await rawClient(broker.url);
  const health = await collect(watcher, "system/health/tars-svc-test");
  const log = recordingSink();
  const stop = new AbortController();
  const url = broker.url.replace("mqtt://", "mqtt://tars:hunter2@");
  let seenSignal: AbortSignal | null = null;
  const done = runService("svc-test", async ({ client, signal, name }) => {
    assert.equal(name, "svc-test");
    assert.equal(client.connected, true);
    seenSignal = signal;
    await client.subscribe("svc/in", () => {}, { wire: "json" });
  }, {
    exit: false,
    signal: stop.signal,
    env: { MQTT_URL: url, LOG_LEVEL: "debug" },
    mqtt: { clientId: "tars-svc-test" },
    logging: { sink: log.sink },
  });
  await waitFor(() => health.some((m) => m.text.includes('"ready"')), "ready published");
  stop.abort();
  assert.equal(await done, 0);
  assert.equal(seenSignal!.aborted, true);
  await waitFor(() => health.some((m) => m.text.includes('"shutdown"')), "shutdown published");
  assert.ok(log.records.some((r) => r.level === "debug"), "LOG_LEVEL from env applies");
  assert.ok(log.text().includes("***"), "the config is logged with the password redacted");
  assert.doesNotMatch(log.text(), /hunter2/);
});

Deno.test("runService: health says starting until main returns, then ready; close runs before disconnect", async () => {
  await using broker = await startBroker();
  await using watcher = await rawClient(broker.url);
  const health = await collect(watcher, "system/health/tars-ready-test");
  const events = () => health.map((m) => JSON.parse(m.text).data.event as string);
  const stop = new AbortController();
  const release = Promise.withResolvers<void>();
  let connectedAtClose: boolean | null = null;
  const done = runService("ready-test", async ({ client }) => {
    await release.promise; // a slow setup: subscriptions, servers, models...
    return { close: () => void (connectedAtClose = client.connected) };
  }, {
    exit: false,
    signal: stop.signal,
    env: { MQTT_URL: broker.url, LOG_LEVEL: "error" },
    mqtt: { clientId: "tars-ready-test" },
    logging: { sink: () => {} },
  });
  await waitFor(() => events().includes("starting"), "starting published at connect");
  // Real time, not a marker: "not ready *while* main runs" is about a span of time, and a
  // marker from inside main would not be ordered after a "ready" sent concurrently with it.
  await new Promise((r) => setTimeout(r, 200));
  assert.deepEqual(events(), ["starting"], "not ready while main is still setting up");
  assert.equal(JSON.parse(health[0].text).data.ok, false);
  release.resolve();
  await waitFor(() => events().includes("ready"), "ready once main returned");
  stop.abort();
  assert.equal(await done, 0);
  assert.equal(connectedAtClose, true, "the service is closed while the client is connected");
  await waitFor(() => events().includes("shutdown"), "shutdown published");
});

Deno.test("runService: a status main published itself is not overwritten by ready, and survives a reconnect", async () => {
  await using broker = await startBroker();
  await using watcher = await rawClient(broker.url);
  const health = await collect(watcher, "system/health/tars-degraded-test");
  const last = () => health.length ? JSON.parse(health.at(-1)!.text).data : null;
  const stop = new AbortController();
  const done = runService("degraded-test", async ({ client }) => {
    await client.publishHealth({ ok: false, event: "storage", err: "disk full" });
  }, {
    exit: false,
    signal: stop.signal,
    env: { MQTT_URL: broker.url, LOG_LEVEL: "error", MQTT_RECONNECT_MIN_DELAY: "0.1" },
    mqtt: { clientId: "tars-degraded-test" },
    logging: { sink: () => {} },
  });
  await waitFor(() => last()?.event === "storage", "the degraded status");
  // Real time, not a marker: announceReady runs after main returns, at a moment the test
  // cannot observe, so a marker could pass before a wrong "ready".
  await new Promise((r) => setTimeout(r, 200));
  assert.equal(last().event, "storage", "announceReady left the service's own status alone");
  // The restarted broker has no retained messages: what it holds now was re-sent on reconnect.
  await broker.restart();
  let retained: { event?: string } | null = null;
  await waitFor(
    async () => {
      try {
        await using fresh = await rawClient(broker.url);
        const got = await collect(fresh, "system/health/tars-degraded-test");
        await new Promise((r) => setTimeout(r, 100)); // a poll: retry until the broker has one
        retained = got.length ? JSON.parse(got[0].text).data : null;
        return retained !== null;
      } catch {
        return false; // the broker is not back yet
      }
    },
    "health re-sent after the reconnect",
    15_000,
  );
  assert.equal(retained!.event, "storage", "the reconnect re-sent the degraded status, not ready");
  assert.ok(!health.some((m) => JSON.parse(m.text).data.event === "ready"), "never claimed ready");
  stop.abort();
  assert.equal(await done, 0);
});

Deno.test("runService: a crashing main exits 1 and still shuts the client down", async () => {
  await using broker = await startBroker();
  await using watcher = await rawClient(broker.url);
  const health = await collect(watcher, "system/health/tars-crash");
  const log = recordingSink();
  const code = await runService("crash", () => {
    throw new Error("boom");
  }, {
    exit: false,
    env: { MQTT_URL: broker.url },
    mqtt: { clientId: "tars-crash" },
    logging: { sink: log.sink },
  });
  assert.equal(code, 1);
  assert.ok(log.records.some((r) => r.level === "fatal"), "the crash is logged as fatal");
  await waitFor(() => health.some((m) => m.text.includes('"shutdown"')), "shutdown published");
});

Deno.test("runService: a real process serves, and SIGTERM stops it gracefully with exit 0", async () => {
  await using broker = await startBroker();
  await using raw = await rawClient(broker.url);
  const health = await collect(raw, "system/health/tars-echo");
  const pongs = await collect(raw, "svc/pong");
  // By hand, not spawnService: echo_service.ts is a test fixture, not a service of ops/services.ts.
  const child = new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", new URL("../helpers/echo_service.ts", import.meta.url).pathname],
    env: { MQTT_URL: broker.url, LOG_LEVEL: "warning" },
    stdout: "null",
    stderr: "piped",
  }).spawn();
  try {
    await waitFor(
      () => health.some((m) => m.text.includes('"ready"')),
      "the child is ready",
      15_000,
    );
    await raw.publishAsync("svc/ping", JSON.stringify({ n: 7 }), { qos: 1 });
    await waitFor(() => pongs.length === 1, "the child answered");
    assert.deepEqual(JSON.parse(pongs[0].text), { n: 7 });
    child.kill("SIGTERM");
    const status = await child.output();
    assert.equal(status.code, 0, new TextDecoder().decode(status.stderr));
    await waitFor(() => health.some((m) => m.text.includes('"shutdown"')), "shutdown published");
    assert.ok(!health.some((m) => m.text.includes('"lost"')), "a graceful stop sends no will");
  } finally {
    try {
      child.kill("SIGKILL");
    } catch {
      // already exited
    }
  }
});

Deno.test("runService: an already-aborted signal stops at once without running main", async () => {
  const stop = new AbortController();
  stop.abort();
  let ran = false;
  const code = await runService("pre-aborted", () => {
    ran = true;
  }, {
    exit: false,
    signal: stop.signal,
    env: { MQTT_URL: "mqtt://127.0.0.1:1" },
    logging: { sink: () => {} },
  });
  assert.equal(code, 0);
  assert.equal(ran, false);
});

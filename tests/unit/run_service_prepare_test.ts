/**
 * `runService`'s optional `prepare` step: it runs after `readConfig` and before the client
 * connects, a `ConfigError` from it exits 78 with no connection attempt, its result reaches
 * `main` as `ctx.prepared`, and `release` closes it exactly when `main` never took it over.
 * The "broker" of the unconnected cases is a bare TCP listener: after the run, the test
 * connects to it itself, and the first connection it accepted must be the test's.
 */
import assert from "node:assert/strict";
import { ConfigError, EXIT_CONFIG, runService } from "../../core/mod.ts";
import { startBroker } from "../helpers/broker.ts";

interface Model {
  readonly path: string;
}

const quiet = { sink: () => {} };

/** Asserts the listener's first accepted connection is a fresh one of the test's own. */
async function assertNeverConnected(
  listener: Deno.TcpListener,
  firstAccepted: Promise<Deno.TcpConn>,
) {
  using marker = await Deno.connect({ hostname: "127.0.0.1", port: listener.addr.port });
  using first = await firstAccepted;
  assert.equal(first.remoteAddr.port, marker.localAddr.port, "runService opened no connection");
}

Deno.test("runService: a ConfigError from prepare exits 78 before any connection attempt", async () => {
  using listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const firstAccepted = listener.accept();
  const calls: string[] = [];
  const original = console.error;
  const printed: string[] = [];
  console.error = (...args: unknown[]) => printed.push(args.join(" "));
  let code = -1;
  try {
    code = await runService<string, Model>("svc-prepare", {
      readConfig: (env) => {
        calls.push("readConfig");
        return env.SVC_MODEL_PATH ?? "";
      },
      prepare: (path, { name, env, mqtt }) => {
        calls.push(`prepare ${path} ${name} ${env.SVC_MODEL_PATH} ${mqtt.clientId}`);
        throw new ConfigError([{
          variable: "SVC_MODEL_PATH",
          value: path,
          expected: "a loadable model",
        }], "svc-prepare configuration");
      },
      release: () => void calls.push("release"),
      main: () => void calls.push("main"),
    }, {
      exit: false,
      env: { MQTT_URL: `mqtt://127.0.0.1:${listener.addr.port}`, SVC_MODEL_PATH: "/no/model" },
      logging: quiet,
    });
  } finally {
    console.error = original;
  }
  assert.equal(code, EXIT_CONFIG);
  assert.deepEqual(calls, ["readConfig", "prepare /no/model svc-prepare /no/model svc-prepare"]);
  assert.match(printed.join("\n"), /SVC_MODEL_PATH="\/no\/model"/);
  await assertNeverConnected(listener, firstAccepted);
});

Deno.test("runService: a prepare that crashes exits 1 unconnected", async () => {
  using listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const firstAccepted = listener.accept();
  let mainRan = false;
  const code = await runService<undefined, Model>("svc-prepare", {
    readConfig: () => undefined,
    prepare: () => Promise.reject(new Error("loader bug")),
    main: () => void (mainRan = true),
  }, {
    exit: false,
    env: { MQTT_URL: `mqtt://127.0.0.1:${listener.addr.port}` },
    logging: quiet,
  });
  assert.equal(code, 1);
  assert.equal(mainRan, false);
  await assertNeverConnected(listener, firstAccepted);
});

Deno.test("runService: stopped while connecting, what prepare built is released and main never runs", async () => {
  // The listener accepts the client's TCP connection and never answers: the client is stuck
  // connecting until the run is stopped.
  using listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const stop = new AbortController();
  const model: Model = { path: "/models/a.onnx" };
  const calls: string[] = [];
  const accepted = listener.accept();
  const done = runService<string, Model>("svc-prepare", {
    readConfig: () => model.path,
    prepare: (path, { signal }) => {
      calls.push(`prepare ${path} aborted=${signal.aborted}`);
      return Promise.resolve(model);
    },
    release: (prepared) => {
      assert.equal(prepared, model);
      calls.push("release");
    },
    main: () => void calls.push("main"),
  }, {
    exit: false,
    env: { MQTT_URL: `mqtt://127.0.0.1:${listener.addr.port}` },
    logging: quiet,
    signal: stop.signal,
  });
  using conn = await accepted; // prepare is done: the client is connecting
  assert.deepEqual(
    calls,
    ["prepare /models/a.onnx aborted=false"],
    "prepare ran before connecting",
  );
  stop.abort();
  assert.equal(await done, 0);
  assert.deepEqual(calls, ["prepare /models/a.onnx aborted=false", "release"]);
  conn.close();
});

Deno.test("runService: stopped during prepare, its result is released and the client never connects", async () => {
  using listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const firstAccepted = listener.accept();
  const stop = new AbortController();
  const released: Model[] = [];
  const model: Model = { path: "/models/b.onnx" };
  const code = await runService<undefined, Model>("svc-prepare", {
    readConfig: () => undefined,
    prepare: (_config, { signal }) => {
      stop.abort(); // a SIGTERM while the model loads
      assert.equal(signal.aborted, true, "prepare's signal follows the run's");
      return model;
    },
    release: (prepared) => void released.push(prepared),
    main: () => assert.fail("main must not run after a stop"),
  }, {
    exit: false,
    env: { MQTT_URL: `mqtt://127.0.0.1:${listener.addr.port}` },
    logging: quiet,
    signal: stop.signal,
  });
  assert.equal(code, 0);
  assert.deepEqual(released, [model]);
  await assertNeverConnected(listener, firstAccepted);
});

Deno.test("runService: main gets what prepare built and owns it; a main that throws has it released", async () => {
  await using broker = await startBroker();
  const order: string[] = [];

  // main returns: the service owns the model, release is not called, close is.
  const stop = new AbortController();
  const started = Promise.withResolvers<void>();
  const model: Model = { path: "/models/c.onnx" };
  const done = runService<string, Model>("svc-prepare", {
    readConfig: () => {
      order.push("readConfig");
      return model.path;
    },
    prepare: async (path) => {
      order.push(`prepare ${path}`);
      await Promise.resolve();
      return model;
    },
    release: () => void order.push("release"),
    main: ({ client, prepared, config }) => {
      order.push(`main connected=${client.connected} ${config}`);
      assert.equal(prepared, model);
      started.resolve();
      return { close: () => void order.push("close") };
    },
  }, { exit: false, env: { MQTT_URL: broker.url }, logging: quiet, signal: stop.signal });
  await started.promise;
  stop.abort();
  assert.equal(await done, 0);
  assert.deepEqual(order, [
    "readConfig",
    "prepare /models/c.onnx",
    "main connected=true /models/c.onnx",
    "close",
  ]);

  // main throws: runService releases what prepare built, after main's failure.
  const failing: string[] = [];
  const code = await runService<undefined, Model>("svc-prepare", {
    readConfig: () => undefined,
    prepare: () => model,
    release: (prepared) => void failing.push(`release ${prepared.path}`),
    main: () => {
      failing.push("main");
      throw new Error("subscribe failed");
    },
  }, { exit: false, env: { MQTT_URL: broker.url }, logging: quiet });
  assert.equal(code, 1);
  assert.deepEqual(failing, ["main", "release /models/c.onnx"]);
});

Deno.test("runService: a release that fails is logged and the run still ends with its own code", async () => {
  using listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const stop = new AbortController();
  const logged: string[] = [];
  const code = await runService<undefined, Model>("svc-prepare", {
    readConfig: () => undefined,
    prepare: () => {
      stop.abort();
      return { path: "/models/d.onnx" };
    },
    release: () => Promise.reject(new Error("close failed")),
    main: () => {},
  }, {
    exit: false,
    env: { MQTT_URL: `mqtt://127.0.0.1:${listener.addr.port}` },
    logging: { sink: (record) => logged.push(record.message.join("")) },
    signal: stop.signal,
  });
  assert.equal(code, 0);
  assert.ok(logged.some((line) => line.includes("Releasing what svc-prepare prepared failed")));
});

Deno.test("runService: without prepare, main's ctx.prepared is undefined", async () => {
  await using broker = await startBroker();
  const stop = new AbortController();
  let prepared: unknown = "unset";
  const code = await runService("svc-prepare", {
    readConfig: () => 1,
    main: (ctx) => {
      prepared = ctx.prepared;
      stop.abort();
    },
  }, { exit: false, env: { MQTT_URL: broker.url }, logging: quiet, signal: stop.signal });
  assert.equal(code, 0);
  assert.equal(prepared, undefined);
});

/**
 * `runService` reads the service's settings before it connects: a bad one ends the run with
 * exit 78 and no connection attempt. The "broker" here is a bare TCP listener: after the run,
 * the test connects to it itself, and the first connection it accepted must be the test's.
 */
import assert from "node:assert/strict";
import { ConfigError, EXIT_CONFIG, runService } from "../../core/mod.ts";

function badSetting(variable: string, value: string): ConfigError {
  return new ConfigError([{ variable, value, expected: "a number" }], "test configuration");
}

/** Runs `fn` with console.error captured; returns what it printed. */
async function printedBy(fn: () => Promise<void>): Promise<string> {
  const original = console.error;
  const printed: string[] = [];
  console.error = (...args: unknown[]) => printed.push(args.join(" "));
  try {
    await fn();
  } finally {
    console.error = original;
  }
  return printed.join("\n");
}

Deno.test("runService: a bad service setting exits 78 before any connection attempt", async () => {
  using listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const firstAccepted = listener.accept();
  const calls: string[] = [];
  let code = -1;
  const printed = await printedBy(async () => {
    code = await runService("router", {
      readConfig: (env) => {
        calls.push("readConfig");
        throw badSetting("ROUTER_WAKE_WINDOW_SEC", env.ROUTER_WAKE_WINDOW_SEC ?? "");
      },
      main: () => void calls.push("main"),
    }, {
      exit: false,
      env: { MQTT_URL: `mqtt://127.0.0.1:${listener.addr.port}`, ROUTER_WAKE_WINDOW_SEC: "soon" },
      logging: { sink: () => {} },
    });
  });
  assert.equal(code, EXIT_CONFIG);
  assert.deepEqual(calls, ["readConfig"], "main never runs");
  assert.match(printed, /ROUTER_WAKE_WINDOW_SEC="soon"/);
  // The marker: the listener's first connection is this one, so runService never connected.
  using marker = await Deno.connect({ hostname: "127.0.0.1", port: listener.addr.port });
  using first = await firstAccepted;
  assert.equal(first.remoteAddr.port, marker.localAddr.port, "runService opened no connection");
});

Deno.test("runService: bad MQTT and bad service settings are reported together", async () => {
  let code = -1;
  const printed = await printedBy(async () => {
    code = await runService("router", {
      readConfig: () => {
        throw badSetting("ROUTER_WAKE_WINDOW_SEC", "soon");
      },
      main: () => {},
    }, {
      exit: false,
      env: { MQTT_URL: "mqtt://127.0.0.1:1", MQTT_KEEPALIVE: "often" },
      logging: { sink: () => {} },
    });
  });
  assert.equal(code, EXIT_CONFIG);
  assert.match(printed, /MQTT_KEEPALIVE/);
  assert.match(printed, /ROUTER_WAKE_WINDOW_SEC/);
});

Deno.test("runService: the config reader gets the run's env; a reader that crashes exits 1 unconnected", async () => {
  using listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const firstAccepted = listener.accept();
  let seen: string | undefined;
  const code = await runService("svc-reader", {
    readConfig: (env) => {
      seen = env.SVC_SETTING;
      throw new Error("reader bug");
    },
    main: () => {},
  }, {
    exit: false,
    env: { MQTT_URL: `mqtt://127.0.0.1:${listener.addr.port}`, SVC_SETTING: "42" },
    logging: { sink: () => {} },
  });
  assert.equal(code, 1);
  assert.equal(seen, "42");
  using marker = await Deno.connect({ hostname: "127.0.0.1", port: listener.addr.port });
  using first = await firstAccepted;
  assert.equal(first.remoteAddr.port, marker.localAddr.port, "runService opened no connection");
});

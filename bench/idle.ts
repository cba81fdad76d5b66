/**
 * An idle process for the memory benchmark (a child of `bench/core.ts`): `--impl=tars` runs a
 * real service with `runService` (an `MqttClient` with health on, logging set up) that only
 * stays connected; `--impl=raw` connects a bare MQTT.js client; `--impl=none` is an empty
 * Deno process (the runtime's own share). Each prints `{"event":"ready"}` once connected and
 * then idles until it is killed. Modules are imported on demand, so each process loads only
 * what its kind needs.
 *
 * @module
 */
import { arg, emit, parseArgs } from "./protocol.ts";

/** Runs the idle process with `--key=value` arguments; returns only when killed (tars). */
export async function main(argv: readonly string[]): Promise<void> {
  const args = parseArgs(argv);
  const impl = arg(args, "impl");
  const url = arg(args, "url");
  const id = crypto.randomUUID().slice(0, 8);
  if (impl === "none") {
    setInterval(() => {}, 60_000);
    emit({ event: "ready" });
  } else if (impl === "raw") {
    const { connectRaw } = await import("./raw_client.ts");
    await connectRaw(url, `bench-idle-raw-${id}`);
    emit({ event: "ready" });
  } else if (impl === "tars") {
    const { runService } = await import("../core/mod.ts");
    await runService("bench-idle", () => emit({ event: "ready" }), {
      env: { MQTT_URL: url, MQTT_CLIENT_ID: `bench-idle-tars-${id}`, LOG_LEVEL: "info" },
    });
  } else {
    throw new Error("--impl must be none, raw or tars");
  }
}

if (import.meta.main) await main(Deno.args);

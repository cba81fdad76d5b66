/**
 * The envelope `source` of what each service publishes is py-tars' by default: `router`,
 * `llm-worker` and `memory-worker` where py-tars set a name; the client id elsewhere (as
 * py-tars' clients without one did). Client ids, and so health topics, stay as they are.
 */
import assert from "node:assert/strict";
import { type ServiceName } from "../../core/mod.ts";
import { serviceTable } from "../../ops/services.ts";
import { startBroker } from "../helpers/broker.ts";
import { spawnService, stopService } from "../helpers/service_process.ts";
import { collect, rawClient, waitFor } from "../helpers/wait.ts";

const EXPECTED: ReadonlyArray<[ServiceName, string]> = [
  ["router", "router"],
  ["llm-worker", "llm-worker"],
  ["memory-worker", "memory-worker"],
  ["movement-service", "tars-movement"],
];

Deno.test("envelope source: py-tars' service names by default, client ids unchanged", async () => {
  await using broker = await startBroker();
  const dir = await Deno.makeTempDir({ prefix: "tars-source-" });
  await using watcher = await rawClient(broker.url);
  const health = await collect(watcher, "system/health/+");
  const children: Deno.ChildProcess[] = [];
  try {
    for (const [name] of EXPECTED) {
      // LLM_BASE_URL: configured (never reached here), so llm-worker's health says ready.
      children.push(
        spawnService(name, {
          MQTT_URL: broker.url,
          MEMORY_DIR: dir,
          LLM_BASE_URL: "http://127.0.0.1:9/v1",
        }),
      );
    }
    const sourceOf = (clientId: string) =>
      health.map((m) => ({ topic: m.topic, envelope: JSON.parse(m.text) }))
        .find((m) => m.topic === `system/health/${clientId}` && m.envelope.data.event === "ready")
        ?.envelope.source;
    for (const [name, source] of EXPECTED) {
      const clientId = serviceTable[name].clientId;
      await waitFor(() => sourceOf(clientId) !== undefined, `${name} ready`, 30_000);
      assert.equal(sourceOf(clientId), source, name);
    }
  } finally {
    for (const child of children) {
      const result = await stopService(child);
      assert.equal(result.code, 0, result.stderr);
    }
    await Deno.remove(dir, { recursive: true });
  }
});

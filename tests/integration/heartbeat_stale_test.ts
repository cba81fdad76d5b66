/**
 * Heartbeats on by default where py-tars had them (stt-worker, llm-worker, memory-worker,
 * camera-service), each service as its own process with its `deno task dev` settings, and the
 * dashboard's tile of a stalled service (SIGSTOP) turning `stale`, then back when it resumes.
 */
import assert from "node:assert/strict";
import { type ServiceName, topics } from "../../core/mod.ts";
import { serviceTable } from "../../ops/services.ts";
import { freePort, startBroker } from "../helpers/broker.ts";
import { spawnService, stopService } from "../helpers/service_process.ts";
import { testClient, waitFor } from "../helpers/wait.ts";

const T = 30_000;
const BEATING: readonly ServiceName[] = [
  "stt-worker",
  "llm-worker",
  "memory-worker",
  "camera-service",
];

interface Tile {
  clientId: string;
  state: string;
}

Deno.test("heartbeats: on by default in stt, llm, memory and camera; a stalled service's tile goes stale", async () => {
  await using broker = await startBroker();
  const dir = await Deno.makeTempDir({ prefix: "tars-beat-" });
  await using watcher = testClient(broker.url);
  await watcher.connect({ timeoutMs: T });
  const beats = new Map<string, number>();
  await watcher.subscribe(topics.systemKeepalive, (_beat, message) => {
    const id = message.topic.split("/").at(-1)!;
    beats.set(id, (beats.get(id) ?? 0) + 1);
  });
  const uiPort = freePort();
  const children = new Map<ServiceName, Deno.ChildProcess>();
  const start = (name: ServiceName, env: Record<string, string> = {}) =>
    children.set(
      name,
      spawnService(name, {
        ...serviceTable[name].devEnv,
        MQTT_URL: broker.url,
        MQTT_HEARTBEAT_INTERVAL: "1",
        ...env,
      }),
    );
  try {
    start("ui-web", { UI_PORT: String(uiPort), UI_STALE_AFTER_SEC: "2" });
    start("stt-worker");
    start("llm-worker", { LLM_BASE_URL: "http://127.0.0.1:9/v1" }); // configured: ready
    start("memory-worker", { MEMORY_DIR: dir });
    start("camera-service", { CAMERA_HTTP_PORT: String(freePort()) });
    for (const name of BEATING) {
      const id = serviceTable[name].clientId;
      await waitFor(() => (beats.get(id) ?? 0) >= 2, `${name} heartbeats`, T);
    }
    const tile = async (clientId: string): Promise<string | undefined> => {
      try {
        const state = await (await fetch(`http://127.0.0.1:${uiPort}/api/state`)).json();
        return (state.health as Tile[]).find((t) => t.clientId === clientId)?.state;
      } catch {
        return undefined;
      }
    };
    const llm = serviceTable["llm-worker"].clientId;
    await waitFor(async () => await tile(llm) === "ready", "llm-worker tile ready", T);
    children.get("llm-worker")!.kill("SIGSTOP");
    try {
      await waitFor(async () => await tile(llm) === "stale", "llm-worker tile stale", T);
    } finally {
      children.get("llm-worker")!.kill("SIGCONT");
    }
    await waitFor(async () => await tile(llm) === "ready", "llm-worker tile ready again", T);
  } finally {
    for (const [name, child] of children) {
      const result = await stopService(child);
      assert.equal(result.code, 0, `${name}: ${result.stderr}`);
    }
    await Deno.remove(dir, { recursive: true });
  }
});

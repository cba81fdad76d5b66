/**
 * Health as py-tars peers publish it reaches the dashboard: the ESP32 firmware's bare
 * `{ok,event,timestamp}` and py-tars wake-activation's `wake.health` envelope with extra keys
 * (`version`, `ts`) each become a tile of ui-web (as its own process).
 */
import assert from "node:assert/strict";
import { freePort, startBroker } from "../helpers/broker.ts";
import { spawnService, stopService } from "../helpers/service_process.ts";
import { rawClient, waitFor } from "../helpers/wait.ts";

const T = 20_000;

interface Tile {
  clientId: string;
  state: string;
  event: string | null;
}

Deno.test("ui-web: raw ESP32 health and py-tars' wake.health become tiles", async () => {
  await using broker = await startBroker();
  await using peer = await rawClient(broker.url);
  const retained = { qos: 1, retain: true } as const;
  await peer.publishAsync(
    "system/health/movement-esp32",
    JSON.stringify({ ok: true, event: "firmware_online", timestamp: 782650000 }),
    retained,
  );
  await peer.publishAsync(
    "system/health/wake-activation",
    JSON.stringify({
      id: "4f0e1d2c3b4a45968778695a4b3c2d1e",
      type: "wake.health",
      ts: Date.now() / 1000,
      source: "wake-activation",
      data: { ok: false, version: "0.1.0", ts: Date.now() / 1000, err: "no mic" },
    }),
    retained,
  );
  const port = freePort();
  const ui = spawnService("ui-web", { MQTT_URL: broker.url, UI_PORT: String(port) });
  try {
    const tiles = async (): Promise<Tile[]> => {
      try {
        return (await (await fetch(`http://127.0.0.1:${port}/api/state`)).json()).health;
      } catch {
        return [];
      }
    };
    let seen: Tile[] = [];
    await waitFor(
      async () => {
        seen = await tiles();
        const esp = seen.find((t) => t.clientId === "movement-esp32");
        const wake = seen.find((t) => t.clientId === "wake-activation");
        return esp?.state === "ready" && wake !== undefined && wake.state !== "waiting";
      },
      "both tiles",
      T,
    ).catch((error) => {
      throw new Error(`${(error as Error).message}; tiles: ${JSON.stringify(seen)}`);
    });
    const esp = seen.find((t) => t.clientId === "movement-esp32")!;
    assert.equal(esp.event, "firmware_online");
    const wake = seen.find((t) => t.clientId === "wake-activation")!;
    assert.equal(wake.state, "error");
  } finally {
    const result = await stopService(ui);
    assert.equal(result.code, 0, result.stderr);
  }
});

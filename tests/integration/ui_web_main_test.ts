/** services/ui-web/main.ts as its own process, the way `deno task dev` and systemd run it. */
import assert from "node:assert/strict";
import { topics } from "../../core/mod.ts";
import { freePort, startBroker } from "../helpers/broker.ts";
import { runServiceToExit, spawnService, stopService } from "../helpers/service_process.ts";
import { testClient, waitFor } from "../helpers/wait.ts";

Deno.test("ui-web main: an open host without UI_TOKEN exits 78 naming the variable", async () => {
  const out = await runServiceToExit("ui-web", {
    MQTT_URL: "mqtt://127.0.0.1:1",
    UI_HOST: "0.0.0.0",
    LOG_LEVEL: "error",
  });
  assert.equal(out.code, 78);
  assert.match(out.stderr, /UI_TOKEN/);
});

Deno.test("ui-web main: serves, reports health, stops cleanly on SIGTERM", async () => {
  await using broker = await startBroker();
  await using world = testClient(broker.url);
  await world.connect({ timeoutMs: 10_000 });
  const health: string[] = [];
  await world.subscribe(topics.systemHealth, (ping) => {
    health.push(ping.event ?? "");
  }, { params: { client_id: "ui-web" } });
  const port = freePort();
  const child = spawnService("ui-web", {
    MQTT_URL: broker.url,
    UI_PORT: String(port),
    LOG_LEVEL: "warning",
  });
  try {
    await waitFor(() => health.includes("ready"), "ui-web health ready", 20_000);
    let answer: { ok: boolean; mqtt: boolean } | undefined;
    await waitFor(
      async () => {
        try {
          answer = await (await fetch(`http://127.0.0.1:${port}/healthz`)).json();
          return true;
        } catch {
          return false;
        }
      },
      "GET /healthz",
      20_000,
    );
    assert.deepEqual(answer, { ok: true, mqtt: true });
    const page = await fetch(`http://127.0.0.1:${port}/`);
    assert.match(await page.text(), /TARS dashboard/);
  } finally {
    const { code, stderr } = await stopService(child);
    assert.equal(code, 0, stderr);
  }
  await waitFor(() => health.includes("shutdown"), "ui-web health shutdown");
});

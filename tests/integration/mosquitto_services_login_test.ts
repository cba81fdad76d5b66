/**
 * The services run against the shipped Mosquitto config as deployed: each one started as its own
 * process (with its ops permissions) with nothing but the `MQTT_URL` of the env file the setup
 * command wrote for it, logs in, keeps its client id for its topics while the broker binds the
 * session to its user name, and announces retained health `ready` (which needs its ACL lines for
 * health and the subscriptions it makes at start).
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import mqtt from "mqtt";
import { type ServiceName } from "../../core/mod.ts";
import { serviceTable } from "../../ops/services.ts";
import { brokerKind, freePort } from "../helpers/broker.ts";
import { spawnService, stopService } from "../helpers/service_process.ts";
import { startShippedMosquitto } from "../helpers/shipped_mosquitto.ts";
import { waitFor } from "../helpers/wait.ts";

// Light services with no hardware and no model: the dashboard (which publishes browser audio),
// the router and the servos (simulated).
const SERVICES: readonly ServiceName[] = ["router", "movement-service", "ui-web"];

Deno.test({
  name: "shipped mosquitto.conf: services log in with their env files and report ready",
  ignore: brokerKind() !== "mosquitto",
  async fn() {
    await using broker = await startShippedMosquitto("mosquitto.conf");
    const monitor = await mqtt.connectAsync(broker.url, {
      reconnectPeriod: 0,
      ...broker.login("tars-monitor"),
    });
    const ready = new Set<string>();
    monitor.on("message", (topic, payload) => {
      if (JSON.parse(payload.toString()).data?.event === "ready") ready.add(topic);
    });
    await monitor.subscribeAsync("system/health/+", { qos: 1 });
    const port = String(broker.port);
    const children = SERVICES.map((name) => {
      const envFile = Deno.readTextFileSync(join(broker.dir, "env", `${name}.mqtt.env`));
      const url = /^MQTT_URL=(.*)$/m.exec(envFile)![1].replace("@HOST", `@127.0.0.1:${port}`);
      return spawnService(name, {
        MQTT_URL: url,
        UI_PORT: String(freePort()),
        HOME: Deno.env.get("HOME") ?? "/tmp",
      });
    });
    try {
      const topics = SERVICES.map((n) => `system/health/${serviceTable[n].clientId}`);
      await waitFor(
        () => topics.every((t) => ready.has(t)),
        `every service ready (got ${[...ready].join(", ")}); broker log:\n${broker.log()}`,
        30_000,
      );
      // The broker knows each session by its user name, not by the id the service sent.
      for (const name of SERVICES) {
        assert.match(broker.log(), new RegExp(`New client connected from .* as ${name} `));
      }
    } finally {
      const results = await Promise.all(children.map(stopService));
      await monitor.endAsync(true);
      for (const [i, r] of results.entries()) {
        assert.equal(r.code, 0, `${SERVICES[i]} exit code; stderr:\n${r.stderr}`);
      }
    }
  },
});

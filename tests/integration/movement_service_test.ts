/**
 * movement-service over a real broker: movement/test (enveloped and raw) → movement/status,
 * movement/stop during a sequence, movement/clear, bad input, and main.ts as a process.
 */
import assert from "node:assert/strict";
import { getLogger, type MovementStatusUpdate, type MqttClient, topics } from "../../core/mod.ts";
import { readMovementConfig } from "../../services/movement-service/config.ts";
import { SimServoDriver } from "../../services/movement-service/drivers/sim.ts";
import { startMovementService } from "../../services/movement-service/service.ts";
import { startBroker } from "../helpers/broker.ts";
import { collect, rawClient, testClient, waitFor } from "../helpers/wait.ts";

async function connected(client: MqttClient): Promise<MqttClient> {
  await client.connect({ timeoutMs: 10_000 });
  return client;
}

async function harness(url: string) {
  const serviceClient = await connected(testClient(url, { clientId: "tars-movement" }));
  const user = await connected(testClient(url));
  const statuses: MovementStatusUpdate[] = [];
  await user.subscribe(topics.movementStatus, (status) => {
    statuses.push(status);
  });
  const driver = new SimServoDriver();
  const service = await startMovementService(
    { client: serviceClient, logger: getLogger("movement-test") },
    { config: readMovementConfig({ MOVEMENT_MS_PER_TICK: "1" }), driver },
  );
  const events = (requestId?: string) =>
    statuses.filter((s) => requestId === undefined || s.request_id === requestId)
      .map((s) => s.event);
  return {
    user,
    driver,
    service,
    statuses,
    events,
    [Symbol.asyncDispose]: async () => {
      await service.close();
      await user.shutdown();
      await serviceClient.shutdown();
    },
  };
}

Deno.test("movement-service: movement/test (enveloped and raw) → started/completed on movement/status", async () => {
  await using broker = await startBroker();
  await using t = await harness(broker.url);
  await waitFor(() => t.statuses.some((s) => s.event === "connected"), "connected status", 10_000);
  await t.user.publishEvent(topics.movementTest, {
    command: "wave",
    speed: 1,
    request_id: "env-1",
  });
  await using raw = await rawClient(broker.url);
  await raw.publishAsync(
    topics.movementTest.topic,
    JSON.stringify({ command: "move_arm", params: { port_main: 100 }, request_id: "raw-1" }),
    { qos: 1 },
  );
  await waitFor(() => t.events("raw-1").includes("command_completed"), "raw command done", 20_000);
  assert.deepEqual(t.events("env-1"), ["command_started", "command_completed"]);
  assert.deepEqual(t.events("raw-1"), ["command_started", "command_completed"]);
  assert.equal(t.driver.output(3), 440, "move_arm port_main 100 % = right_main max");
  const frames = t.driver.records.filter((r) => r.kind === "frame").length;
  assert.ok(frames > 30, `${frames} frames`);
});

Deno.test("movement-service: movement/stop mid-sequence stops, latches, movement/clear lifts it", async () => {
  await using broker = await startBroker();
  await using t = await harness(broker.url);
  await t.user.publishEvent(topics.movementTest, { command: "pezz_dispenser", request_id: "long" });
  await waitFor(() => t.events("long").includes("command_started"), "started", 10_000);
  await waitFor(() => t.driver.records.filter((r) => r.kind === "frame").length > 3, "moving");
  // The firmware's rule: any message on movement/stop is a stop, even one that is not JSON.
  await using raw = await rawClient(broker.url);
  await raw.publishAsync(topics.movementStop.topic, "STOP!", { qos: 1 });
  await waitFor(() => t.events().includes("emergency_stop"), "emergency_stop", 10_000);
  assert.equal(t.driver.records.at(-1)?.kind, "off");
  assert.equal(t.driver.output(0), null);
  await waitFor(() => t.events("long").includes("command_failed"), "interrupted");

  await t.user.publishEvent(topics.movementTest, { command: "bow", request_id: "refused" });
  await waitFor(() => t.events("refused").length > 0, "refusal");
  assert.deepEqual(t.events("refused"), ["command_failed"]);
  assert.match(t.statuses.at(-1)!.detail!, /latched/);

  await t.user.publishEvent(topics.movementClear, { reason: "checked" });
  await waitFor(() => t.events().includes("stop_cleared"), "stop_cleared", 10_000);
  await t.user.publishEvent(topics.movementTest, { command: "laugh", request_id: "after" });
  await waitFor(() => t.events("after").includes("command_completed"), "after clear", 20_000);
});

Deno.test("movement-service: bad commands get command_failed and the service carries on", async () => {
  await using broker = await startBroker();
  await using t = await harness(broker.url);
  await using raw = await rawClient(broker.url);
  await raw.publishAsync(
    topics.movementTest.topic,
    JSON.stringify({ command: "dance", request_id: "bad-1" }),
    { qos: 1 },
  );
  await raw.publishAsync(
    topics.movementTest.topic,
    JSON.stringify({ command: "wave", speed: 7, request_id: "bad-2" }),
    { qos: 1 },
  );
  await raw.publishAsync(topics.movementTest.topic, "not json", { qos: 1 });
  await raw.publishAsync(
    topics.movementTest.topic,
    JSON.stringify({ command: "move_legs", request_id: "bad-3" }),
    { qos: 1 },
  );
  await raw.publishAsync(
    topics.movementTest.topic,
    JSON.stringify({ command: "reset", request_id: "ok" }),
    { qos: 1 },
  );
  await waitFor(() => t.events("ok").includes("command_completed"), "the good one runs", 20_000);
  for (const id of ["bad-1", "bad-2", "bad-3"]) {
    assert.deepEqual(t.events(id), ["command_failed"], id);
  }
  const bad1 = t.statuses.find((s) => s.request_id === "bad-1")!;
  assert.equal(bad1.command, "dance");
  assert.match(bad1.detail!, /command/);
  assert.equal(t.service.counters.invalid, 2);
});

Deno.test("movement-service main.ts: runs as a process with the sim default, exits 0 on SIGTERM; bad env exits 78", async () => {
  await using broker = await startBroker();
  await using watcher = await rawClient(broker.url);
  const statuses = await collect(watcher, topics.movementStatus.topic);
  const health = await collect(watcher, "system/health/tars-movement");
  const main = new URL("../../services/movement-service/main.ts", import.meta.url).pathname;
  const child = new Deno.Command(Deno.execPath(), {
    args: ["run", "--allow-net", "--allow-env", "--allow-read", main],
    env: { MQTT_URL: broker.url, LOG_LEVEL: "warn" },
    stdout: "null",
    stderr: "piped",
  }).spawn();
  const stderr = child.stderr.text();
  try {
    await waitFor(() => statuses.some((m) => m.text.includes('"connected"')), "service up", 30_000);
    assert.match(statuses[0].text, /driver sim/);
    await watcher.publishAsync(
      topics.movementTest.topic,
      JSON.stringify({ command: "reset", request_id: "p1" }),
      { qos: 1 },
    );
    await waitFor(
      () => statuses.some((m) => m.text.includes("command_completed")),
      "reset done",
      20_000,
    );
  } finally {
    child.kill("SIGTERM");
  }
  const status = await child.status;
  await stderr;
  assert.equal(status.code, 0);
  await waitFor(() => health.some((m) => m.text.includes('"shutdown"')), "health shutdown");

  const bad = await new Deno.Command(Deno.execPath(), {
    args: ["run", "--allow-net", "--allow-env", "--allow-read", main],
    env: { MQTT_URL: broker.url, MOVEMENT_DRIVER: "servo-magic", MOVEMENT_QUEUE_SIZE: "0" },
    stdout: "null",
    stderr: "piped",
  }).output();
  assert.equal(bad.code, 78);
  const message = new TextDecoder().decode(bad.stderr);
  assert.match(message, /MOVEMENT_DRIVER="servo-magic".*sim, pca9685, esp32/);
  assert.match(message, /MOVEMENT_QUEUE_SIZE/);
});

Deno.test("movement-service: an oversized movement/stop still stops, unread", async () => {
  await using broker = await startBroker();
  await using t = await harness(broker.url);
  await waitFor(() => t.statuses.some((s) => s.event === "connected"), "connected status", 10_000);
  await using raw = await rawClient(broker.url);
  const huge = JSON.stringify({ reason: "x".repeat(topics.movementStop.maxBytes) });
  await raw.publishAsync(topics.movementStop.topic, huge, { qos: 1 });
  await waitFor(() => t.events().includes("emergency_stop"), "emergency_stop", 10_000);
  const stop = t.statuses.find((s) => s.event === "emergency_stop")!;
  assert.match(stop.detail ?? "", /-byte message, not read/);
});

Deno.test("movement-service: a long stop reason is clipped, the stop still reported", async () => {
  await using broker = await startBroker();
  await using t = await harness(broker.url);
  await waitFor(() => t.statuses.some((s) => s.event === "connected"), "connected status", 10_000);
  await using raw = await rawClient(broker.url);
  await raw.publishAsync(
    topics.movementStop.topic,
    JSON.stringify({ reason: "y".repeat(10_000) }),
    { qos: 1 },
  );
  await waitFor(() => t.events().includes("emergency_stop"), "emergency_stop", 10_000);
  const stop = t.statuses.find((s) => s.event === "emergency_stop")!;
  assert.ok((stop.detail ?? "").length < 400, `${stop.detail?.length} characters`);
});

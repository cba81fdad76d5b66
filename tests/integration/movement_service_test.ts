/**
 * movement-service over a real broker: movement/test (enveloped and raw) → movement/status,
 * movement/stop during a sequence, movement/clear (the only way out of the latch), bad input
 * (rate-limited log), the dead-man rule with the broker killed mid-sequence, and main.ts as a
 * process.
 */
import assert from "node:assert/strict";
import {
  getLogger,
  type LogRecord,
  type MovementStatusUpdate,
  type MqttClient,
  setupLogging,
  TestMovementRequest,
  topics,
} from "../../core/mod.ts";
import { readMovementConfig } from "../../services/movement-service/config.ts";
import { forceCleanSession } from "../../services/movement-service/main.ts";
import { SimServoDriver } from "../../services/movement-service/drivers/sim.ts";
import { startMovementService } from "../../services/movement-service/service.ts";
import { startBroker } from "../helpers/broker.ts";
import { runServiceToExit, spawnService, stopService } from "../helpers/service_process.ts";
import { collect, rawClient, testClient, waitFor } from "../helpers/wait.ts";

async function connected(client: MqttClient): Promise<MqttClient> {
  await client.connect({ timeoutMs: 10_000 });
  return client;
}

async function harness(url: string, env: Record<string, string> = {}) {
  const serviceClient = await connected(testClient(url, { clientId: "tars-movement" }));
  const user = await connected(testClient(url));
  const statuses: MovementStatusUpdate[] = [];
  await user.subscribe(topics.movementStatus, (status) => {
    statuses.push(status);
  });
  // What the service publishes on movement/status, also while offline (QoS 0 is dropped then).
  const sent: Array<Record<string, unknown>> = [];
  const publishEvent = serviceClient.publishEvent.bind(serviceClient);
  serviceClient.publishEvent =
    ((target: unknown, data: Record<string, unknown>, ...rest: unknown[]) => {
      if (target === topics.movementStatus) sent.push(data);
      return (publishEvent as (...args: unknown[]) => Promise<string>)(target, data, ...rest);
    }) as typeof serviceClient.publishEvent;
  const driver = new SimServoDriver();
  // Which command was running when each frame was written.
  const frameOwners: Array<string | null> = [];
  const service = await startMovementService(
    { client: serviceClient, logger: getLogger("movement-test") },
    { config: readMovementConfig({ MOVEMENT_MS_PER_TICK: "1", ...env }), driver },
  );
  const apply = driver.apply.bind(driver);
  driver.apply = (pulses) => {
    frameOwners.push(service.controller.running);
    return apply(pulses);
  };
  const events = (requestId?: string) =>
    statuses.filter((s) => requestId === undefined || s.request_id === requestId)
      .map((s) => s.event);
  return {
    serviceClient,
    user,
    driver,
    frameOwners,
    service,
    statuses,
    sent,
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
  // `reset` (which the router's voice intents and the LLM's move tool send) is refused too.
  await t.user.publishEvent(topics.movementTest, { command: "reset", request_id: "reset" });
  await t.user.publishEvent(topics.movementTest, { command: "wave", request_id: "wave" });
  await waitFor(() => t.events("wave").length > 0, "wave refused");
  assert.deepEqual(t.events("reset"), ["command_failed"]);
  assert.deepEqual(t.events("wave"), ["command_failed"]);
  for (const id of ["reset", "wave"]) {
    const refusal = t.statuses.find((s) => s.request_id === id)!;
    assert.match(refusal.detail!, /emergency stop is latched \(movement\/stop\).*movement\/clear/);
  }
  assert.ok(!t.events().includes("stop_cleared"), "reset did not clear the latch");
  assert.equal(t.service.controller.stopReason, "movement/stop");

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

Deno.test("movement-service: a flood of bad and refused commands logs a bounded number of lines", async () => {
  const records: LogRecord[] = [];
  setupLogging({ level: "info", sink: (r) => records.push(r) });
  try {
    await using broker = await startBroker();
    await using t = await harness(broker.url);
    await using raw = await rawClient(broker.url);
    const FLOOD = 150;
    for (let i = 0; i < FLOOD; i++) {
      // Unknown commands with caller-chosen names and fields, and valid ones with bad fields.
      const bad = i % 2 === 0
        ? { command: `dance-${i}`, [`field_${i}`]: i, request_id: `bad-${i}` }
        : { command: "wave", speed: 7 + i, request_id: `bad-${i}` };
      await raw.publishAsync(topics.movementTest.topic, JSON.stringify(bad), { qos: 1 });
    }
    await raw.publishAsync(
      topics.movementTest.topic,
      JSON.stringify({ command: "reset", request_id: "marker-1" }),
      { qos: 1 },
    );
    await waitFor(() => t.events("marker-1").includes("command_completed"), "marker 1", 20_000);
    assert.ok(t.service.counters.invalid >= FLOOD / 2, `${t.service.counters.invalid} handled`);

    // Stops, and commands refused by the latch, flood too.
    for (let i = 0; i < 50; i++) {
      await raw.publishAsync(topics.movementStop.topic, `stop ${i}`, { qos: 1 });
      await raw.publishAsync(
        topics.movementTest.topic,
        JSON.stringify({ command: i % 2 ? "reset" : "wave", request_id: `latched-${i}` }),
        { qos: 1 },
      );
    }
    await t.user.publishEvent(topics.movementClear, { reason: "flood over" });
    await waitFor(() => t.events().includes("stop_cleared"), "cleared", 10_000);
    await t.user.publishEvent(topics.movementTest, { command: "pose", request_id: "marker-2" });
    await waitFor(() => t.events("marker-2").includes("command_completed"), "marker 2", 20_000);
    assert.ok(t.sent.filter((s) => s.event === "command_failed").length >= FLOOD / 2 + 50);

    const warnings = records.filter((r) => r.level === "warning" || r.level === "error");
    // One line per kind: unknown command invalid, wave invalid, emergency stop, reset latched,
    // wave latched; a few more allowed, a line per message is not.
    assert.ok(warnings.length <= 8, warnings.map((r) => r.message.join("")).join("\n"));
    const suppressed = warnings.map((r) => r.properties.suppressed);
    assert.ok(
      suppressed.every((n) => typeof n === "number"),
      "every line counts what it held back",
    );
  } finally {
    setupLogging({ level: "fatal", sink: () => {} });
  }
});

Deno.test("movement-service: broker killed mid-sequence → servos off, queue dropped, refused until reconnected", async () => {
  await using broker = await startBroker();
  await using t = await harness(broker.url);
  // laugh at speed 0.1: 650 frames over 14.5 s, never more than 170 ms apart.
  await t.user.publishEvent(topics.movementTest, {
    command: "laugh",
    speed: 0.1,
    request_id: "long",
  });
  await t.user.publishEvent(topics.movementTest, { command: "wave", request_id: "queued-1" });
  await t.user.publishEvent(topics.movementTest, { command: "bow", request_id: "queued-2" });
  await waitFor(() => t.frameOwners.length > 5, "moving", 10_000);
  await waitFor(() => t.service.controller.queueSize === 2, "two commands wait", 10_000);

  await broker.kill();
  await waitFor(() => t.service.controller.suspendedReason !== null, "suspended", 10_000);
  const frames = t.frameOwners.length;
  assert.equal(t.driver.records.at(-1)?.kind, "off", "servos off");
  assert.equal(t.driver.output(0), null);
  assert.equal(t.service.controller.queueSize, 0, "queue dropped");
  await waitFor(() => t.service.controller.running === null, "the sequence ended");
  const interrupted = t.sent.find((s) => s.request_id === "long" && s.event === "command_failed");
  assert.match(String(interrupted?.detail), /interrupted by suspension/);
  for (const id of ["queued-1", "queued-2"]) {
    const dropped = t.sent.find((s) => s.request_id === id);
    assert.equal(dropped?.event, "command_failed", id);
    assert.match(String(dropped?.detail), /cancelled: movement suspended/);
  }
  // Commands that reach the controller while offline (e.g. still in the client's handler
  // queue when the connection dropped) are refused.
  assert.equal(
    t.service.controller.submit(TestMovementRequest.parse({ command: "wave" })),
    "rejected",
  );
  assert.match(String(t.sent.at(-1)?.detail), /suspended \(connection to the broker lost\)/);

  await broker.start();
  await waitFor(() => t.serviceClient.connected && t.user.connected, "reconnected", 15_000);
  await waitFor(() => t.service.controller.suspendedReason === null, "resumed");
  await t.user.publishEvent(topics.movementTest, { command: "pose", request_id: "marker" });
  await waitFor(() => t.events("marker").includes("command_completed"), "marker ran", 20_000);
  const after = t.frameOwners.slice(frames);
  assert.ok(after.length > 0);
  assert.deepEqual([...new Set(after)], ["pose"], "no frame of the old sequence or queue");
  assert.ok(!t.frameOwners.includes("wave") && !t.frameOwners.includes("bow"));

  // A latched stop stays latched across a lost and restored connection.
  await t.user.publishEvent(topics.movementStop, { reason: "hands off" });
  await waitFor(() => t.service.controller.stopReason !== null, "latched");
  await broker.kill();
  await waitFor(() => t.service.controller.suspendedReason !== null, "suspended again", 10_000);
  await broker.start();
  await waitFor(() => t.service.controller.suspendedReason === null, "resumed again", 15_000);
  await waitFor(() => t.user.connected, "user back", 15_000);
  await t.user.publishEvent(topics.movementTest, { command: "wave", request_id: "still" });
  await waitFor(() => t.events("still").length > 0, "refusal", 10_000);
  assert.deepEqual(t.events("still"), ["command_failed"]);
  assert.match(t.statuses.find((s) => s.request_id === "still")!.detail!, /latched/);
  assert.equal(readMovementConfig({}).stopOnDisconnect, true, "the dead-man rule is the default");
});

Deno.test("movement-service: MOVEMENT_STOP_ON_DISCONNECT=false (benches) keeps moving without the broker", async () => {
  await using broker = await startBroker();
  await using t = await harness(broker.url, { MOVEMENT_STOP_ON_DISCONNECT: "false" });
  assert.equal(readMovementConfig({ MOVEMENT_STOP_ON_DISCONNECT: "0" }).stopOnDisconnect, false);
  await t.user.publishEvent(topics.movementTest, {
    command: "laugh",
    speed: 0.1,
    request_id: "long",
  });
  await waitFor(() => t.frameOwners.length > 5, "moving", 10_000);
  await broker.kill();
  await waitFor(() => !t.serviceClient.connected, "the loss was seen");
  const frames = t.frameOwners.length;
  await waitFor(() => t.frameOwners.length > frames + 5, "frames go on without the broker");
  assert.equal(t.service.controller.suspendedReason, null);
  assert.equal(t.service.controller.running, "laugh");
  assert.ok(!t.sent.some((s) => s.event === "command_failed"));
});

Deno.test("movement-service main.ts: runs as a process with the sim default, exits 0 on SIGTERM; bad env exits 78", async () => {
  await using broker = await startBroker();
  await using watcher = await rawClient(broker.url);
  const statuses = await collect(watcher, topics.movementStatus.topic);
  const health = await collect(watcher, "system/health/tars-movement");
  const child = spawnService("movement-service", { MQTT_URL: broker.url, LOG_LEVEL: "warn" });
  let stopped: { code: number };
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
    stopped = await stopService(child);
  }
  assert.equal(stopped.code, 0);
  await waitFor(() => health.some((m) => m.text.includes('"shutdown"')), "health shutdown");

  const bad = await runServiceToExit("movement-service", {
    MQTT_URL: broker.url,
    MOVEMENT_DRIVER: "servo-magic",
    MOVEMENT_QUEUE_SIZE: "0",
  });
  assert.equal(bad.code, 78);
  const message = bad.stderr;
  assert.match(message, /MOVEMENT_DRIVER="servo-magic".*sim, pca9685, esp32/);
  assert.match(message, /MOVEMENT_QUEUE_SIZE/);
});

Deno.test("movement-service: forceCleanSession turns MQTT_CLEAN_SESSION=false into true", () => {
  for (const value of ["false", "0", "no", "OFF"]) {
    const env: Record<string, string> = { MQTT_CLEAN_SESSION: value };
    assert.equal(forceCleanSession(env), true, value);
    assert.equal(env.MQTT_CLEAN_SESSION, "true");
  }
  const untouched: Record<string, string>[] = [
    {},
    { MQTT_CLEAN_SESSION: "true" },
    { MQTT_CLEAN_SESSION: "" },
  ];
  for (const env of untouched) {
    const copy = { ...env };
    assert.equal(forceCleanSession(copy), false);
    assert.deepEqual(copy, env);
  }
});

Deno.test("movement-service main.ts: MQTT_CLEAN_SESSION=false is overridden (warned), and commands sent while it was down do not run", async () => {
  await using broker = await startBroker({ persistence: true });
  await using watcher = await rawClient(broker.url);
  const statuses = await collect(watcher, topics.movementStatus.topic);
  const start = () =>
    spawnService("movement-service", {
      MQTT_URL: broker.url,
      LOG_LEVEL: "warn",
      MQTT_CLEAN_SESSION: "false",
    });
  const connected = () => statuses.filter((m) => m.text.includes('"connected"')).length;
  const stopChild = async (child: Deno.ChildProcess) => {
    const { code, stderr } = await stopService(child);
    assert.equal(code, 0, stderr);
    return stderr;
  };
  let child = start();
  await waitFor(() => connected() === 1, "first start", 30_000);
  // A crash (no unsubscribe, no clean disconnect): a persistent session would stay on the broker.
  child.kill("SIGKILL");
  const [, firstLog] = await Promise.all([child.status, child.stderr.text()]);
  assert.match(firstLog, /MQTT_CLEAN_SESSION=false is ignored by movement-service/);
  // While it is down: a command that, with a persistent session, the broker would keep for it.
  await watcher.publishAsync(
    topics.movementTest.topic,
    JSON.stringify({ command: "wave", request_id: "while-down" }),
    { qos: 1 },
  );
  child = start();
  try {
    await waitFor(() => connected() === 2, "second start", 30_000);
    // The marker: a queued command would have been delivered before it.
    await watcher.publishAsync(
      topics.movementTest.topic,
      JSON.stringify({ command: "reset", request_id: "marker" }),
      { qos: 1 },
    );
    await waitFor(() => statuses.some((m) => m.text.includes('"marker"')), "the marker", 20_000);
    assert.ok(!statuses.some((m) => m.text.includes('"while-down"')), "the stale command ran");
  } finally {
    await stopChild(child);
  }
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

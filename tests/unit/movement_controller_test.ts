import assert from "node:assert/strict";
import FakeTimers from "@sinonjs/fake-timers";
import { TestMovementRequest } from "../../core/mod.ts";
import {
  MovementController,
  type MovementStateReport,
  type MovementStatusReport,
} from "../../services/movement-service/controller.ts";
import { SimServoDriver } from "../../services/movement-service/drivers/sim.ts";
import { servoOn } from "../../services/movement-service/servo_map.ts";

const FRAME_MS = 20;

async function setup(options: { ttlMs?: number; queueSize?: number } = {}) {
  const clock = FakeTimers.install({ toFake: ["setTimeout", "clearTimeout", "Date"] });
  const driver = new SimServoDriver();
  await driver.open();
  const statuses: MovementStatusReport[] = [];
  const states: MovementStateReport[] = [];
  const controller = new MovementController({
    driver,
    commandTtlMs: options.ttlMs ?? 10_000,
    queueSize: options.queueSize ?? 8,
    timing: { frameMs: FRAME_MS, msPerTick: 2 },
    onStatus: (s) => statuses.push(s),
    onState: (s) => states.push(s),
  });
  const events = () => statuses.map((s) => `${s.event}:${s.command ?? ""}`);
  return {
    clock,
    driver,
    controller,
    statuses,
    states,
    events,
    [Symbol.asyncDispose]: async () => {
      await controller.close();
      clock.uninstall();
    },
  };
}

const request = (command: string, extra: Record<string, unknown> = {}) =>
  TestMovementRequest.parse({ command, ...extra });

Deno.test("controller: a command runs as frames within limits, then command_completed", async () => {
  await using t = await setup();
  assert.equal(t.controller.submit(request("bow", { request_id: "r-1", speed: 0.5 })), "queued");
  assert.deepEqual(t.states[0], {
    event: "command_queued",
    command: "bow",
    speed: 0.5,
    queue_size: 1,
  });
  await t.clock.tickAsync(30_000);
  assert.deepEqual(t.events(), ["command_started:bow", "command_completed:bow"]);
  assert.equal(t.statuses[1].request_id, "r-1");
  const frames = t.driver.records.filter((r) => r.kind === "frame");
  assert.ok(frames.length > 20);
  for (const record of frames) {
    for (const [ch, pulse] of Object.entries(record.kind === "frame" ? record.pulses : {})) {
      const servo = servoOn(Number(ch))!;
      assert.ok(pulse >= servo.min && pulse <= servo.max);
    }
  }
  // Consecutive frames are one frame period apart, except after a hold.
  const gaps = frames.slice(1).map((r, i) => r.at - frames[i].at);
  assert.ok(gaps.every((gap) => gap >= FRAME_MS));
  assert.equal(gaps.filter((gap) => gap === FRAME_MS).length, gaps.length - 1, "one 2 s hold");
  assert.ok(gaps.includes(FRAME_MS + 2000));
});

Deno.test("controller: e-stop during a sequence turns outputs off within one frame and latches", async () => {
  await using t = await setup();
  t.controller.submit(request("wave", { request_id: "w" }));
  t.controller.submit(request("bow", { request_id: "queued-1" }));
  await t.clock.tickAsync(300); // mid-wave
  assert.equal(t.controller.running, "wave");
  const stopAt = Date.now();
  const stopping = t.controller.emergencyStop("test");
  // Synchronously, before any timer or frame: the outputs are off.
  const last = t.driver.records.at(-1)!;
  assert.equal(last.kind, "off");
  assert.ok(last.at - stopAt < FRAME_MS);
  assert.equal(t.driver.output(3), null);
  await stopping;
  await t.clock.tickAsync(10_000);
  assert.equal(
    t.driver.records.filter((r) => r.at > stopAt && r.kind === "frame").length,
    0,
    "no frame after the stop",
  );
  assert.deepEqual(t.events(), [
    "command_started:wave",
    "emergency_stop:wave",
    "command_failed:bow", // dropped from the queue
    "command_failed:wave", // interrupted
  ]);
  assert.match(t.statuses[3].detail!, /interrupted by emergency stop \(test\)/);
  assert.deepEqual(t.states.at(-1), { event: "stopped", reason: "test" });

  // Latched: every command is refused, `reset` included, until the explicit clear.
  assert.equal(t.controller.submit(request("wave")), "rejected");
  assert.match(t.statuses.at(-1)!.detail!, /latched \(test\).*movement\/clear/);
  assert.equal(t.controller.stopReason, "test");
});

Deno.test("controller: only clearStop lifts a latched stop; reset and wave are refused naming the latch", async () => {
  await using t = await setup();
  await t.controller.emergencyStop("movement/stop");
  for (const command of ["reset", "wave", "disable", "pose"]) {
    assert.equal(t.controller.submit(request(command, { request_id: command })), "rejected");
    const refusal = t.statuses.at(-1)!;
    assert.equal(refusal.event, "command_failed");
    assert.equal(refusal.request_id, command);
    assert.equal(refusal.cause, "latched");
    assert.match(refusal.detail!, /emergency stop is latched \(movement\/stop\)/);
    assert.match(refusal.detail!, /movement\/clear/);
  }
  await t.clock.tickAsync(10_000);
  assert.equal(t.controller.stopReason, "movement/stop", "reset did not clear the latch");
  assert.ok(!t.events().includes("stop_cleared:"));
  assert.equal(t.driver.records.filter((r) => r.kind === "frame").length, 0, "nothing moved");

  assert.equal(t.controller.clearStop("movement/clear"), true);
  assert.equal(t.controller.submit(request("wave", { request_id: "w" })), "queued");
  await t.clock.tickAsync(20_000);
  assert.deepEqual(t.events().slice(-3), [
    "stop_cleared:",
    "command_started:wave",
    "command_completed:wave",
  ]);
});

Deno.test("controller: suspend switches off at once, drops the queue, refuses until resume; a latch survives it", async () => {
  await using t = await setup();
  t.controller.submit(request("pezz_dispenser", { request_id: "long" }));
  t.controller.submit(request("bow", { request_id: "queued" }));
  await t.clock.tickAsync(300);
  assert.equal(t.controller.running, "pezz_dispenser");
  const suspendAt = Date.now();
  const suspending = t.controller.suspend("broker lost");
  assert.equal(t.driver.records.at(-1)!.kind, "off", "off synchronously");
  assert.equal(t.controller.suspendedReason, "broker lost");
  await suspending;
  assert.equal(t.controller.submit(request("wave", { request_id: "refused" })), "rejected");
  const refusal = t.statuses.at(-1)!;
  assert.equal(refusal.cause, "suspended");
  assert.match(refusal.detail!, /suspended \(broker lost\)/);
  await t.clock.tickAsync(60_000);
  assert.equal(
    t.driver.records.filter((r) => r.at >= suspendAt && r.kind === "frame").length,
    0,
    "no frame after the suspension",
  );
  assert.deepEqual(t.events(), [
    "command_started:pezz_dispenser",
    "command_failed:bow", // dropped from the queue
    "command_failed:pezz_dispenser", // interrupted
    "command_failed:wave", // refused while suspended
  ]);
  assert.match(t.statuses[2].detail!, /interrupted by suspension \(broker lost\)/);
  assert.deepEqual(t.states.at(-1), { event: "stopped", reason: "broker lost" });
  assert.equal(t.controller.stopReason, null, "a suspension is not a latch");

  assert.equal(t.controller.resume(), true);
  assert.deepEqual(t.states.at(-1), { event: "ready" });
  assert.equal(t.controller.submit(request("laugh")), "queued");
  await t.clock.tickAsync(20_000);
  assert.equal(t.events().at(-1), "command_completed:laugh");
  assert.equal(t.events().filter((e) => e === "command_started:bow").length, 0, "never ran");

  // A stop latched while suspended is still latched after the resume.
  await t.controller.suspend("broker lost again");
  assert.equal(t.controller.submit(request("stop")), "stopped");
  await t.clock.tickAsync(0);
  t.controller.resume();
  assert.equal(t.controller.submit(request("wave")), "rejected");
  assert.equal(t.statuses.at(-1)!.cause, "latched");
});

Deno.test("controller: the stop command acts at once, ahead of the queue; clearStop lifts it", async () => {
  await using t = await setup();
  t.controller.submit(request("pezz_dispenser"));
  await t.clock.tickAsync(100);
  assert.equal(t.controller.submit(request("stop", { request_id: "s" })), "stopped");
  await t.clock.tickAsync(0);
  assert.equal(t.driver.records.at(-1)?.kind, "off");
  assert.ok(t.events().includes("emergency_stop:stop"));
  assert.equal(t.controller.clearStop("operator"), true);
  assert.equal(t.controller.clearStop("again"), false);
  assert.deepEqual(t.statuses.at(-1), { event: "stop_cleared", detail: "operator" });
  assert.equal(t.controller.submit(request("laugh")), "queued");
  await t.clock.tickAsync(20_000);
  assert.equal(t.events().at(-1), "command_completed:laugh");
});

Deno.test("controller: a command older than the TTL at the front of the queue is dropped", async () => {
  await using t = await setup({ ttlMs: 3_000 });
  t.controller.submit(request("bow")); // ~2.5 s of motion + hold at speed 1
  t.controller.submit(request("wave", { request_id: "late" })); // waits for bow
  t.controller.submit(request("pose", { request_id: "later" }));
  await t.clock.tickAsync(60_000);
  assert.deepEqual(t.events(), [
    "command_started:bow",
    "command_completed:bow",
    "command_started:wave",
    "command_completed:wave",
    "command_failed:pose",
  ]);
  const dropped = t.statuses.at(-1)!;
  assert.equal(dropped.request_id, "later");
  assert.match(
    dropped.detail!,
    /waited \d+ ms in the queue, longer than MOVEMENT_COMMAND_TTL_MS=3000/,
  );
});

Deno.test("controller: a full queue refuses with queue_full", async () => {
  await using t = await setup({ queueSize: 2 });
  t.controller.submit(request("bow")); // starts at once
  await t.clock.tickAsync(0);
  assert.equal(t.controller.submit(request("wave")), "queued");
  assert.equal(t.controller.submit(request("laugh")), "queued");
  assert.equal(t.controller.submit(request("pose", { request_id: "p" })), "rejected");
  assert.deepEqual(t.statuses.at(-1), {
    event: "queue_full",
    command: "pose",
    request_id: "p",
    detail: "2 commands are waiting (MOVEMENT_QUEUE_SIZE=2)",
    cause: "queue_full",
  });
  assert.equal(t.controller.queueSize, 2);
});

Deno.test("controller: bad params fail at once; disable switches off without latching", async () => {
  await using t = await setup();
  assert.equal(
    t.controller.submit(request("move_legs", { params: { height_percent: 500 } })),
    "rejected",
  );
  assert.equal(t.statuses.at(-1)?.event, "command_failed");
  assert.equal(t.states.at(-1)?.event, "command_error");
  t.controller.submit(
    request("move_legs", { params: { height_percent: 100, left_percent: 1, right_percent: 1 } }),
  );
  await t.clock.tickAsync(5_000);
  assert.equal(t.driver.output(0), 350);
  assert.equal(t.driver.output(2), 380);
  t.controller.submit(request("disable"));
  await t.clock.tickAsync(100);
  assert.equal(t.driver.output(0), null);
  assert.equal(t.events().at(-1), "command_completed:disable");
  assert.equal(t.controller.stopReason, null);
});

Deno.test("controller: a driver error fails the command, switches off, and the next one runs", async () => {
  await using t = await setup();
  let failures = 1;
  const apply = t.driver.apply.bind(t.driver);
  t.driver.apply = (pulses) =>
    failures-- > 0 ? Promise.reject(new Error("bus NACK")) : apply(pulses);
  t.controller.submit(request("laugh"));
  t.controller.submit(request("bow"));
  await t.clock.tickAsync(20_000);
  assert.deepEqual(t.events(), [
    "command_started:laugh",
    "command_failed:laugh",
    "command_started:bow",
    "command_completed:bow",
  ]);
  assert.match(t.statuses[1].detail!, /driver sim failed: bus NACK/);
});

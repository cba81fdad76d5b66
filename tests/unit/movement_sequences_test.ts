import assert from "node:assert/strict";
import { TEST_MOVEMENT_COMMANDS } from "../../core/mod.ts";
import { CommandParamsError, planCommand } from "../../services/movement-service/sequences.ts";
import {
  clampPulse,
  neutralPose,
  percentToPulse,
  servoOn,
  SERVOS,
} from "../../services/movement-service/servo_map.ts";
import { type Frame, planFrames } from "../../services/movement-service/trajectory.ts";

const TIMING = { frameMs: 20, msPerTick: 2 };

function frames(command: (typeof TEST_MOVEMENT_COMMANDS)[number], speed: number, params = {}) {
  const plan = planCommand(command, params);
  assert.equal(plan.kind, "poses");
  return [...planFrames(neutralPose(), plan.kind === "poses" ? plan.poses : [], speed, TIMING)];
}

function motionMs(list: Frame[]): number {
  return list.length * TIMING.frameMs;
}

const POSE_COMMANDS = TEST_MOVEMENT_COMMANDS.filter((c) => c !== "stop" && c !== "disable");
const PARAMS: Record<string, Record<string, number>> = {
  move_legs: { height_percent: 100, left_percent: 1, right_percent: 50 },
  move_arm: {
    port_main: 100,
    port_forearm: 1,
    port_hand: 50,
    star_main: 1,
    star_forearm: 100,
    star_hand: 100,
  },
};

Deno.test("every one of the 20 commands has a plan; stop and disable are not pose sequences", () => {
  assert.equal(TEST_MOVEMENT_COMMANDS.length, 20);
  for (const command of TEST_MOVEMENT_COMMANDS) {
    const plan = planCommand(command, PARAMS[command] ?? {});
    if (command === "stop") assert.equal(plan.kind, "stop");
    else if (command === "disable") assert.equal(plan.kind, "disable");
    else assert.ok(plan.kind === "poses" && plan.poses.length > 0, command);
  }
});

Deno.test("every command's frames stay within each channel's limits at every speed", () => {
  for (const command of POSE_COMMANDS) {
    for (const speed of [0.1, 0.35, 0.8, 1.0]) {
      const list = frames(command, speed, PARAMS[command]);
      assert.ok(list.length > 0, command);
      for (const frame of list) {
        assert.ok(frame.waitMs >= TIMING.frameMs);
        for (const [key, pulse] of Object.entries(frame.pulses)) {
          const servo = servoOn(Number(key));
          assert.ok(servo, `${command}: channel ${key} has a servo`);
          assert.ok(Number.isInteger(pulse), `${command}: integer ticks`);
          assert.ok(pulse >= servo.min && pulse <= servo.max, `${command} ch${key}=${pulse}`);
        }
      }
    }
  }
});

Deno.test("frames move each joint by small steps, never faster than full speed", () => {
  for (const command of POSE_COMMANDS) {
    const current = neutralPose();
    for (const frame of frames(command, 1.0, PARAMS[command])) {
      for (const [key, pulse] of Object.entries(frame.pulses)) {
        const ch = Number(key);
        // Full speed: 2 ms per tick → at most 10 ticks per 20 ms frame (+1 for rounding).
        assert.ok(
          Math.abs(pulse - current[ch]) <= 11,
          `${command} ch${ch}: ${current[ch]}→${pulse}`,
        );
        current[ch] = pulse;
      }
    }
  }
});

Deno.test("speed scales the motion time (holds stay as the firmware has them)", () => {
  const full = frames("step_forward", 1.0);
  const half = frames("step_forward", 0.5);
  const tenth = frames("step_forward", 0.1);
  assert.ok(
    Math.abs(motionMs(half) / motionMs(full) - 2) < 0.15,
    `${motionMs(half)} vs ${motionMs(full)}`,
  );
  assert.ok(Math.abs(motionMs(tenth) / motionMs(full) - 10) < 0.5);
  const holds = (list: Frame[]) => list.reduce((sum, f) => sum + f.waitMs, 0) - motionMs(list);
  assert.equal(holds(full), 600);
  assert.equal(holds(half), 600);
  // The last frame of each command reaches the target exactly.
  assert.deepEqual(full.at(-1)?.pulses, { 0: 300, 1: 300, 2: 300 });
  assert.deepEqual(tenth.at(-1)?.pulses, { 0: 300, 1: 300, 2: 300 });
});

Deno.test("wave's fast hand is capped at speed 1.0 (firmware bug: 1.5 × speed)", () => {
  const atOne = frames("wave", 1.0);
  const atTwoThirds = frames("wave", 2 / 3);
  // Hand moves (80 ticks): at speed 1.0 and at 2/3 × 1.5 = 1.0 they take the same frames.
  const handFrames = (list: Frame[]) => list.filter((f) => Object.keys(f.pulses).join() === "5");
  assert.equal(handFrames(atOne).length, handFrames(atTwoThirds).length);
  // 240→280 (40 ticks, 4 frames), then five 80-tick swings (8 frames each) at 2 ms per tick.
  assert.equal(handFrames(atOne).length, 4 + 5 * 8);
  const slow = frames("wave", 0.2); // 0.2 × 1.5 = 0.3
  assert.equal(
    handFrames(slow).length,
    Math.ceil(40 * 2 / 0.3 / 20) + 5 * Math.ceil(80 * 2 / 0.3 / 20),
  );
});

Deno.test("move_legs and move_arm map 1..100 % onto the firmware's ranges", () => {
  assert.equal(percentToPulse(0, 1), 220); // height up
  assert.equal(percentToPulse(0, 100), 350); // height down
  assert.equal(percentToPulse(1, 1), 220); // left forward
  assert.equal(percentToPulse(2, 1), 380); // right forward
  assert.equal(percentToPulse(3, 1), 135);
  assert.equal(percentToPulse(3, 100), 440);
  assert.equal(percentToPulse(8, 50), 329);
  const legs = planCommand("move_legs", { height_percent: 100, left_percent: 1, right_percent: 1 });
  assert.ok(legs.kind === "poses");
  assert.deepEqual(legs.poses[0].targets, { 0: 350, 1: 220, 2: 380 });
  const arm = planCommand("move_arm", { star_hand: 100 });
  assert.ok(arm.kind === "poses");
  assert.deepEqual(arm.poses[0].targets, { 8: 380 }, "joints not named stay where they are");
});

Deno.test("bad move_legs / move_arm params are refused with a message naming the fields", () => {
  assert.throws(() => planCommand("move_legs", {}), CommandParamsError);
  assert.throws(() => planCommand("move_legs", { height_percent: 150 }), /height_percent/);
  assert.throws(() => planCommand("move_arm", { port_main: "high" }), /port_main/);
  assert.throws(() => planCommand("move_arm", { elbow: 50 }), CommandParamsError);
});

Deno.test("clampPulse clamps to the servo's limits and refuses unmapped channels", () => {
  for (const servo of SERVOS) {
    assert.equal(clampPulse(servo.channel, -1), servo.min);
    assert.equal(clampPulse(servo.channel, 99999), servo.max);
    assert.equal(clampPulse(servo.channel, Number.NaN), servo.neutral);
  }
  assert.throws(() => clampPulse(15, 300), RangeError);
});

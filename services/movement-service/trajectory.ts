/**
 * Turns poses into timed servo frames: every move is interpolated linearly, one frame per
 * frame period, over a time proportional to the longest distance a joint travels divided by
 * the speed (the firmware moves one tick per `20 × (1 − speed)` ms, which is instant at
 * speed 1.0; here speed 1.0 is `msPerTick` per tick). Every pulse is clamped.
 *
 * @module
 */
import type { Pose } from "./sequences.ts";
import { clampPulse, type PulseMap } from "./servo_map.ts";

/** Timing of the motion planner. */
export interface MotionTiming {
  /** Period between frames, ms (20 = 50 frames per second, one per PWM period). */
  readonly frameMs: number;
  /** Time per tick of travel at speed 1.0, ms (0 = jump straight to each pose). */
  readonly msPerTick: number;
}

/** One frame: pulses to write now, then wait `waitMs` before the next frame. */
export interface Frame {
  /** Channel → pulse (ticks), already clamped to the channel's limits. */
  readonly pulses: PulseMap;
  /** Time until the next frame, ms. */
  readonly waitMs: number;
}

/** The default timing: 50 frames per second, 2 ms per tick at full speed. */
export const DEFAULT_TIMING: MotionTiming = Object.freeze({ frameMs: 20, msPerTick: 2 });

/** Lowest and highest speed a move may run at (TestMovementRequest's range). */
export const SPEED_RANGE = Object.freeze({ min: 0.1, max: 1.0 });

/** The speed of a move: the command's speed times the pose's factor, within {@linkcode SPEED_RANGE}. */
export function effectiveSpeed(speed: number, factor = 1): number {
  const value = (Number.isFinite(speed) ? speed : 1) * factor;
  return Math.min(SPEED_RANGE.max, Math.max(SPEED_RANGE.min, value));
}

/** How long moving `distance` ticks takes at `speed`, ms. */
export function moveDurationMs(distance: number, speed: number, timing: MotionTiming): number {
  return Math.abs(distance) * timing.msPerTick / effectiveSpeed(speed);
}

/**
 * Plans the frames that carry the servos from `start` through `poses` at `speed`. A pose's
 * hold is added to the wait after its last frame. `start` is updated by the caller from
 * what was actually written; it is not modified here.
 */
export function* planFrames(
  start: PulseMap,
  poses: readonly Pose[],
  speed: number,
  timing: MotionTiming = DEFAULT_TIMING,
): Generator<Frame> {
  const current: Record<number, number> = { ...start };
  for (const pose of poses) {
    const targets: Record<number, number> = {};
    let distance = 0;
    for (const [key, value] of Object.entries(pose.targets)) {
      const channel = Number(key);
      const target = clampPulse(channel, value);
      targets[channel] = target;
      const from = current[channel] ?? target;
      distance = Math.max(distance, Math.abs(target - from));
    }
    const duration = moveDurationMs(distance, effectiveSpeed(speed, pose.speedFactor), timing);
    const count = Math.max(1, Math.ceil(duration / timing.frameMs));
    const from = { ...current };
    for (let i = 1; i <= count; i++) {
      const pulses: Record<number, number> = {};
      for (const [key, target] of Object.entries(targets)) {
        const channel = Number(key);
        const origin = from[channel] ?? target;
        pulses[channel] = clampPulse(channel, origin + (target - origin) * i / count);
      }
      Object.assign(current, pulses);
      yield { pulses, waitMs: i === count ? timing.frameMs + pose.holdMs : timing.frameMs };
    }
  }
}

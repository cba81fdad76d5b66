/**
 * The TARS servo map (PCA9685 channels and pulse limits in ticks of 1/4096 of a 20 ms period),
 * as the py-tars ESP32 firmware defines it, with the clamp every pulse passes through.
 *
 * @module
 */

/** A servo pose or frame: PCA9685 channel number → pulse in ticks (0..4095). */
export type PulseMap = Readonly<Record<number, number>>;

/** One servo: its channel, safety limits and named positions (all in PCA9685 ticks). */
export interface ServoSpec {
  /** Joint name, e.g. `height`, `right_main`. */
  readonly name: string;
  /** PCA9685 channel 0..15. */
  readonly channel: number;
  /** Lowest pulse the joint may receive. */
  readonly min: number;
  /** Highest pulse the joint may receive. */
  readonly max: number;
  /** Rest position. */
  readonly neutral: number;
  /** Pulse at 1 % of a `move_legs` / `move_arm` percentage. */
  readonly percentLow: number;
  /** Pulse at 100 %. */
  readonly percentHigh: number;
}

/** Leg positions of the firmware (`legs.height.up`, `legs.left.forward`, ...). */
export const LEG_POSITIONS = {
  height: { up: 220, neutral: 300, down: 350 },
  left: { forward: 220, neutral: 300, back: 380 },
  right: { forward: 380, neutral: 300, back: 220 },
} as const;

/** The nine servos of TARS V2 (MG996R), channel order. */
export const SERVOS: readonly ServoSpec[] = Object.freeze([
  // Legs: percentages run 1 = up / forward to 100 = down / back, as in the firmware.
  {
    name: "height",
    channel: 0,
    min: 200,
    max: 400,
    neutral: 300,
    percentLow: 220,
    percentHigh: 350,
  },
  {
    name: "left_leg",
    channel: 1,
    min: 200,
    max: 400,
    neutral: 300,
    percentLow: 220,
    percentHigh: 380,
  },
  {
    name: "right_leg",
    channel: 2,
    min: 200,
    max: 400,
    neutral: 300,
    percentLow: 380,
    percentHigh: 220,
  },
  // Arms (port = right, star = left): 1 % = min, 100 % = max.
  arm("right_main", 3, 135, 440, 287),
  arm("right_forearm", 4, 200, 380, 290),
  arm("right_hand", 5, 200, 280, 240),
  arm("left_main", 6, 135, 440, 287),
  arm("left_forearm", 7, 200, 380, 290),
  arm("left_hand", 8, 280, 380, 330),
]);

function arm(name: string, channel: number, min: number, max: number, neutral: number): ServoSpec {
  return { name, channel, min, max, neutral, percentLow: min, percentHigh: max };
}

/** Channel numbers by joint name. */
export const CHANNEL = {
  height: 0,
  leftLeg: 1,
  rightLeg: 2,
  rightMain: 3,
  rightForearm: 4,
  rightHand: 5,
  leftMain: 6,
  leftForearm: 7,
  leftHand: 8,
} as const;

const BY_CHANNEL = new Map(SERVOS.map((servo) => [servo.channel, servo]));

/** The servo on `channel`, or `undefined` for a channel TARS does not use. */
export function servoOn(channel: number): ServoSpec | undefined {
  return BY_CHANNEL.get(channel);
}

/**
 * The pulse the hardware may receive on `channel`: rounded and clamped into the servo's
 * limits. Throws for a channel without a servo (nothing may drive an unmapped output).
 */
export function clampPulse(channel: number, pulse: number): number {
  const servo = BY_CHANNEL.get(channel);
  if (!servo) throw new RangeError(`Channel ${channel} has no servo in the TARS servo map`);
  if (!Number.isFinite(pulse)) return servo.neutral;
  return Math.min(servo.max, Math.max(servo.min, Math.round(pulse)));
}

/** Clamps every pulse of a pose (see {@linkcode clampPulse}). */
export function clampPose(pose: PulseMap): Record<number, number> {
  const out: Record<number, number> = {};
  for (const [key, value] of Object.entries(pose)) {
    const channel = Number(key);
    out[channel] = clampPulse(channel, value);
  }
  return out;
}

/** Maps a 1..100 percentage onto the servo's percentage range (clamped, as the firmware). */
export function percentToPulse(channel: number, percent: number): number {
  const servo = BY_CHANNEL.get(channel);
  if (!servo) throw new RangeError(`Channel ${channel} has no servo in the TARS servo map`);
  const p = Math.min(100, Math.max(1, percent));
  const pulse = servo.percentLow + (servo.percentHigh - servo.percentLow) * (p - 1) / 99;
  return clampPulse(channel, Math.trunc(pulse));
}

/** Every servo at its neutral position. */
export function neutralPose(): Record<number, number> {
  return Object.fromEntries(SERVOS.map((servo) => [servo.channel, servo.neutral]));
}

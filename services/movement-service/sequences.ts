/**
 * The 20 movement commands as sequences of servo poses, after the py-tars ESP32 firmware's
 * `movements/sequences.py`. A pose names only the channels it moves; the others stay put.
 * Fixed here: `wave`'s hand speed (1.5 × speed) is capped at 1.0 instead of going past it,
 * `stop` acts at once instead of waiting in the queue, and `move_legs` keeps the joints it
 * is not given instead of moving them to 50 %.
 *
 * @module
 */
import { MoveArmParams, MoveLegsParams, type TestMovementCommand } from "../../core/mod.ts";
import { CHANNEL, LEG_POSITIONS, neutralPose, percentToPulse, type PulseMap } from "./servo_map.ts";

/** One step of a sequence: move to `targets`, then hold for `holdMs`. */
export interface Pose {
  /** Channels to move and their pulses (ticks); unnamed channels stay where they are. */
  readonly targets: PulseMap;
  /** Time to stay in the pose once reached, ms (not scaled by speed, as in the firmware). */
  readonly holdMs: number;
  /** Multiplies the command's speed for this move (capped at 1.0); default 1. */
  readonly speedFactor?: number;
}

/** What a command does: move through poses, switch the servos off, or stop everything. */
export type CommandPlan =
  | { readonly kind: "poses"; readonly poses: readonly Pose[] }
  | { readonly kind: "disable" }
  | { readonly kind: "stop" };

/** Thrown when a command's `params` are not usable; the message says what is expected. */
export class CommandParamsError extends Error {
  /** Creates the error. */
  constructor(message: string) {
    super(message);
    this.name = "CommandParamsError";
  }
}

const H = LEG_POSITIONS.height;
const L = LEG_POSITIONS.left;
const R = LEG_POSITIONS.right;

function legs(height: number, left: number, right: number, holdMs = 0): Pose {
  return {
    targets: { [CHANNEL.height]: height, [CHANNEL.leftLeg]: left, [CHANNEL.rightLeg]: right },
    holdMs,
  };
}

function pose(targets: PulseMap, holdMs = 0, speedFactor?: number): Pose {
  return speedFactor === undefined ? { targets, holdMs } : { targets, holdMs, speedFactor };
}

const NEUTRAL = neutralPose();
const ARM_CHANNELS = [
  CHANNEL.rightMain,
  CHANNEL.rightForearm,
  CHANNEL.rightHand,
  CHANNEL.leftMain,
  CHANNEL.leftForearm,
  CHANNEL.leftHand,
];

/** `reset`: legs to neutral, then arms to the middle of their range. */
function resetPoses(): Pose[] {
  return [
    legs(H.neutral, L.neutral, R.neutral),
    pose(Object.fromEntries(ARM_CHANNELS.map((ch) => [ch, NEUTRAL[ch]]))),
  ];
}

function repeat(times: number, poses: () => Pose[]): Pose[] {
  return Array.from({ length: times }, poses).flat();
}

function step(left: number, right: number, turnHoldMs: number): Pose[] {
  return [
    legs(H.up, L.neutral, R.neutral, 200),
    legs(H.up, left, right, turnHoldMs),
    legs(H.down, left, right, 200),
    legs(H.neutral, L.neutral, R.neutral),
  ];
}

const RIGHT_ARM_NEUTRAL = {
  [CHANNEL.rightMain]: NEUTRAL[CHANNEL.rightMain],
  [CHANNEL.rightForearm]: NEUTRAL[CHANNEL.rightForearm],
  [CHANNEL.rightHand]: NEUTRAL[CHANNEL.rightHand],
};

const SEQUENCES: Readonly<Record<string, () => Pose[]>> = {
  reset: resetPoses,
  step_forward: () => step(L.forward, R.back, 200),
  step_backward: () => step(L.back, R.forward, 200),
  turn_left: () => step(L.back, R.back, 300),
  turn_right: () => step(L.forward, R.forward, 300),
  wave: () => [
    pose({ [CHANNEL.rightMain]: 440, [CHANNEL.rightForearm]: 200 }, 500),
    ...repeat(3, () => [
      pose({ [CHANNEL.rightHand]: 280 }, 200, 1.5),
      pose({ [CHANNEL.rightHand]: 200 }, 200, 1.5),
    ]),
    pose(RIGHT_ARM_NEUTRAL),
  ],
  laugh: () => [
    ...repeat(
      5,
      () => [pose({ [CHANNEL.height]: H.up }, 150), pose({ [CHANNEL.height]: H.down }, 150)],
    ),
    pose({ [CHANNEL.height]: H.neutral }),
  ],
  swing_legs: () => [
    ...repeat(3, () => [
      legs(H.neutral, L.forward, R.forward, 500),
      legs(H.neutral, L.back, R.back, 500),
    ]),
    legs(H.neutral, L.neutral, R.neutral),
  ],
  pezz_dispenser: () => [legs(H.up, L.forward, R.forward, 10_000), ...resetPoses()],
  now: () => [
    pose({ [CHANNEL.rightMain]: 135, [CHANNEL.rightForearm]: 380, [CHANNEL.rightHand]: 200 }, 2000),
    ...resetPoses(),
  ],
  balance: () => [
    ...repeat(3, () => [
      legs(H.neutral, L.forward, R.neutral, 800),
      legs(H.neutral, L.neutral, R.back, 800),
    ]),
    ...resetPoses(),
  ],
  mic_drop: () => [
    pose({ [CHANNEL.rightMain]: 440, [CHANNEL.rightForearm]: 200, [CHANNEL.rightHand]: 200 }, 500),
    pose({ [CHANNEL.rightHand]: 280 }, 2000, 10), // the drop: full speed
    ...resetPoses(),
  ],
  monster: () => [
    pose({
      [CHANNEL.rightMain]: 440,
      [CHANNEL.rightForearm]: 380,
      [CHANNEL.rightHand]: 280,
      [CHANNEL.leftMain]: 135,
      [CHANNEL.leftForearm]: 200,
      [CHANNEL.leftHand]: 280,
    }),
    pose({ [CHANNEL.height]: H.down }, 3000),
    ...resetPoses(),
  ],
  pose: () => [
    pose({
      [CHANNEL.rightMain]: 440,
      [CHANNEL.rightForearm]: 200,
      [CHANNEL.rightHand]: 200,
      [CHANNEL.leftMain]: 440,
      [CHANNEL.leftForearm]: 380,
      [CHANNEL.leftHand]: 380,
    }),
    legs(H.neutral, L.forward, R.neutral, 3000),
    ...resetPoses(),
  ],
  bow: () => [legs(H.down, L.back, R.back, 2000), ...resetPoses()],
};

const LEG_PARAM_CHANNELS = {
  height_percent: CHANNEL.height,
  left_percent: CHANNEL.leftLeg,
  right_percent: CHANNEL.rightLeg,
} as const;

const ARM_PARAM_CHANNELS = {
  port_main: CHANNEL.rightMain,
  port_forearm: CHANNEL.rightForearm,
  port_hand: CHANNEL.rightHand,
  star_main: CHANNEL.leftMain,
  star_forearm: CHANNEL.leftForearm,
  star_hand: CHANNEL.leftHand,
} as const;

function percentPose(
  command: string,
  params: Readonly<Record<string, unknown>>,
  schema: typeof MoveLegsParams | typeof MoveArmParams,
  channels: Readonly<Record<string, number>>,
): Pose[] {
  const parsed = schema.partial().safeParse(params);
  if (!parsed.success) {
    const names = Object.keys(channels).join(", ");
    throw new CommandParamsError(
      `${command} params must be numbers 1..100 named ${names}; got ${JSON.stringify(params)}`,
    );
  }
  const targets: Record<number, number> = {};
  for (const [name, value] of Object.entries(parsed.data)) {
    if (typeof value === "number") targets[channels[name]] = percentToPulse(channels[name], value);
  }
  if (Object.keys(targets).length === 0) {
    throw new CommandParamsError(
      `${command} needs at least one of ${Object.keys(channels).join(", ")} (1..100)`,
    );
  }
  return [pose(targets)];
}

/**
 * The plan of a command: its poses (the speed is applied later, when frames are planned),
 * or `disable` / `stop`. Throws {@linkcode CommandParamsError} for unusable `params`.
 */
export function planCommand(
  command: TestMovementCommand,
  params: Readonly<Record<string, unknown>> = {},
): CommandPlan {
  switch (command) {
    case "stop":
      return { kind: "stop" };
    case "disable":
      return { kind: "disable" };
    case "move_legs":
      return {
        kind: "poses",
        poses: percentPose(command, params, MoveLegsParams, LEG_PARAM_CHANNELS),
      };
    case "move_arm":
      return {
        kind: "poses",
        poses: percentPose(command, params, MoveArmParams, ARM_PARAM_CHANNELS),
      };
    case "pezz":
      return { kind: "poses", poses: SEQUENCES.pezz_dispenser() };
    default:
      return { kind: "poses", poses: SEQUENCES[command]() };
  }
}

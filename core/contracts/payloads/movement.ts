/**
 * Movement payloads: the command-based ESP32 topics `movement/test`, `movement/stop`,
 * `movement/status`, `movement/state`, the raw servo frame of `movement/frame`, and the
 * py-tars frame-based contract models (`MovementCommand`, `MovementFrame`, `MovementState`).
 *
 * @module
 */
import { z } from "zod";
import { lazySchema } from "../lazy_schema.ts";
import {
  detailString,
  epochSecondsField,
  idString,
  jsonObjectDefaultEmpty,
  labelString,
  messageIdField,
  uuidHexField,
} from "./common.ts";

/** Frame-based movement actions (py-tars `MovementAction`). */
export const MOVEMENT_ACTIONS = [
  "reset",
  "disable",
  "step_forward",
  "step_backward",
  "turn_left",
  "turn_right",
  "balance",
  "laugh",
  "swing_legs",
  "pose",
  "bow",
] as const;
/** One of {@linkcode MOVEMENT_ACTIONS}. */
export type MovementAction = typeof MOVEMENT_ACTIONS[number];

/** The 20 commands the ESP32 firmware executes (py-tars `TestMovementCommand`). */
export const TEST_MOVEMENT_COMMANDS = [
  "reset",
  "step_forward",
  "step_backward",
  "turn_left",
  "turn_right",
  "wave",
  "laugh",
  "swing_legs",
  "pezz",
  "pezz_dispenser",
  "now",
  "balance",
  "mic_drop",
  "monster",
  "pose",
  "bow",
  "disable",
  "stop",
  "move_legs",
  "move_arm",
] as const;
/** One of {@linkcode TEST_MOVEMENT_COMMANDS}. */
export type TestMovementCommand = typeof TEST_MOVEMENT_COMMANDS[number];

/** Status events of the ESP32 controller (py-tars `MovementStatusEvent`). */
export const MOVEMENT_STATUS_EVENTS = [
  "connected",
  "disconnected",
  "command_started",
  "command_completed",
  "command_failed",
  "emergency_stop",
  "stop_cleared",
  "queue_full",
  "battery_low",
] as const;
/** One of {@linkcode MOVEMENT_STATUS_EVENTS}. */
export type MovementStatusEvent = typeof MOVEMENT_STATUS_EVENTS[number];

/** State events of the frame-based architecture (py-tars `MovementStateEvent`). */
export const MOVEMENT_STATE_EVENTS = [
  "started",
  "frame_sent",
  "completed",
  "failed",
  "cancelled",
] as const;
/** One of {@linkcode MOVEMENT_STATE_EVENTS}. */
export type MovementStateEvent = typeof MOVEMENT_STATE_EVENTS[number];

/**
 * The `event` values the ESP32 firmware publishes on `movement/state`. Its "ready" state
 * arrives as `firmware_online` (the firmware overwrites the event with its payload).
 */
export const MOVEMENT_CONTROLLER_STATE_EVENTS = [
  "ready",
  "firmware_online",
  "frame_applied",
  "command_queued",
  "command_error",
  "stopped",
  "shutdown",
  "error",
] as const;
/** One of {@linkcode MOVEMENT_CONTROLLER_STATE_EVENTS}. */
export type MovementControllerStateEvent = typeof MOVEMENT_CONTROLLER_STATE_EVENTS[number];

function movementBase() {
  return {
    message_id: messageIdField(),
    timestamp: epochSecondsField("When the message was created (epoch seconds)."),
  };
}

/** TestMovementRequest: a command for the ESP32 to execute, on `movement/test`. */
export const TestMovementRequest = lazySchema(() =>
  z.strictObject({
    ...movementBase(),
    command: z.enum(TEST_MOVEMENT_COMMANDS),
    speed: z.number().min(0.1).max(1.0).default(1.0).meta({
      description: "0.1 = slow, 1.0 = normal.",
    }),
    params: jsonObjectDefaultEmpty().meta({
      description: "Command parameters (MoveLegsParams / MoveArmParams).",
    }),
    request_id: idString().nullish().meta({ description: "Echoed in movement/status." }),
  }).meta({ title: "TestMovementRequest", description: "A movement command for the ESP32." })
);
/** A parsed {@linkcode TestMovementRequest}. */
export type TestMovementRequest = z.output<typeof TestMovementRequest>;

/**
 * EmergencyStopCommand: stops all movement and clears the queue, on `movement/stop`. The
 * ESP32 treats any message on the topic as a stop; py-tars' tools send `{}`.
 */
export const EmergencyStopCommand = lazySchema(() =>
  z.strictObject({
    ...movementBase(),
    reason: detailString().nullish(),
  }).meta({ title: "EmergencyStopCommand", description: "Stop all movement now." })
);
/** A parsed {@linkcode EmergencyStopCommand}. */
export type EmergencyStopCommand = z.output<typeof EmergencyStopCommand>;

/**
 * MovementStatusUpdate: execution status from the ESP32, on `movement/status`. The
 * firmware's `message_id` is `esp32_<ticks>`, not a uuid.
 */
export const MovementStatusUpdate = lazySchema(() =>
  z.strictObject({
    ...movementBase(),
    event: z.enum(MOVEMENT_STATUS_EVENTS),
    command: labelString().nullish().meta({ description: "The command this status is about." }),
    detail: detailString().nullish(),
    request_id: idString().nullish().meta({ description: "The request's `request_id`." }),
  }).meta({ title: "MovementStatusUpdate", description: "Execution status from the ESP32." })
);
/** A parsed {@linkcode MovementStatusUpdate}. */
export type MovementStatusUpdate = z.output<typeof MovementStatusUpdate>;

/**
 * MovementControllerState: the ESP32 firmware's state report, on `movement/state`:
 * `{event, timestamp}` plus the fields of that event.
 */
export const MovementControllerState = lazySchema(() =>
  z.strictObject({
    event: labelString().min(1).meta({
      description: "ready/firmware_online, frame_applied, command_queued, command_error, " +
        "stopped, shutdown, error (any string accepted).",
    }),
    timestamp: epochSecondsField("Firmware clock, epoch seconds (MicroPython epoch may differ)."),
    channels: z.int().min(0).nullish().meta({ description: "frame_applied: channels set." }),
    command: labelString().nullish().meta({ description: "command_queued: the command." }),
    speed: z.number().nullish().meta({ description: "command_queued: its speed." }),
    queue_size: z.int().min(0).nullish().meta({ description: "command_queued: queue length." }),
    error: detailString().nullish().meta({ description: "command_error / error: what failed." }),
    detail: detailString().nullish().meta({ description: "error: details." }),
    reason: detailString().nullish().meta({ description: "stopped: why." }),
  }).meta({ title: "MovementControllerState", description: "State report of the ESP32." })
);
/** A parsed {@linkcode MovementControllerState}. */
export type MovementControllerState = z.output<typeof MovementControllerState>;

/** PCA9685 channel keys of a {@linkcode ServoFrame}, `ch0`..`ch15`. */
export const SERVO_CHANNELS = [
  "ch0",
  "ch1",
  "ch2",
  "ch3",
  "ch4",
  "ch5",
  "ch6",
  "ch7",
  "ch8",
  "ch9",
  "ch10",
  "ch11",
  "ch12",
  "ch13",
  "ch14",
  "ch15",
] as const;
/** One of {@linkcode SERVO_CHANNELS}. */
export type ServoChannel = typeof SERVO_CHANNELS[number];

const pulse = z.int().min(0).max(4095).optional();
const servoChannelShape = Object.fromEntries(
  SERVO_CHANNELS.map((channel) => [channel, pulse]),
) as { [K in ServoChannel]: typeof pulse };

/**
 * ServoFrame: raw JSON (not enveloped) on `movement/frame`, applied by the ESP32 at once:
 * `{"ch0": 300, "ch3": 287, ...}`, PCA9685 ticks per channel, plus an optional timestamp.
 */
export const ServoFrame = lazySchema(() =>
  z.strictObject({
    ...servoChannelShape,
    timestamp: z.number().optional(),
  }).meta({ title: "ServoFrame", description: "PCA9685 pulse (ticks 0..4095) per channel." })
);
/** A parsed {@linkcode ServoFrame}. */
export type ServoFrame = z.output<typeof ServoFrame>;

/** MoveLegsParams: `params` of the `move_legs` command, percentages 1..100. */
export const MoveLegsParams = lazySchema(() =>
  z.strictObject({
    height_percent: z.number().min(1).max(100).meta({
      description: "1 = up (tall), 100 = down (crouched), as the ESP32 firmware maps it.",
    }),
    left_percent: z.number().min(1).max(100).meta({ description: "1 = forward, 100 = back." }),
    right_percent: z.number().min(1).max(100).meta({ description: "1 = forward, 100 = back." }),
  }).meta({ title: "MoveLegsParams", description: "Leg positions for move_legs." })
);
/** A parsed {@linkcode MoveLegsParams}. */
export type MoveLegsParams = z.output<typeof MoveLegsParams>;

const armPercent = z.number().min(1).max(100).nullish();

/** MoveArmParams: `params` of the `move_arm` command, percentages 1..100 (port = right). */
export const MoveArmParams = lazySchema(() =>
  z.strictObject({
    port_main: armPercent,
    port_forearm: armPercent,
    port_hand: armPercent,
    star_main: armPercent,
    star_forearm: armPercent,
    star_hand: armPercent,
  }).meta({ title: "MoveArmParams", description: "Arm joint positions for move_arm." })
);
/** A parsed {@linkcode MoveArmParams}. */
export type MoveArmParams = z.output<typeof MoveArmParams>;

/** MovementCommand: py-tars frame-based command model (`movement/command`, unused there). */
export const MovementCommand = lazySchema(() =>
  z.strictObject({
    ...movementBase(),
    id: uuidHexField("Command id (uuid4 hex); frames and states reuse it."),
    command: z.enum(MOVEMENT_ACTIONS),
    params: jsonObjectDefaultEmpty(),
  }).meta({ title: "MovementCommand", description: "A frame-based movement command." })
);
/** A parsed {@linkcode MovementCommand}. */
export type MovementCommand = z.output<typeof MovementCommand>;

/** MovementFrame: py-tars frame-based frame model (unused there; the ESP32 reads ServoFrame). */
export const MovementFrame = lazySchema(() =>
  z.strictObject({
    ...movementBase(),
    id: idString(),
    seq: z.int(),
    total: z.int(),
    duration_ms: z.int(),
    hold_ms: z.int(),
    channels: z.record(z.string().max(8).regex(/^\d+$/), z.int()).meta({
      description: "Channel number to pulse width.",
    }),
    disable_after: z.boolean().default(false),
    done: z.boolean().default(false),
  }).meta({ title: "MovementFrame", description: "A frame-based servo frame." })
);
/** A parsed {@linkcode MovementFrame}. */
export type MovementFrame = z.output<typeof MovementFrame>;

/** MovementState: py-tars frame-based progress model (unused there). */
export const MovementState = lazySchema(() =>
  z.strictObject({
    ...movementBase(),
    id: idString(),
    event: z.enum(MOVEMENT_STATE_EVENTS),
    seq: z.int().nullish(),
    detail: detailString().nullish(),
  }).meta({ title: "MovementState", description: "Progress of a frame-based command." })
);
/** A parsed {@linkcode MovementState}. */
export type MovementState = z.output<typeof MovementState>;

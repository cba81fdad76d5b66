/**
 * Wires the movement controller to MQTT: movement/test (enveloped or raw) feeds the queue,
 * any message at all on movement/stop stops, movement/clear (and nothing else) clears a
 * latched stop, a lost broker connection suspends movement (the dead-man rule,
 * `MOVEMENT_STOP_ON_DISCONNECT`), and the controller's reports go out on movement/status and
 * movement/state, with failures logged at most once per 10 s per kind. Fixes py-tars'
 * movement-service, which rejected envelopes, called a removed publish method and would
 * have re-published onto the topic it consumes.
 *
 * @module
 */
import {
  clipText,
  type ConnectionState,
  type InvalidMessage,
  RateLimitedLog,
  type ServiceDeps,
  TEST_MOVEMENT_COMMANDS,
  TEXT_LIMITS,
  topics,
} from "../../core/mod.ts";
import type { MovementConfig } from "./config.ts";
import {
  type Clock,
  MovementController,
  type MovementStateReport,
  type MovementStatusReport,
} from "./controller.ts";
import type { ServoDriver } from "./drivers/driver.ts";
import { createDriver } from "./drivers/mod.ts";

/** Options of {@linkcode startMovementService}. */
export interface MovementServiceOptions {
  /** The configuration (`readMovementConfig`). */
  readonly config: MovementConfig;
  /** A driver to use instead of the configured one (tests). Opened by the service. */
  readonly driver?: ServoDriver;
  /** Time source of the controller (tests). */
  readonly clock?: Clock;
}

/** Counters of the service. */
export interface MovementServiceCounters {
  /** movement/test messages that were not a valid TestMovementRequest. */
  invalid: number;
  /** Retained movement/test or movement/clear messages ignored. */
  retainedIgnored: number;
  /** Publishes of status/state that failed. */
  publishErrors: number;
}

/** A running movement-service. */
export interface MovementService {
  /** The controller (queue, stop latch). */
  readonly controller: MovementController;
  /** The driver in use. */
  readonly driver: ServoDriver;
  /** Counters. */
  readonly counters: Readonly<MovementServiceCounters>;
  /** Unsubscribes, stops the running command, switches the servos off and closes the driver. */
  close(): Promise<void>;
}

/** Opens the driver, subscribes and starts executing commands. */
export async function startMovementService(
  context: ServiceDeps,
  options: MovementServiceOptions,
): Promise<MovementService> {
  const { client, logger } = context;
  const { config } = options;
  const counters: MovementServiceCounters = { invalid: 0, retainedIgnored: 0, publishErrors: 0 };
  const warnings = new RateLimitedLog(10_000);
  const knownCommands = new Set<string>(TEST_MOVEMENT_COMMANDS);

  // Fire-and-forget: the client logs a failed publish (rate-limited); we count it too.
  const onError = () => void counters.publishErrors++;
  const onStatus = (status: MovementStatusReport) => {
    const { cause, ...published } = status;
    const fields = {
      event: status.event,
      command: status.command ?? "",
      detail: status.detail ?? "",
      request_id: status.request_id,
    };
    if (
      status.event === "command_failed" || status.event === "queue_full" ||
      status.event === "emergency_stop"
    ) {
      // Anyone may publish commands: one line per kind of failure per 10 s, never one per
      // message. The key holds no caller-chosen text (unknown command names become "?").
      const command = status.command && knownCommands.has(status.command) ? status.command : "?";
      warnings.maybe(
        `status:${status.event}:${command}:${cause ?? ""}`,
        (suppressed) =>
          logger.warn("movement {event} {command} {detail}", { ...fields, suppressed }),
      );
    } else {
      logger.info("movement {event} {command} {detail}", fields);
    }
    client.publishDetached(topics.movementStatus, published, { onError });
  };
  const onState = (state: MovementStateReport) => {
    client.publishDetached(topics.movementState, { ...state }, { onError });
  };

  const driver = options.driver ?? createDriver(config, client);
  await driver.open();
  const controller = new MovementController({
    driver,
    commandTtlMs: config.commandTtlMs,
    queueSize: config.queueSize,
    timing: { frameMs: config.frameMs, msPerTick: config.msPerTick },
    clock: options.clock,
    onStatus,
    onState,
    onError: (error, what) =>
      logger.error("Servo driver error while {what}: {error}", { what, error }),
  });

  // The dead-man rule: no broker, no motion (a stop could not reach us).
  let closing = false;
  const onConnection = (state: ConnectionState) => {
    if (closing) return;
    if (state === "connected") {
      if (controller.resume()) {
        logger.info("Broker connection back: movement commands are accepted again");
      }
    } else if (controller.suspendedReason === null) {
      logger.warn(
        "Lost the broker connection ({state}): servos off, queue dropped, commands refused " +
          "until it is back (MOVEMENT_STOP_ON_DISCONNECT=false turns this off for benches)",
        { state },
      );
      void controller.suspend("connection to the broker lost");
    }
  };
  const stopWatching = config.stopOnDisconnect ? client.onStateChange(onConnection) : () => {};
  if (config.stopOnDisconnect && !client.connected) onConnection(client.state);

  const subscriptions = client.group();
  // Any message on movement/stop stops, whatever its shape (the firmware's rule): a valid one
  // with its reason, and whatever the client rejects (not JSON, not a stop, too big: an
  // oversized stop still stops, unread) through onInvalid, at once.
  await subscriptions.subscribe(topics.movementStop, async (stop, message) => {
    await controller.emergencyStop(stopReason(stop.reason, message.retained));
  }, {
    queueSize: 16,
    overflow: "drop-oldest",
    onInvalid: (_topic, _reason, invalid) =>
      void controller.emergencyStop(invalidStopReason(invalid)),
  });
  await subscriptions.subscribe(topics.movementClear, (clear, message) => {
    if (message.retained) {
      counters.retainedIgnored++;
      logger.warn("Ignoring a retained movement/clear: a clear must be sent live");
      return;
    }
    if (!controller.clearStop(clear.reason ?? "movement/clear")) {
      warnings.maybe(
        "clear-unlatched",
        (suppressed) =>
          logger.info("movement/clear received; no emergency stop was latched", { suppressed }),
      );
    }
  });
  const ignoreRetainedTest = () => {
    counters.retainedIgnored++;
    logger.warn("Ignoring a retained movement/test: stale commands are not executed");
  };
  // A command the schema refuses gets a command_failed (or, if it says stop, stops).
  const onInvalidTest = (reason: string, invalid: InvalidMessage) => {
    if (invalid.kind !== "schema") return; // not JSON, not an object, too big: unanswerable
    if (invalid.retained) return ignoreRetainedTest();
    counters.invalid++;
    const fields = isRecord(invalid.data) ? invalid.data : {};
    // Echoed back on movement/status, so cut to the contract's limits (a hostile command
    // name must not make the status itself invalid and so unpublishable).
    const command = typeof fields.command === "string"
      ? clipText(fields.command, TEXT_LIMITS.label)
      : undefined;
    const requestId = typeof fields.request_id === "string"
      ? clipText(fields.request_id, TEXT_LIMITS.id)
      : undefined;
    if (command === "stop") {
      void controller.emergencyStop("stop command (invalid fields ignored)");
      return;
    }
    const error = `invalid movement/test: ${reason.replace(/^schema: /, "")}`;
    onStatus({
      event: "command_failed",
      command,
      request_id: requestId,
      detail: error,
      cause: "invalid",
    });
    onState({ event: "command_error", error });
  };
  await subscriptions.subscribe(topics.movementTest, (request, message) => {
    if (message.retained) return ignoreRetainedTest();
    controller.submit(request);
  }, { queueSize: 64, onInvalid: (_topic, reason, invalid) => onInvalidTest(reason, invalid) });

  onStatus({ event: "connected", detail: `driver ${driver.name}` });
  onState({ event: "ready" });
  logger.info("movement-service ready with the {driver} driver", { driver: driver.name });

  let closed: Promise<void> | null = null;
  return {
    controller,
    driver,
    counters,
    close() {
      closed ??= (async () => {
        closing = true;
        stopWatching();
        await subscriptions.close().catch(() => {});
        await controller.close();
        try {
          await driver.close();
        } catch (error) {
          logger.error("Closing the {driver} driver failed: {error}", {
            driver: driver.name,
            error,
          });
        }
        onState({ event: "shutdown" });
      })();
      return closed;
    },
  };
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

/** The reason of a valid stop, clipped; "(retained)" when it was a retained copy. */
function stopReason(text: string | null | undefined, retained: boolean): string {
  const reason = text ? `movement/stop: ${clipText(text, TEXT_LIMITS.label)}` : "movement/stop";
  return retained ? `${reason} (retained)` : reason;
}

/** The reason of a stop the client rejected: its size when too big, else its reason if any. */
function invalidStopReason(invalid: InvalidMessage): string {
  if (invalid.kind === "oversized") {
    const reason = `movement/stop (a ${invalid.size}-byte message, not read)`;
    return invalid.retained ? `${reason} (retained)` : reason;
  }
  const data = invalid.data;
  const text = isRecord(data) && typeof data.reason === "string" ? data.reason : null;
  return stopReason(text, invalid.retained);
}

/**
 * What a client says on its retained health topic: {@linkcode HealthAnnouncer} decides without
 * I/O (the status last said, re-sent on every connect; the ids of its own recent health
 * messages; whether a health message seen on its own topic must be answered; what
 * `announceReady()` does), {@linkcode HealthReporter} publishes and watches through the client.
 *
 * @module
 */
import { newMessageId } from "../contracts/envelope.ts";
import { topics } from "../contracts/topics.ts";
import type { Logger } from "../log/logging.ts";
import { redactForLog } from "../log/redact.ts";
import type { MqttClient } from "./client.ts";
import { settlesWithin } from "./connect_options.ts";
import type { HealthStatus, Subscription } from "./types.ts";

/** Own health ids remembered (to recognise the echo of our own publishes). */
const OWN_IDS_MAX = 8;

/** A health message seen on the client's own health topic. */
export interface SeenHealth {
  /** The payload's `ok`. */
  readonly ok?: boolean;
  /** The payload's `event`. */
  readonly event?: string;
}

/** The health state of one client. */
export class HealthAnnouncer {
  readonly #initial: HealthStatus | undefined;
  #last: HealthStatus;
  readonly #ownIds: string[] = [];

  /**
   * Starts with `initial` (said on connect until ready is announced), or `ready` without it.
   */
  constructor(initial?: HealthStatus) {
    this.#initial = initial ? { ...initial } : undefined;
    this.#last = initial ? { ...initial } : { ok: true, event: "ready" };
  }

  /** The status last said (not `shutdown`), re-sent on every connect. */
  get last(): HealthStatus {
    return this.#last;
  }

  /**
   * Prepares `status` for publishing: its `err` redacted and cut like a log line (health is on
   * the bus and on the dashboard), remembered as the last status unless it is `shutdown`, and
   * a new envelope id remembered as our own. Returns what to publish with which id.
   */
  prepare(status: HealthStatus): { status: HealthStatus; id: string } {
    if (status.err) status = { ...status, err: redactForLog(status.err) };
    if (status.event !== "shutdown") this.#last = { ...status };
    const id = newMessageId(); // known before it can echo back to our own subscription
    this.#ownIds.push(id);
    if (this.#ownIds.length > OWN_IDS_MAX) this.#ownIds.shift();
    return { status, id };
  }

  /**
   * Whether a health message on our own topic must be answered with {@linkcode last}. A
   * retained copy predates our subscription and is superseded by the `ready` sent on connect;
   * our own publishes (e.g. a degraded `ok:false`) are what we meant to say. Only a live
   * `ok:false` from elsewhere (a late will, a stray publisher) while connected is answered.
   */
  mustReassert(
    seen: SeenHealth,
    retained: boolean,
    id: string | null,
    connected: boolean,
  ): boolean {
    if (seen.ok !== false || retained || !connected) return false;
    return id === null || !this.#ownIds.includes(id);
  }

  /**
   * What `announceReady()` does: `none` without an initial health or when the service reported
   * a problem itself meanwhile; `later` when not connected (then `ready` becomes the last
   * status, sent on the next connect); `publish` to send `ready` now.
   */
  readyAction(connected: boolean): "none" | "later" | "publish" {
    const initial = this.#initial;
    if (!initial) return "none";
    if (!this.#last.ok && this.#last.event !== initial.event) return "none";
    if (!connected) {
      this.#last = { ok: true, event: "ready" };
      return "later";
    }
    return "publish";
  }
}

/** What the reporter uses of its client (its public API). */
type HealthClient = Pick<
  MqttClient,
  "config" | "state" | "healthTopic" | "publishEvent" | "subscribe"
>;

/** Publishes a client's health and answers a stray `ok:false` on its own topic. */
export class HealthReporter {
  readonly #client: HealthClient;
  readonly #log: Logger;
  readonly #announcer: HealthAnnouncer;
  #watch: Subscription | null = null;
  #shuttingDown = false;

  /** Creates the reporter of `client`, starting with `initial` (see {@linkcode HealthAnnouncer}). */
  constructor(client: HealthClient, log: Logger, initial?: HealthStatus) {
    this.#client = client;
    this.#log = log;
    this.#announcer = new HealthAnnouncer(initial);
  }

  /** Subscribes the client's own health topic once (when health is on). */
  async watch(): Promise<void> {
    if (!this.#client.config.enableHealth || this.#watch) return;
    this.#watch = await this.#client.subscribe(
      this.#client.healthTopic,
      (payload: { ok?: boolean; event?: string }, ctx) =>
        this.#onOwnHealth(payload, ctx.retained, ctx.correlationId),
      { wire: "envelope", qos: 1, concurrency: 1, queueSize: 4 },
    );
  }

  /** On every connect: the last status said (ready unless the service said otherwise). */
  onConnected(): void {
    if (!this.#client.config.enableHealth) return;
    this.publish(this.#announcer.last).catch((error) =>
      this.#log.warn("Publishing health failed: {error}", { error })
    );
  }

  /**
   * Publishes retained health (QoS 1). A no-op when health is off; skipped with a debug line
   * when not connected (the client re-sends the last status on every connect).
   */
  async publish(status: HealthStatus): Promise<void> {
    const { config, state } = this.#client;
    if (!config.enableHealth) return;
    if (state !== "connected" && state !== "closing") {
      this.#log.debug("Not connected; health {event} not sent", { event: status.event });
      return;
    }
    const prepared = this.#announcer.prepare(status);
    await this.#client.publishEvent(topics.systemHealth, { ...prepared.status }, {
      params: { client_id: config.clientId },
      correlationId: prepared.id,
    });
  }

  /** Ends the initial-health phase (see {@linkcode HealthAnnouncer.readyAction}). */
  async announceReady(): Promise<void> {
    const action = this.#announcer.readyAction(this.#client.state === "connected");
    if (action === "publish") await this.publish({ ok: true, event: "ready" });
  }

  /**
   * Publishes `shutdown` (when health is on and connected; waits at most 1 s), then runs
   * `disconnect`; meanwhile a stray `ok:false` is not answered.
   */
  async whileShuttingDown(disconnect: () => Promise<void>): Promise<void> {
    this.#shuttingDown = true;
    try {
      if (this.#client.config.enableHealth && this.#client.state === "connected") {
        const sent = this.publish({ ok: false, event: "shutdown" }).catch((error) =>
          this.#log.warn("Publishing shutdown health failed: {error}", { error })
        );
        await settlesWithin(sent, 1_000);
      }
      await disconnect();
    } finally {
      this.#shuttingDown = false;
    }
  }

  #onOwnHealth(payload: SeenHealth, retained: boolean, id: string | null): void {
    const connected = this.#client.state === "connected" && !this.#shuttingDown;
    if (!this.#announcer.mustReassert(payload, retained, id, connected)) return;
    const last = this.#announcer.last;
    this.#log.warn("Health says {event} while connected; re-asserting {status}", {
      event: payload.event ?? "offline",
      status: last.event ?? String(last.ok),
    });
    this.publish(last).catch((error) =>
      this.#log.warn("Re-asserting health failed: {error}", { error })
    );
  }
}

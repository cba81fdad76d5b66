/**
 * What a client says on its retained health topic, without I/O: the status last said (re-sent
 * on every connect), the ids of its own recent health messages, whether a health message seen
 * on its own topic must be answered, and what `announceReady()` does.
 *
 * @module
 */
import { newMessageId } from "../contracts/envelope.ts";
import { redactForLog } from "../log/redact.ts";
import type { HealthStatus } from "./types.ts";

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

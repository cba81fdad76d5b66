/**
 * Counters kept by every {@linkcode MqttClient}.
 *
 * @module
 */

/** A snapshot of a client's counters. */
export interface ClientMetrics {
  /** Messages handed to the broker (QoS 0 written, QoS 1/2 acknowledged). */
  published: number;
  /** Publishes that failed. */
  publishFailed: number;
  /** Fire-and-forget publishes (`publishDetached`) that failed, whatever the reason. */
  detachedFailed: number;
  /** Messages received from the broker. */
  received: number;
  /** Messages dropped: queue overflow, QoS 0 while offline, shutdown. */
  dropped: number;
  /** Received messages dropped as duplicates (de-duplication). */
  duplicates: number;
  /** Received messages rejected: bad JSON, not an envelope, schema violation. */
  invalid: number;
  /** Received messages dropped unparsed because they exceed their topic's size limit. */
  oversized: number;
  /** Handler calls that threw or rejected. */
  handlerErrors: number;
  /** Handler calls that exceeded their timeout. */
  handlerTimeouts: number;
  /** Successful reconnects after a lost connection. */
  reconnects: number;
  /** Connections torn down by the heartbeat watchdog. */
  watchdogResets: number;
  /** Subscription filters re-subscribed after reconnects. */
  subscriptionsRestored: number;
}

/** Returns a zeroed counter set. */
export function emptyMetrics(): ClientMetrics {
  return {
    published: 0,
    publishFailed: 0,
    detachedFailed: 0,
    received: 0,
    dropped: 0,
    duplicates: 0,
    invalid: 0,
    oversized: 0,
    handlerErrors: 0,
    handlerTimeouts: 0,
    reconnects: 0,
    watchdogResets: 0,
    subscriptionsRestored: 0,
  };
}

/**
 * The shared MQTT client and its building blocks.
 *
 * @module
 */
export { MqttClient } from "./client.ts";
export { SubscriptionGroup } from "./group.ts";
export { RequestTimeoutError } from "./requests.ts";
export type {
  ConnectionState,
  ConnectionStateListener,
  DeliveryOptions,
  DetachedPublishOptions,
  HealthStatus,
  InvalidHandler,
  InvalidKind,
  InvalidMessage,
  MessageContext,
  MessageHandler,
  MqttClientOptions,
  PublishEventOptions,
  PublishOptions,
  QueueOptions,
  RawSubscribeOptions,
  RequestOptions,
  SubscribeOptions,
  Subscription,
  TopicSubscribeOptions,
} from "./types.ts";
export { type BackoffOptions, ExponentialBackoff } from "./backoff.ts";
export {
  canonicalHash,
  canonicalJson,
  dedupeKey,
  type DeduplicatorOptions,
  hash53,
  MessageDeduplicator,
} from "./dedupe.ts";
export {
  type DropReason,
  HandlerQueue,
  type HandlerQueueOptions,
  HandlerTimeoutError,
  type OverflowPolicy,
} from "./handler_queue.ts";
export { Heartbeat, type HeartbeatOptions } from "./heartbeat.ts";
export { type ClientMetrics, emptyMetrics } from "./metrics.ts";
export {
  assertTopicFilter,
  assertTopicName,
  stripSharePrefix,
  topicFilterProblem,
  topicMatches,
  topicNameProblem,
} from "./topic_match.ts";

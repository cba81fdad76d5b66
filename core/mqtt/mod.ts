/**
 * The shared MQTT client and its building blocks.
 *
 * @module
 */
export {
  type ConnectionState,
  type ConnectionStateListener,
  type DeliveryOptions,
  type DetachedPublishOptions,
  type HealthStatus,
  type InvalidHandler,
  type InvalidKind,
  type InvalidMessage,
  type MessageContext,
  type MessageHandler,
  MqttClient,
  type MqttClientOptions,
  type PublishEventOptions,
  type PublishOptions,
  type QueueOptions,
  type RawSubscribeOptions,
  type RequestOptions,
  RequestTimeoutError,
  type SubscribeOptions,
  type Subscription,
  SubscriptionGroup,
  type TopicSubscribeOptions,
} from "./client.ts";
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

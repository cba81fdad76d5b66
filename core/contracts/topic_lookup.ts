/**
 * Finding the row of a concrete topic or event type in the topic table.
 *
 * @module
 */
import type { TopicSpec } from "./topic.ts";
import { TOPIC_PARAM } from "./topic_param.ts";
import { topicList } from "./topics.ts";

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
}

const matchers: ReadonlyArray<{ spec: TopicSpec; pattern: RegExp }> = topicList.map((spec) => {
  // split() with the capturing TOPIC_PARAM puts each parameter's name at the odd indexes.
  const pattern = spec.topic.split(TOPIC_PARAM).map((part, i) =>
    i % 2 === 1 ? "[^/+#]+" : escapeRegExp(part)
  ).join("");
  return { spec, pattern: new RegExp(`^${pattern}$`) };
});

/**
 * The row of a concrete topic, matching parameterised rows too
 * (`system/health/tars-stt` → `topics.systemHealth`); `undefined` for unknown topics.
 */
export function findTopicSpec(topic: string): TopicSpec | undefined {
  return matchers.find((m) => m.spec.topic === topic)?.spec ??
    matchers.find((m) => m.pattern.test(topic))?.spec;
}

/** The row whose envelope event type is `eventType`; `undefined` when none. */
export function findTopicSpecByEventType(eventType: string): TopicSpec | undefined {
  return topicList.find((spec) => spec.eventType === eventType);
}

/**
 * The envelope event type of a concrete topic (`stt/final` → `stt.final`); `undefined`
 * for unknown topics and for `json`/`binary` topics.
 */
export function eventTypeFor(topic: string): string | undefined {
  return findTopicSpec(topic)?.eventType ?? undefined;
}

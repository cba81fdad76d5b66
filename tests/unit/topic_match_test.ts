import assert from "node:assert/strict";
import {
  assertTopicFilter,
  assertTopicName,
  topicFilterProblem,
  topicMatches,
} from "../../core/mqtt/topic_match.ts";

const cases: Array<[filter: string, topic: string, expected: boolean]> = [
  ["a/b", "a/b", true],
  ["a/b", "a/c", false],
  ["a/+", "a/b", true],
  ["a/+", "a/b/c", false],
  ["a/+", "a", false],
  ["a/+", "a/", true], // + matches an empty level
  ["+/+", "/x", true],
  ["a/+/c", "a/b/c", true],
  ["a/+/c", "a/b/d", false],
  ["a/#", "a", true], // # matches the parent level
  ["a/#", "a/b", true],
  ["a/#", "a/b/c/d", true],
  ["a/#", "abc", false], // py-tars bug: startswith without a separator
  ["a/#", "ab/c", false],
  ["a/+/#", "a/b", true], // py-tars bug: never matched
  ["a/+/#", "a/b/c/d", true],
  ["a/+/#", "a", false],
  ["#", "a/b/c", true],
  ["#", "$SYS/broker/uptime", false], // wildcards at the start do not see $ topics
  ["+/broker/uptime", "$SYS/broker/uptime", false],
  ["$SYS/#", "$SYS/broker/uptime", true],
  ["$share/g1/a/+", "a/b", true],
  ["$share/g1/a/+", "b/b", false],
  ["system/health/+", "system/health/tars-stt", true],
  ["system/health/+", "system/health", false],
];

for (const [filter, topic, expected] of cases) {
  Deno.test(`topicMatches(${filter}, ${topic}) is ${expected}`, () => {
    assert.deepEqual(topicMatches(filter, topic), expected);
  });
}

Deno.test("topicFilterProblem accepts valid filters and names the rule for bad ones", () => {
  for (const ok of ["a", "a/b", "+", "#", "a/+/b", "a/#", "$share/g/a/#", "/", "a//b"]) {
    assert.deepEqual(topicFilterProblem(ok), null, ok);
  }
  for (const bad of ["", "a/#/b", "a#", "a/b+", "$share//a", "$share/g/", "$share/g+/a"]) {
    const problem = topicFilterProblem(bad);
    assert.deepEqual(typeof problem, "string", bad);
  }
  assert.throws(() => assertTopicFilter("a/#/b"), {
    name: "TypeError",
    message: /'\#'\ must\ be\ a\ whole\ level/,
  });
});

Deno.test("assertTopicName rejects wildcards and empty topics", () => {
  assertTopicName("stt/final");
  assert.throws(() => assertTopicName("a/+"), { name: "TypeError", message: /must\ not\ contain/ });
  assert.throws(() => assertTopicName(""), { name: "TypeError", message: /empty/ });
});

/**
 * Issue #15: the "Rejected a message" warning is rate-limited per subscription and kind of
 * problem, not per topic: 300 bad messages on 300 topics of one wildcard subscription give
 * one line, and the next line (after the interval) carries the count held back.
 */
import assert from "node:assert/strict";
import { z } from "zod";
import { getLogger, type LogRecord, setupLogging } from "../../core/log/mod.ts";
import { startBroker } from "../helpers/broker.ts";
import { rawClient, testClient, waitFor } from "../helpers/wait.ts";

Deno.test("client: 300 bad messages on 300 topics of one wildcard → one warning line, then the suppressed count", async () => {
  const records: LogRecord[] = [];
  setupLogging({ level: "debug", sink: (record) => records.push(record) });
  const rejected = () =>
    records.filter((r) =>
      r.rawMessage === "Rejected a message on {topic}: {reason}" || (
        Array.isArray(r.rawMessage) && r.rawMessage.join("{}").startsWith("Rejected a message")
      )
    );
  try {
    await using broker = await startBroker();
    await using c = testClient(broker.url);
    await c.connect();
    const got: string[] = [];
    await c.subscribe("health/+", (payload: { ok: boolean }, ctx) => {
      if (payload.ok) got.push(ctx.topic);
    }, { wire: "json", schema: z.strictObject({ ok: z.boolean() }) });
    await using raw = await rawClient(broker.url);
    for (let i = 0; i < 300; i++) {
      await raw.publishAsync(`health/service-${i}`, '{"ok":"not a boolean"}', { qos: 1 });
    }
    await raw.publishAsync("health/marker", '{"ok":true}', { qos: 1 });
    await waitFor(() => got.includes("health/marker"), "the marker after the bad messages");
    assert.equal(c.metrics().invalid, 300);
    assert.equal(rejected().length, 1, `${rejected().length} warning lines for one subscription`);
    assert.equal(rejected()[0].properties.suppressed, 0);

    // After the interval (10 s, skipped by moving Date.now) the next line counts the rest.
    const realNow = Date.now;
    const skew = 11_000;
    Date.now = () => realNow() + skew;
    try {
      await raw.publishAsync("health/service-300", '{"ok":"still bad"}', { qos: 1 });
      await raw.publishAsync("health/marker2", '{"ok":true}', { qos: 1 });
      await waitFor(() => got.includes("health/marker2"), "the second marker");
    } finally {
      Date.now = realNow;
    }
    assert.equal(rejected().length, 2);
    assert.equal(rejected()[1].properties.suppressed, 299);
  } finally {
    setupLogging({ level: "warning", sink: () => {} });
    getLogger("test").debug("logging reset");
  }
});

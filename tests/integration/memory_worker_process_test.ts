/**
 * memory-worker as a process (`services/memory-worker/main.ts`), as `deno task dev` and the
 * robot run it: health `ready` as `tars-memory`, the bundled TARS character retained, a
 * transcript stored and found, SIGTERM → exit 0 with health `shutdown` and the memory kept
 * for the next start; a missing character file → a character of that name and a warning (as
 * py-tars); an unloadable onnx model → exit 78 naming the variable.
 */
import assert from "node:assert/strict";
import {
  type CharacterSnapshot,
  type HealthPing,
  type MemoryResults,
  topics,
} from "../../core/mod.ts";
import { startBroker } from "../helpers/broker.ts";
import { spawnService, stopService } from "../helpers/service_process.ts";
import { testClient, waitFor } from "../helpers/wait.ts";

const T = 30_000;

Deno.test("memory-worker process: ready, character retained, stores and answers, keeps memories across restarts", async () => {
  await using broker = await startBroker();
  const dir = await Deno.makeTempDir({ prefix: "tars-memory-proc-" });
  await using watcher = testClient(broker.url);
  await watcher.connect({ timeoutMs: T });
  const health: HealthPing[] = [];
  await watcher.subscribe(topics.systemHealth, (ping) => void health.push(ping), {
    params: { client_id: "tars-memory" },
  });
  const characters: CharacterSnapshot[] = [];
  await watcher.subscribe(topics.systemCharacterCurrent, (c) => void characters.push(c));
  const env = { MQTT_URL: broker.url, MEMORY_DIR: `${dir}/memory`, MEMORY_REPLY_IDLE_MS: "200" };
  try {
    for (const round of [1, 2]) {
      health.length = 0;
      const child = spawnService("memory-worker", env);
      let result: { code: number; stderr: string };
      try {
        await waitFor(() => health.some((h) => h.ok && h.event === "ready"), "ready", T);
        await waitFor(() => characters.length >= round, "character", T);
        assert.equal(characters.at(-1)!.name, "TARS");
        if (round === 1) {
          await watcher.publishEvent(topics.sttFinal, { text: "my favourite colour is blue" });
        }
        let answer: MemoryResults | null = null;
        await waitFor(
          async () => {
            answer = await watcher.request(topics.memoryQuery, { text: "favourite colour" }, {
              replyTopic: topics.memoryResults,
              timeoutMs: T,
            });
            return answer.k === 1;
          },
          "the memory is found",
          T,
        );
        assert.equal(
          (answer!.results[0].document as { text: string }).text,
          "my favourite colour is blue",
        );
      } finally {
        result = await stopService(child);
      }
      assert.equal(result.code, 0, result.stderr);
      await waitFor(() => health.some((h) => h.event === "shutdown"), "health shutdown", T);
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("memory-worker process: no character file → starts with the name only and a warning", async () => {
  await using broker = await startBroker();
  const dir = await Deno.makeTempDir({ prefix: "tars-memory-proc-" });
  await using watcher = testClient(broker.url);
  await watcher.connect({ timeoutMs: T });
  const characters: CharacterSnapshot[] = [];
  await watcher.subscribe(topics.systemCharacterCurrent, (c) => void characters.push(c));
  try {
    const child = spawnService("memory-worker", {
      MQTT_URL: broker.url,
      MEMORY_DIR: dir,
      CHARACTER_NAME: "Nobody",
    });
    let result;
    try {
      await waitFor(() => characters.some((c) => c.name === "Nobody"), "character Nobody", T);
    } finally {
      result = await stopService(child);
    }
    assert.equal(result.code, 0, result.stderr);
    assert.match(
      result.stderr,
      /No character file .*Nobody\/character\.toml: using a character with only the name Nobody/,
    );
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("memory-worker process: a bad setting exits 78 naming the variable", async () => {
  await using broker = await startBroker();
  const dir = await Deno.makeTempDir({ prefix: "tars-memory-proc-" });
  await Deno.mkdir(`${dir}/characters/Broken`, { recursive: true });
  await Deno.writeTextFile(`${dir}/characters/Broken/character.toml`, "[info\nname=");
  try {
    for (
      const [extra, variable] of [
        [{ EMBED_BACKEND: "onnx", EMBED_MODEL: `${dir}/no-model` }, "EMBED_MODEL"],
        [{ CHARACTER_DIR: `${dir}/characters`, CHARACTER_NAME: "Broken" }, "CHARACTER_DIR"],
      ] as const
    ) {
      const child = spawnService("memory-worker", {
        MQTT_URL: broker.url,
        MEMORY_DIR: dir,
        ...extra,
      });
      const [status, stderr] = await Promise.all([
        child.status,
        new Response(child.stderr).text(),
      ]);
      assert.equal(status.code, 78, stderr);
      assert.match(stderr, new RegExp(variable));
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

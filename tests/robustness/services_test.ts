/**
 * The robustness suite: every service, run as its own process against a real Mosquitto, gets
 * malformed JSON, wrong schemas, oversized, deeply nested and non-finite payloads on every
 * topic the topic table says it subscribes (tests/helpers/robustness_payloads.ts). After each
 * family it must still answer a normal request within its bound (movement-service: an e-stop),
 * stay alive with its retained health ok, and keep its log rate-limited: at most a few lines
 * per subscribed topic and no huge line. The last test prints the table docs/security.md
 * reports.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { topics } from "../../core/mod.ts";
import { freePort } from "../helpers/broker.ts";
import { startFakeOpenAI } from "../helpers/llm_fake_openai.ts";
import {
  formatTable,
  type ProbeContext,
  type RobustnessCase,
  type RobustnessReport,
  runRobustness,
} from "../helpers/robustness.ts";
import { pcmFrames } from "../helpers/speech_audio.ts";
import { sttClips } from "../helpers/stt_audio.ts";
import { startFakeOpenAiTranscription } from "../helpers/stt_fake_servers.ts";
import { makeWakeClips } from "../helpers/wake_audio.ts";
import { sleep } from "../helpers/wait.ts";

/** An e-stop must be acknowledged (movement/status emergency_stop) within this. */
const ESTOP_BOUND_MS = 1_000;
/** A normal request must be answered within this. */
const REQUEST_BOUND_MS = 5_000;
/** A spoken request (audio in, through VAD and segmenter) must be answered within this. */
const SPEECH_BOUND_MS = 10_000;

/** stt-worker reopens the mic this long after a speaking_end (0.2 s) plus a margin. */
const MIC_REOPEN_MS = 300;

/** wake-activation's default WAKE_MIN_RETRIGGER_SEC (1 s) plus a margin. */
const WAKE_RETRIGGER_MS = 1_200;

const reports: RobustnessReport[] = [];

async function check(c: RobustnessCase): Promise<void> {
  const report = await runRobustness(c);
  reports.push(report);
  console.log(
    `${report.service}: ${report.payloads} payloads on ${report.topics.length} topics ` +
      `(${report.topics.join(", ")}), probes ${
        report.probes.map((p) => `${p.after} ${p.ms ?? "none"}`).join(", ")
      } ms, ${report.logLines} log lines, ${Math.round(report.wallMs / 1000)} s`,
  );
  assert.deepEqual(
    report.problems,
    [],
    `${c.service} under hostile payloads:\n- ${report.problems.join("\n- ")}\n` +
      `log tail:\n${report.logTail}`,
  );
}

/** Publishes PCM in 20 ms frames on audio/pcm/mic. */
async function speak(ctx: ProbeContext, pcm: Uint8Array): Promise<void> {
  for (const frame of pcmFrames(pcm, 20)) {
    await ctx.client.publishRaw(topics.audioPcm, frame, { params: { source: "mic" } });
  }
}

/** Ends any playback the flood's valid tts/status messages started. */
async function speakingEnded(ctx: ProbeContext): Promise<void> {
  await ctx.client.publishEvent(topics.ttsStatus, {
    event: "speaking_end",
    text: "",
    timestamp: Date.now() / 1000,
    utt_id: null,
  });
}

const opts = { sanitizeOps: false, sanitizeResources: false };

Deno.test({
  name: "robustness: movement-service answers an e-stop after every family",
  ...opts,
  fn: () =>
    check({
      service: "movement-service",
      env: { MOVEMENT_DRIVER: "sim" },
      replies: ["movement/status"],
      boundMs: ESTOP_BOUND_MS,
      async probe(ctx) {
        const since = performance.now();
        await ctx.client.publishEvent(topics.movementStop, { reason: ctx.marker });
        await ctx.until(
          "movement/status",
          (text) => text.includes("emergency_stop") && text.includes(ctx.marker),
          since,
        );
      },
    }),
});

Deno.test({
  name: "robustness: router routes a transcript after every family",
  ...opts,
  fn: () =>
    check({
      service: "router",
      env: { ROUTER_LIVE_MODE_DEFAULT: "true" },
      replies: ["llm/request"],
      boundMs: REQUEST_BOUND_MS,
      reset: speakingEnded,
      async probe(ctx) {
        const since = performance.now();
        await ctx.client.publishEvent(topics.sttFinal, {
          text: `tell me about ${ctx.marker}`,
          is_final: true,
          lang: "en",
        });
        await ctx.until("llm/request", (text) => text.includes(ctx.marker), since);
      },
    }),
});

Deno.test({
  name: "robustness: llm-worker answers a request after every family",
  ...opts,
  async fn() {
    await using llm = await startFakeOpenAI({ apiKey: "sk-robust" });
    await check({
      service: "llm-worker",
      env: { OPENAI_API_KEY: "sk-robust", LLM_BASE_URL: llm.baseURL, LLM_MODEL: "fake-model" },
      replies: ["llm/response"],
      boundMs: REQUEST_BOUND_MS,
      async probe(ctx) {
        const since = performance.now();
        await ctx.client.publishEvent(topics.llmRequest, { id: ctx.marker, text: "hello" });
        await ctx.until("llm/response", (text) => text.includes(ctx.marker), since);
      },
    });
  },
});

Deno.test({
  name: "robustness: memory-worker answers a query after every family",
  ...opts,
  async fn() {
    const dir = await Deno.makeTempDir({ prefix: "tars-robust-memory-" });
    try {
      await check({
        service: "memory-worker",
        env: { MEMORY_DIR: join(dir, "memory") },
        replies: ["memory/results"],
        boundMs: REQUEST_BOUND_MS,
        async probe(ctx) {
          const since = performance.now();
          await ctx.client.publishEvent(topics.memoryQuery, { text: ctx.marker }, {
            correlationId: ctx.uuidHex,
          });
          await ctx.until("memory/results", (text) => text.includes(ctx.uuidHex), since);
        },
      });
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
});

Deno.test({
  name: "robustness: tts-worker speaks after every family",
  ...opts,
  async fn() {
    const dir = await Deno.makeTempDir({ prefix: "tars-robust-tts-" });
    try {
      await check({
        service: "tts-worker",
        env: {
          TTS_PROVIDER: "espeak",
          TTS_SINK: "mqtt",
          TTS_OUTPUT_DIR: join(dir, "out"),
          TTS_WAKE_CACHE_DIR: join(dir, "cache"),
        },
        replies: ["tts/status"],
        // the probe's say waits for the flood's valid ones, played in real time
        boundMs: SPEECH_BOUND_MS,
        async reset(ctx) {
          // Undo the flood's valid tts/control pauses. (Its valid tts/say messages are not
          // stopped: a stop would race the probe's say, and a huge one must not block.)
          await ctx.client.publishEvent(topics.ttsControl, { action: "resume" });
        },
        async probe(ctx) {
          const since = performance.now();
          await ctx.client.publishEvent(topics.ttsSay, {
            text: "Robustness check.",
            utt_id: ctx.marker,
          });
          await ctx.until(
            "tts/status",
            (text) => text.includes("speaking_start") && text.includes(ctx.marker),
            since,
          );
        },
      });
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
});

Deno.test({
  name: "robustness: stt-worker transcribes speech after every family",
  ...opts,
  async fn() {
    const clips = await sttClips();
    let said = "nothing yet";
    await using stt = startFakeOpenAiTranscription(() => said);
    await check({
      service: "stt-worker",
      env: {
        AUDIO_SOURCE: "mqtt",
        AUDIO_MQTT_SOURCE: "mic",
        STT_MIC_MODE: "open",
        OPENAI_BASE_URL: stt.url,
        // Probes follow each other at once: no cooldowns after a final or an unmute, and the
        // fake's transcript carries the probe's marker, which is no dictionary word.
        POST_PUBLISH_COOLDOWN_MS: "0",
        UNMUTE_GUARD_MS: "0",
        REPEAT_COOLDOWN_SEC: "0",
        DICT_MATCH_MIN_RATIO: "0",
      },
      replies: ["stt/final"],
      boundMs: SPEECH_BOUND_MS,
      async reset(ctx) {
        await speakingEnded(ctx);
        await sleep(MIC_REOPEN_MS); // the mic reopens 0.2 s after speaking_end (speaker tail)
      },
      async probe(ctx) {
        said = `what time is it ${ctx.marker}`;
        const since = performance.now();
        await speak(ctx, clips.question);
        await ctx.until("stt/final", (text) => text.includes(ctx.marker), since);
      },
    });
  },
});

Deno.test({
  name: "robustness: wake-activation wakes after every family",
  ...opts,
  async fn() {
    const clips = await makeWakeClips();
    await check({
      service: "wake-activation",
      replies: ["wake/event"],
      boundMs: SPEECH_BOUND_MS,
      async reset(ctx) {
        await speakingEnded(ctx);
        // A wake within WAKE_MIN_RETRIGGER_SEC (1 s) of the last one is ignored by design.
        const last = ctx.seen.findLast((m) => m.topic === "wake/event")?.at ?? 0;
        const wait = last + WAKE_RETRIGGER_MS - performance.now();
        if (wait > 0) await sleep(wait);
      },
      async probe(ctx) {
        const since = performance.now();
        await speak(ctx, clips.silence.subarray(0, 16_000)); // 0.5 s: the detector's window
        await speak(ctx, clips.heyJarvis);
        await ctx.until("wake/event", (text) => /"type":"(wake|interrupt)"/.test(text), since);
      },
    });
  },
});

Deno.test({
  name: "robustness: camera-service answers a capture after every family",
  ...opts,
  fn: () =>
    check({
      service: "camera-service",
      env: {
        CAMERA_HTTP_HOST: "127.0.0.1",
        CAMERA_HTTP_PORT: String(freePort()),
        CAMERA_WIDTH: "320",
        CAMERA_HEIGHT: "240",
      },
      replies: ["camera/image"],
      boundMs: REQUEST_BOUND_MS,
      async probe(ctx) {
        const since = performance.now();
        await ctx.client.publishEvent(topics.cameraCapture, { request_id: ctx.uuidHex });
        await ctx.until("camera/image", (text) => text.includes(ctx.uuidHex), since);
      },
    }),
});

Deno.test({
  name: "robustness: ui-web shows a transcript in /api/state after every family",
  ...opts,
  async fn() {
    const base = `http://127.0.0.1:${freePort()}`;
    const state = () => fetch(`${base}/api/state`).then((r) => r.text()).catch(() => "");
    await check({
      service: "ui-web",
      env: { UI_HOST: "127.0.0.1", UI_PORT: new URL(base).port },
      replies: [],
      boundMs: REQUEST_BOUND_MS,
      async ready(ctx) {
        await ctx.poll(async () => (await state()).includes("conversation"));
      },
      async probe(ctx) {
        await ctx.client.publishEvent(topics.sttFinal, { text: `shown ${ctx.marker}` });
        await ctx.poll(async () => (await state()).includes(ctx.marker));
      },
    });
  },
});

Deno.test({
  name: "robustness: ha-bridge turns a Home Assistant command into tts/say after every family",
  ...opts,
  fn: () =>
    check({
      service: "ha-bridge",
      // Its command topics flooded on the movement buttons' topic: every bad one refused.
      params: { client_id: "tars-tts", entity: "move", component: "button", object_id: "x" },
      replies: ["tts/say"],
      boundMs: REQUEST_BOUND_MS,
      async probe(ctx) {
        const since = performance.now();
        await ctx.client.publishRaw(topics.haCommand, `hello ${ctx.marker}`, {
          params: { entity: "say" },
        });
        await ctx.until("tts/say", (text) => text.includes(ctx.marker), since);
      },
    }),
});

Deno.test("robustness: summary (the numbers for docs/security.md)", () => {
  if (reports.length === 0) return;
  console.log(`\nRobustness of ${reports.length} services under hostile payloads:\n`);
  console.log(formatTable(reports));
  for (const r of reports.filter((r) => r.problems.length)) {
    console.log(`\n${r.service}:\n- ${r.problems.join("\n- ")}`);
  }
});

/**
 * `deno task bench loop`: the suite's own overhead in a whole voice turn. The real services run
 * as their own processes (`services/<name>/main.ts` with the ops permissions) against one
 * Mosquitto:
 *
 * - stt-worker reads a looping WAV (espeak-ng speaking a question, then silence) with its file
 *   source in real time, its VAD cuts the utterances, and a local OpenAI-protocol transcription
 *   stand-in answers at once;
 * - the router (live mode: no wake word) asks the LLM;
 * - llm-worker streams from the local OpenAI-protocol stand-in, whose first token comes after a
 *   fixed `BENCH_LOOP_LLM_MS` (default 100 ms);
 * - tts-worker speaks with espeak-ng into the mqtt sink (tts/audio).
 *
 * The bench listens to the bus and builds each turn's timeline with ui-web's
 * {@linkcode TurnTracer} (fed by the same {@linkcode traceConverters} as ui-web) from the
 * envelopes' `ts` (publisher clocks, one machine). For each of `BENCH_LOOP_TURNS` (default 50)
 * turns after 3 warm-up turns it takes speech end (stt/vad) → first tts/audio chunk and
 * subtracts, turn by turn, what is not the suite's overhead: the time the transcription
 * stand-in spent on the request (its own record), the time the LLM stand-in held the first
 * token (its fixed `BENCH_LOOP_LLM_MS` and its own lateness, as the stand-in
 * recorded it), tts-worker's aggregation debounce (a setting) and the synthesis time of that
 * turn's reply (`synthesis_ms` on its first tts/audio chunk, measured inside tts-worker around
 * the engine call). The VAD's end-of-speech hangover comes before speech_end is published and
 * is reported as its own line: it is a setting, not overhead.
 *
 * Prints Markdown; `--json=<path>` also writes every number as JSON. Takes about 3 minutes.
 *
 * @module
 */
import { type MessageContext, MqttClient, topics } from "../core/mod.ts";
import {
  type TraceConverter,
  traceConverters,
  type TurnTimeline,
  TurnTracer,
} from "../services/ui-web/turn_trace.ts";
import { startBroker } from "../tests/helpers/broker.ts";
import { fake, type RecordedRequest, startFakeOpenAI } from "../tests/helpers/llm_fake_openai.ts";
import { spawnService, stopService } from "../tests/helpers/service_process.ts";
import { pcm16k, speechWav } from "../tests/helpers/speech_audio.ts";
import { startFakeOpenAiTranscription } from "../tests/helpers/stt_fake_servers.ts";
import { parseArgs } from "./protocol.ts";

const TURNS = Number(Deno.env.get("BENCH_LOOP_TURNS") ?? 50);
const WARMUP = 3;
const LLM_FIRST_TOKEN_MS = Number(Deno.env.get("BENCH_LOOP_LLM_MS") ?? 100);
/** stt-worker's SILENCE_THRESHOLD_MS and tts-worker's TTS_AGGREGATE_DEBOUNCE_MS: defaults. */
const HANGOVER_MS = 700;
const DEBOUNCE_MS = 150;
const QUESTION = "tell me something";
const REPLY = "Sure, here it is.";
/** Silence after each question: the reply (~1 s) must end and the mic reopen before the next. */
const TAIL_SILENCE_SEC = 2.6;
const LEAD_SILENCE_SEC = 0.3;
// None of them matches a router rule: every turn goes to the LLM.
const TEXTS = ["tell me something", "what do you think", "talk to me", "any news today"];

/** Which sample the p99 of `n` is (nearest rank): "the worst of 50", "the 2nd worst of 100". */
export function p99Rank(n: number): string {
  const fromTop = n - nearestRank(0.99, n) + 1;
  return fromTop === 1 ? `the worst of ${n}` : `the ${ordinal(fromTop)} worst of ${n}`;
}

/** The 1-based rank of percentile `p` (0-1) among `n` sorted samples (nearest rank). */
function nearestRank(p: number, n: number): number {
  // Rounded first: 0.99 × 300 is 297.00000000000006 in floating point, and its rank is 297.
  return Math.ceil(Math.round(p * n * 1e6) / 1e6);
}

function ordinal(k: number): string {
  return k === 2 ? "2nd" : k === 3 ? "3rd" : `${k}th`;
}

/** p50/p99/max of a sample, ms. */
export interface Stats {
  readonly n: number;
  readonly p50: number;
  readonly p90: number;
  readonly p99: number;
  readonly max: number;
}

/** The whole report (also the `--json` file). */
export interface LoopReport {
  readonly date: string;
  readonly machine: string;
  readonly settings: Record<string, number | string>;
  /** Overhead per stage and in total, ms (the stand-ins' delays and synthesis subtracted). */
  readonly overhead: Record<string, Stats>;
  /** The same overhead turn by turn (in the order of `turns`), ms: where a slow turn lost time. */
  readonly overheadPerTurn: Record<string, number[]>;
  /** Raw stage lengths and what was subtracted, ms. */
  readonly raw: Record<string, Stats>;
  /** speech_start → speech_end minus the voiced length of the question, ms: the hangover. */
  readonly hangoverMeasured: Stats;
  /** Load averages (1, 5, 15 min) when the bench started and when the turns ended. */
  readonly load: { readonly start: string; readonly end: string };
  readonly turns: TurnTimeline[];
  readonly elapsedSeconds: number;
}

/** From the first to the last sample louder than -36 dBFS of PCM16LE mono 16 kHz audio, ms. */
function voicedMs(pcm: Uint8Array): number {
  const samples = new Int16Array(pcm.buffer, pcm.byteOffset, pcm.length >> 1);
  const loud = (i: number) => Math.abs(samples[i]) > 512;
  let first = 0;
  while (first < samples.length && !loud(first)) first++;
  let last = samples.length - 1;
  while (last > first && !loud(last)) last--;
  return (last - first + 1) / 16;
}

function stats(values: number[]): Stats {
  const sorted = [...values].sort((a, b) => a - b);
  // Nearest rank: with 50 samples, p99 is the largest (ceil(0.99 × 50) = 50).
  const at = (p: number) => sorted[Math.max(0, nearestRank(p, sorted.length) - 1)];
  return {
    n: sorted.length,
    p50: at(0.5),
    p90: at(0.9),
    p99: at(0.99),
    max: sorted[sorted.length - 1],
  };
}

async function machine(): Promise<string> {
  let cpu = "";
  try {
    const info = await Deno.readTextFile("/proc/cpuinfo");
    cpu = /model name\s*:\s*(.+)/.exec(info)?.[1] ?? /Hardware\s*:\s*(.+)/.exec(info)?.[1] ?? "";
  } catch { /* not Linux */ }
  return `${Deno.build.os}/${Deno.build.arch}, ${navigator.hardwareConcurrency} CPUs${
    cpu ? ` (${cpu.trim()})` : ""
  }, Deno ${Deno.version.deno}`;
}

/** The 1, 5 and 15 minute load averages, e.g. `"3.41 3.12 2.80"`. */
function loadAverage(): string {
  return Deno.loadavg().map((v) => v.toFixed(2)).join(" ");
}

/**
 * How long the LLM stand-in held each turn's first token, ms, from its own record of each
 * request (the scripted delay plus its lateness). One request per turn, in turn order; each
 * request must carry its turn's transcript, or the pairing is wrong and the run is refused.
 */
export function llmHeld(
  turns: readonly Pick<TurnTimeline, "turn_id" | "text">[],
  requests: readonly Pick<RecordedRequest, "body" | "firstChunkMs">[],
): number[] {
  if (requests.length < turns.length) {
    throw new Error(`${turns.length} turns but only ${requests.length} LLM requests`);
  }
  return turns.map((turn, i) => {
    const { body, firstChunkMs } = requests[i];
    const asked = body.messages.findLast((m) => m.role === "user")?.content;
    if (typeof asked !== "string" || !turn.text || !asked.includes(turn.text)) {
      throw new Error(
        `LLM request ${i + 1} asked ${JSON.stringify(asked)}, not turn ` +
          `${turn.turn_id}'s ${JSON.stringify(turn.text)}: requests and turns are out of step`,
      );
    }
    if (firstChunkMs === null) throw new Error(`LLM request ${i + 1} sent no content`);
    return firstChunkMs;
  });
}

/**
 * How long the transcription stand-in spent on each turn's request, ms (reading the form and
 * the WAV; its own record). One request per turn, in turn order; each turn's transcript must be
 * the answer its request got, or the pairing is wrong and the run is refused.
 */
export function sttHandling(
  turns: readonly Pick<TurnTimeline, "turn_id" | "text">[],
  received: readonly { readonly handlingMs?: number }[],
  answers: readonly string[],
): number[] {
  if (received.length < turns.length) {
    throw new Error(`${turns.length} turns but only ${received.length} transcription requests`);
  }
  return turns.map((turn, i) => {
    if (answers[i] !== turn.text) {
      throw new Error(
        `transcription ${i + 1} answered ${JSON.stringify(answers[i])}, not turn ` +
          `${turn.turn_id}'s ${JSON.stringify(turn.text)}: requests and turns are out of step`,
      );
    }
    const ms = received[i].handlingMs;
    if (ms === undefined) throw new Error(`transcription ${i + 1} was not answered`);
    return ms;
  });
}

function log(message: string): void {
  console.error(`[bench loop] ${message}`);
}

/** Runs the loop; `args` may hold `--json=<path>`. */
export async function main(args: readonly string[]): Promise<LoopReport> {
  const options = parseArgs(args);
  const started = performance.now();
  const loadStart = loadAverage();
  const dir = await Deno.makeTempDir({ prefix: "tars-bench-loop-" });
  await using broker = await startBroker();
  await using llm = await startFakeOpenAI({ apiKey: "sk-bench" });
  llm.fallback = fake.text(REPLY, { firstTokenDelayMs: LLM_FIRST_TOKEN_MS });
  const answers: string[] = [];
  await using stt = startFakeOpenAiTranscription(() => {
    const text = TEXTS[answers.length % TEXTS.length];
    answers.push(text);
    return text;
  });

  const wav = await speechWav(dir, "question", QUESTION, {
    leadSilenceSec: LEAD_SILENCE_SEC,
    tailSilenceSec: TAIL_SILENCE_SEC,
  });
  const spokenMs = voicedMs(
    await pcm16k(
      await speechWav(dir, "spoken", QUESTION, { leadSilenceSec: 0, tailSilenceSec: 0 }),
    ),
  );

  const listener = new MqttClient({
    url: broker.url,
    clientId: "bench-loop",
    shutdownGraceMs: 200,
  });
  await listener.connect({ timeoutMs: 10_000 });
  const tracer = new TurnTracer(TURNS + WARMUP + 20);
  const finished: TurnTimeline[] = [];
  /** tts-worker's synthesis time of each utterance's first audio, by utt_id. */
  const synthesisMs = new Map<string, number>();
  const feed = <P>(convert: TraceConverter<P>) => (payload: P, c: MessageContext) => {
    const event = c.envelope && convert(payload, c.envelope);
    const update = event && tracer.add(event);
    if (update?.finished) finished.push(update.turn);
  };
  await listener.subscribe(topics.sttVad, feed(traceConverters.sttVad));
  await listener.subscribe(topics.sttFinal, feed(traceConverters.sttFinal));
  await listener.subscribe(topics.llmRequest, feed(traceConverters.llmRequest));
  await listener.subscribe(topics.llmStream, feed(traceConverters.llmStream), { queueSize: 1024 });
  await listener.subscribe(topics.ttsSay, feed(traceConverters.ttsSay));
  const audio = feed(traceConverters.ttsAudio);
  await listener.subscribe(topics.ttsAudio, (p, c) => {
    if (p.seq === 0 && p.synthesis_ms != null) synthesisMs.set(p.utt_id, p.synthesis_ms);
    audio(p, c);
  }, { queueSize: 1024 });
  await listener.subscribe(topics.ttsStatus, feed(traceConverters.ttsStatus));
  const ready = new Set<string>();
  await listener.subscribe(topics.systemHealth, (p, c) => {
    if (p.ok && p.event === "ready") ready.add(c.topic);
  });

  const base = { PATH: Deno.env.get("PATH") ?? "", MQTT_URL: broker.url };
  const children = {
    tts: spawnService("tts-worker", {
      ...base,
      TTS_PROVIDER: "espeak",
      TTS_SINK: "mqtt",
      TTS_WAKE_CACHE_ENABLE: "false",
    }),
    llm: spawnService("llm-worker", {
      ...base,
      OPENAI_API_KEY: "sk-bench",
      OPENAI_BASE_URL: llm.baseURL,
      LLM_MODEL: "fake-model",
    }),
    router: spawnService("router", {
      ...base,
      ROUTER_LIVE_MODE_DEFAULT: "true",
      ONLINE_ANNOUNCE: "false",
      ROUTER_WAKE_ACK_ENABLED: "false",
    }),
  } as Record<string, Deno.ChildProcess>;
  const results: Array<{ name: string; code: number; stderr: string }> = [];
  try {
    const deadline = Date.now() + 30_000;
    const want = ["tars-tts", "tars-llm", "tars-router"].map((id) => `system/health/${id}`);
    while (!want.every((t) => ready.has(t))) {
      if (Date.now() > deadline) throw new Error(`services not ready: ${[...ready].join(", ")}`);
      await new Promise((r) => setTimeout(r, 50));
    }
    await new Promise((r) => setTimeout(r, 1000)); // subscriptions come after "ready"
    children.stt = spawnService("stt-worker", {
      ...base,
      AUDIO_SOURCE: "file",
      AUDIO_FILE: wav,
      AUDIO_FILE_LOOP: "true",
      STT_MIC_MODE: "open",
      OPENAI_BASE_URL: stt.url,
      REPEAT_COOLDOWN_SEC: "0",
    });
    const total = TURNS + WARMUP;
    const cycleMs = spokenMs + (LEAD_SILENCE_SEC + TAIL_SILENCE_SEC) * 1000;
    const until = Date.now() + 30_000 + total * cycleMs * 1.6;
    let seen = 0;
    while (finished.length < total) {
      if (Date.now() > until) {
        throw new Error(
          `only ${finished.length} of ${total} turns finished; ${tracer.turns().length} started`,
        );
      }
      if (finished.length > seen) {
        seen = finished.length;
        log(`turn ${seen}/${total}: speech end → first audio ${finished[seen - 1].response_ms} ms`);
      }
      await new Promise((r) => setTimeout(r, 20));
    }
  } finally {
    for (const [name, child] of Object.entries(children)) {
      results.push({ name, ...(await stopService(child)) });
    }
    await listener.shutdown();
    await Deno.remove(dir, { recursive: true });
  }
  for (const r of results) {
    if (r.code !== 0) log(`${r.name} exited with ${r.code}: ${r.stderr.slice(-2000)}`);
  }

  const turns = finished.slice(WARMUP, WARMUP + TURNS);
  const m = (t: TurnTimeline, a: keyof TurnTimeline["marks"], b: keyof TurnTimeline["marks"]) => {
    const from = t.marks[a];
    const to = t.marks[b];
    if (from === undefined || to === undefined) {
      throw new Error(`turn ${t.turn_id} has no ${from === undefined ? a : b}`);
    }
    return to - from;
  };
  const held = llmHeld(finished, llm.requests).slice(WARMUP, WARMUP + TURNS);
  const transcribing = sttHandling(finished, stt.received, answers).slice(WARMUP, WARMUP + TURNS);
  const synthesis = turns.map((t) => {
    const ms = synthesisMs.get(t.turn_id);
    if (ms === undefined) throw new Error(`turn ${t.turn_id}: no synthesis_ms on its first chunk`);
    return ms;
  });
  const raw = {
    stt: turns.map((t) => m(t, "speech_end", "stt_final")),
    route: turns.map((t) => m(t, "stt_final", "llm_request")),
    llm: turns.map((t) => m(t, "llm_request", "first_token")),
    sentence: turns.map((t) => m(t, "first_token", "first_sentence")),
    ttsStart: turns.map((t) => m(t, "first_sentence", "playback_start")),
    ttsChunk: turns.map((t) => m(t, "playback_start", "first_audio")),
    tts: turns.map((t) => m(t, "first_sentence", "first_audio")),
    total: turns.map((t) => m(t, "speech_end", "first_audio")),
  };
  const minus = (values: number[], ...subtract: number[][]) =>
    values.map((v, i) => subtract.reduce((left, s) => left - s[i], v));
  const debounce = turns.map(() => DEBOUNCE_MS);
  const overhead = {
    stt: minus(raw.stt, transcribing),
    route: raw.route,
    llm: minus(raw.llm, held),
    sentence: raw.sentence,
    ttsStart: minus(raw.ttsStart, debounce, synthesis),
    ttsChunk: raw.ttsChunk,
    tts: minus(raw.tts, debounce, synthesis),
    total: minus(raw.total, transcribing, held, debounce, synthesis),
  };
  const statsOf = (record: Record<string, number[]>) =>
    Object.fromEntries(Object.entries(record).map(([k, v]) => [k, stats(v)]));
  const report: LoopReport = {
    date: new Date().toISOString(),
    machine: await machine(),
    settings: {
      turns: turns.length,
      warmup: WARMUP,
      llmFirstTokenMs: LLM_FIRST_TOKEN_MS,
      ttsAggregateDebounceMs: DEBOUNCE_MS,
      vadHangoverMs: HANGOVER_MS,
      question: QUESTION,
      reply: REPLY,
      spokenMs: Math.round(spokenMs),
    },
    overhead: statsOf(overhead),
    overheadPerTurn: Object.fromEntries(
      Object.entries(overhead).map(([k, v]) => [k, v.map((ms) => Math.round(ms * 10) / 10)]),
    ),
    raw: {
      ...statsOf(raw),
      sttHandling: stats(transcribing),
      llmHeld: stats(held),
      synthesis: stats(synthesis),
    },
    load: { start: loadStart, end: loadAverage() },
    hangoverMeasured: stats(turns.map((t) => m(t, "speech_start", "speech_end") - spokenMs)),
    turns,
    elapsedSeconds: (performance.now() - started) / 1000,
  };
  const jsonPath = options.get("json");
  if (jsonPath) await Deno.writeTextFile(jsonPath, JSON.stringify(report, null, 2) + "\n");
  return report;
}

/** The report as Markdown. */
export function render(r: LoopReport): string {
  const f = (v: number) => v.toFixed(1);
  const row = (label: string, o: Stats, raw: Stats | null, note: string) =>
    `| ${label} | ${f(o.p50)} | ${f(o.p90)} | ${f(o.p99)} | ${
      raw ? `${f(raw.p50)} / ${f(raw.p99)}` : "–"
    } | ${note} |`;
  const o = r.overhead;
  const s = r.settings;
  const synth = r.raw.synthesis;
  const held = r.raw.llmHeld;
  return [
    `${r.settings.turns} turns (after ${s.warmup} warm-up turns), ${r.date}, ${r.machine}; ` +
    `${r.elapsedSeconds.toFixed(0)} s; load average ${r.load.start} at the start, ` +
    `${r.load.end} at the end.`,
    "",
    "Suite overhead per stage, ms (publisher timestamps; subtracted per turn: the transcription " +
    "stand-in's handling of the request, the time the LLM stand-in held the first token, the " +
    "TTS debounce setting and that turn's synthesis time as tts-worker measured it):",
    "",
    `| stage | p50 | p90 | p99 (${
      p99Rank(Number(r.settings.turns))
    }) | raw p50 / p99 | subtracted |`,
    "|---|---|---|---|---|---|",
    row(
      "speech end → stt/final (stt-worker)",
      o.stt,
      r.raw.stt,
      `transcription stand-in's handling (p50 ${f(r.raw.sttHandling.p50)}, p99 ${
        f(r.raw.sttHandling.p99)
      })`,
    ),
    row("stt/final → llm/request (router)", o.route, r.raw.route, "–"),
    row(
      "llm/request → first token (llm-worker)",
      o.llm,
      r.raw.llm,
      `LLM stand-in's hold (set ${s.llmFirstTokenMs}; p50 ${f(held.p50)}, p99 ${f(held.p99)})`,
    ),
    row("first token → first tts/say (router)", o.sentence, r.raw.sentence, "–"),
    row(
      "tts/say → speaking_start (tts-worker: debounce, synthesis)",
      o.ttsStart,
      r.raw.ttsStart,
      `debounce ${s.ttsAggregateDebounceMs} + synthesis (p50 ${f(synth.p50)}, p99 ${f(synth.p99)})`,
    ),
    row("speaking_start → first tts/audio chunk (tts-worker)", o.ttsChunk, r.raw.ttsChunk, "–"),
    row("**total: speech end → first audio chunk**", o.total, r.raw.total, "all of the above"),
    "",
    "| setting or stand-in, not overhead | value, ms |",
    "|---|---|",
    `| VAD end-of-speech hangover (SILENCE_THRESHOLD_MS), before speech_end | ${s.vadHangoverMs} (measured: speech_start→speech_end − voiced length of the question, p50 ${
      f(r.hangoverMeasured.p50)
    }, p99 ${f(r.hangoverMeasured.p99)}) |`,
    `| TTS aggregation debounce (TTS_AGGREGATE_DEBOUNCE_MS) | ${s.ttsAggregateDebounceMs} |`,
    `| LLM stand-in first-token hold (set ${s.llmFirstTokenMs}) | p50 ${f(held.p50)}, p99 ${
      f(held.p99)
    } |`,
    `| transcription stand-in's handling of a request | p50 ${f(r.raw.sttHandling.p50)}, p99 ${
      f(r.raw.sttHandling.p99)
    } |`,
    `| espeak-ng synthesis of "${s.reply}" inside tts-worker (synthesis_ms) | p50 ${
      f(synth.p50)
    }, p99 ${f(synth.p99)} |`,
    "",
    `Target: total overhead p99 ≤ 20 ms — ${
      o.total.p99 <= 20 ? "met" : `missed by ${f(o.total.p99 - 20)} ms`
    }.`,
  ].join("\n");
}

/** Runs the bench and returns its Markdown section. */
export async function run(args: readonly string[] = []): Promise<string> {
  return render(await main(args));
}

if (import.meta.main) console.log(render(await main(Deno.args)));

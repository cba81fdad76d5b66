/**
 * `deno task bench router`: latency of the router over a real broker (Mosquitto from the
 * test harness), the router running as its own process (`services/router/main.ts`, live
 * mode on, so no wake is needed):
 *
 * - **sentence**: from publishing the llm/stream delta that completes a sentence to receiving
 *   the tts/say that speaks it (target p99 < 5 ms);
 * - **request**: from publishing stt/final to receiving the llm/request it causes.
 *
 * Baseline in the same run: a bare MQTT.js echo process that republishes the same envelope
 * bytes with the same QoS (two broker hops, no parsing, no logic). The ratio router/echo is
 * the router's own cost. `BENCH_ROUTER_ROUNDS` (default 300) rounds after 30 warm-up rounds.
 *
 * @module
 */
import mqtt from "mqtt";
import { Envelope, epochSeconds, topics } from "../core/mod.ts";
import { startBroker } from "../tests/helpers/broker.ts";

const ROUNDS = Number(Deno.env.get("BENCH_ROUTER_ROUNDS") ?? 300);
const WARMUP = 30;
const ROUTER = new URL("../services/router/main.ts", import.meta.url).pathname;
const ECHO = new URL("../tests/helpers/router_bench_echo.ts", import.meta.url).pathname;

interface Stats {
  p50: number;
  p99: number;
  max: number;
  mean: number;
}

function stats(values: number[]): Stats {
  const sorted = [...values].sort((a, b) => a - b);
  const at = (p: number) => sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))];
  const mean = sorted.reduce((a, b) => a + b, 0) / sorted.length;
  return { p50: at(0.5), p99: at(0.99), max: sorted[sorted.length - 1], mean };
}

/** Resolves with the next message on `topic` whose text satisfies `match`. */
function nextMessage(
  client: mqtt.MqttClient,
  topic: string,
  match: (text: string) => boolean,
): Promise<{ text: string; at: number }> {
  return new Promise((resolve) => {
    const onMessage = (incoming: string, payload: Uint8Array) => {
      if (incoming !== topic) return;
      const text = new TextDecoder().decode(payload);
      if (!match(text)) return;
      const at = performance.now();
      client.off("message", onMessage);
      resolve({ text, at });
    };
    client.on("message", onMessage);
  });
}

function envelope(eventType: string, data: Record<string, unknown>, id?: string): string {
  return Envelope.toJson(Envelope.new({ eventType, data, correlate: id, source: "bench" }));
}

function spawn(path: string, env: Record<string, string>): Deno.ChildProcess {
  return new Deno.Command(Deno.execPath(), {
    args: ["run", "--allow-net", "--allow-env", "--allow-read", "--allow-sys", path],
    env,
    stdout: "piped",
    stderr: "null",
  }).spawn();
}

async function waitForLine(child: Deno.ChildProcess, line: string): Promise<void> {
  const reader = child.stdout.pipeThrough(new TextDecoderStream()).getReader();
  let seen = "";
  while (!seen.includes(line)) {
    const { value, done } = await reader.read();
    if (done) throw new Error(`process ended before printing ${line}`);
    seen += value;
  }
  reader.releaseLock();
}

/** Runs the benchmark and returns its Markdown section. */
export async function run(): Promise<string> {
  await using broker = await startBroker();
  const client = await mqtt.connectAsync(broker.url, {
    clientId: "bench-router-user",
    protocolVersion: 4,
    reconnectPeriod: 0,
  });
  noDelay(client);
  await client.subscribeAsync(
    [topics.ttsSay.topic, topics.llmRequest.topic, "bench/echo/out/#"],
    { qos: 1 },
  );
  const router = spawn(ROUTER, {
    MQTT_URL: broker.url,
    LOG_LEVEL: "error",
    ROUTER_LIVE_MODE_DEFAULT: "1",
    ROUTER_WAKE_ACK_ENABLED: "0",
    ONLINE_ANNOUNCE: "0",
  });
  router.stdout.cancel();
  const echoes = [
    spawn(ECHO, {
      MQTT_URL: broker.url,
      BENCH_ECHO_IN: "bench/echo/in/stream",
      BENCH_ECHO_OUT: "bench/echo/out/stream",
      BENCH_ECHO_QOS: String(topics.ttsSay.qos),
    }),
    spawn(ECHO, {
      MQTT_URL: broker.url,
      BENCH_ECHO_IN: "bench/echo/in/final",
      BENCH_ECHO_OUT: "bench/echo/out/final",
      BENCH_ECHO_QOS: String(topics.llmRequest.qos),
    }),
  ];
  try {
    await Promise.all(echoes.map((echo) => waitForLine(echo, "ready")));
    // The router is ready once it answers.
    const deadline = Date.now() + 30_000;
    while (true) {
      const heard = nextMessage(client, topics.ttsSay.topic, (t) => t.includes("bench ready"));
      await client.publishAsync(
        topics.sttFinal.topic,
        envelope("stt.final", { text: "say bench ready", ts: epochSeconds() }),
        { qos: topics.sttFinal.qos },
      );
      const ok = await Promise.race([heard.then(() => true), sleep(500).then(() => false)]);
      if (ok) break;
      if (Date.now() > deadline) throw new Error("the router did not start");
    }

    const sentence: number[] = [];
    const request: number[] = [];
    const echoSentence: number[] = [];
    const echoRequest: number[] = [];
    for (let round = 0; round < WARMUP + ROUNDS; round++) {
      const id = `bench-${round}`;
      // stt/final → llm/request
      const finalJson = envelope("stt.final", {
        text: `Tell me something about the number ${round}`,
        utt_id: id,
        ts: epochSeconds(),
      });
      const requested = nextMessage(client, topics.llmRequest.topic, (t) => t.includes(id));
      const t0 = performance.now();
      await client.publishAsync(topics.sttFinal.topic, finalJson, { qos: topics.sttFinal.qos });
      const t1 = (await requested).at;
      // llm/stream: a first delta, then the one that completes the sentence → tts/say
      const send = (seq: number, data: Record<string, unknown>) =>
        client.publishAsync(
          topics.llmStream.topic,
          envelope("llm.stream", { id, seq, ...data }, id),
          { qos: topics.llmStream.qos },
        );
      await send(1, { delta: `The number ${round} is a fine number` });
      const spoken = nextMessage(client, topics.ttsSay.topic, (t) => t.includes(`${round} is`));
      const completing = envelope("llm.stream", { id, seq: 2, delta: "." }, id);
      const t2 = performance.now();
      await client.publishAsync(topics.llmStream.topic, completing, { qos: topics.llmStream.qos });
      const t3 = (await spoken).at;
      await send(3, { done: true });
      await client.publishAsync(
        topics.llmResponse.topic,
        envelope("llm.response", { id, reply: `The number ${round} is a fine number.` }, id),
        { qos: 1 },
      );
      // Baselines: the same bytes through the echo process.
      const echoedFinal = nextMessage(client, "bench/echo/out/final", (t) => t.includes(id));
      const t4 = performance.now();
      await client.publishAsync("bench/echo/in/final", finalJson, { qos: topics.sttFinal.qos });
      const t5 = (await echoedFinal).at;
      const echoedDelta = nextMessage(client, "bench/echo/out/stream", (t) => t.includes(id));
      const t6 = performance.now();
      await client.publishAsync("bench/echo/in/stream", completing, { qos: topics.llmStream.qos });
      const t7 = (await echoedDelta).at;
      if (round >= WARMUP) {
        request.push(t1 - t0);
        sentence.push(t3 - t2);
        echoRequest.push(t5 - t4);
        echoSentence.push(t7 - t6);
      }
    }
    const rows = [
      ["delta completing a sentence → tts/say", stats(sentence), stats(echoSentence)],
      ["stt/final → llm/request", stats(request), stats(echoRequest)],
    ] as const;
    const ms = (value: number) => value.toFixed(2);
    const lines = [
      "## router",
      "",
      `Router as its own process, Mosquitto ${broker.kind === "mosquitto" ? "2" : "(embedded)"} ` +
      `on 127.0.0.1, ${ROUNDS} rounds after ${WARMUP} warm-up. Baseline: a bare MQTT.js echo ` +
      "process republishing the same bytes with the same QoS. Times in ms.",
      "",
      "| path | p50 | p99 | max | echo p50 | echo p99 | p50 ratio | p99 ratio | p99 < 5 ms |",
      "|---|---|---|---|---|---|---|---|---|",
      ...rows.map(([name, r, e]) =>
        `| ${name} | ${ms(r.p50)} | ${ms(r.p99)} | ${ms(r.max)} | ${ms(e.p50)} | ${ms(e.p99)} | ` +
        `${(r.p50 / e.p50).toFixed(2)} | ${(r.p99 / e.p99).toFixed(2)} | ` +
        `${r.p99 < 5 ? "yes" : "no"} |`
      ),
    ];
    return lines.join("\n");
  } finally {
    for (const child of [router, ...echoes]) {
      try {
        child.kill("SIGTERM");
      } catch { /* already gone */ }
      await child.status;
      await child.stdout.cancel().catch(() => {});
    }
    await client.endAsync();
  }
}

/** Disables Nagle's algorithm on the client's socket, as the TARS client does. */
function noDelay(client: mqtt.MqttClient): void {
  (client.stream as unknown as { setNoDelay?: (on: boolean) => void }).setNoDelay?.(true);
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

if (import.meta.main) console.log(await run());

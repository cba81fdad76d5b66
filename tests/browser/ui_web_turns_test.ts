/**
 * The turn waterfall in a real headless Chromium (/usr/bin/chromium through playwright-core)
 * against the real ui-web and Mosquitto: a turn's messages published on the bus show up live as
 * one waterfall row per stage with its duration, and a reloaded page draws the same from the
 * `hello` snapshot. Saves tests/artifacts/ui_web_turns.png.
 *
 * Needs `-A`; skipped, with a message, when Chromium is not installed.
 */
import assert from "node:assert/strict";
import { topics } from "../../core/mod.ts";
import { chromiumSkipReason, launchChromium } from "../helpers/chromium.ts";
import { startUiWebHarness } from "../helpers/ui_web_harness.ts";
import { sleep } from "../helpers/wait.ts";

const ARTIFACTS = new URL("../artifacts/", import.meta.url);

const skip = chromiumSkipReason();
if (skip) console.warn(`SKIPPED tests/browser/ui_web_turns_test.ts: ${skip}`);

Deno.test({
  name: "ui-web in Chromium: the turn waterfall, live and after a reload",
  ignore: skip !== "",
}, async () => {
  await using h = await startUiWebHarness();
  await using browser = await launchChromium();
  const page = await (await browser.newContext({ viewport: { width: 1400, height: 1000 } }))
    .newPage();
  const problems: string[] = [];
  page.on("pageerror", (error) => problems.push(`pageerror: ${error.message}`));
  page.on("console", (message) => {
    // (the camera relay answers 502 here: no camera-service runs)
    if (message.type() === "error" && !/status of 502/.test(message.text())) {
      problems.push(`console: ${message.text()}`);
    }
  });
  await page.goto(`${h.base}/`);
  await page.locator("#link.badge-online").waitFor();
  assert.equal(await page.locator("#turns li").count(), 0);

  // One turn as the services would publish it (stage lengths from the sleeps).
  const w = h.world;
  await w.publishEvent(topics.sttVad, { event: "speech_start", utt_id: "u-browser" });
  await sleep(120);
  await w.publishEvent(topics.sttVad, { event: "speech_end", utt_id: "u-browser" });
  await sleep(40);
  const finalId = await w.publishEvent(topics.sttFinal, {
    text: "how far is the moon",
    utt_id: "u-browser",
  });
  await w.publishEvent(topics.llmRequest, { id: "u-browser", text: "how far is the moon" }, {
    correlationId: finalId,
  });
  await sleep(150);
  await w.publishEvent(topics.llmStream, { id: "u-browser", seq: 1, delta: "Far." });
  await w.publishEvent(topics.ttsSay, { text: "Far.", utt_id: "u-browser" });
  await sleep(60);
  await w.publishEvent(topics.ttsStatus, { event: "speaking_start", utt_id: "u-browser" });
  await w.publishEvent(topics.ttsAudio, {
    utt_id: "u-browser",
    seq: 0,
    sample_rate: 16000,
    channels: 1,
    format: "pcm_s16le",
    data: "",
    final: true,
  });
  await w.publishEvent(topics.ttsStatus, { event: "speaking_end", utt_id: "u-browser" });

  const check = async () => {
    const turn = page.locator('#turns li[data-turn="u-browser"][data-done="true"]');
    await turn.waitFor({ timeout: 10_000 });
    assert.match(await turn.locator(".turn-text").innerText(), /how far is the moon/);
    const stages: string[] = [];
    for (const row of await turn.locator(".wf-row").all()) {
      stages.push(await row.getAttribute("data-stage") ?? "");
    }
    assert.deepEqual(stages, ["speech", "stt", "route", "llm", "sentence", "tts", "playback"]);
    const llm = turn.locator('.wf-row[data-stage="llm"]');
    const ms = Number((await llm.locator(".wf-ms").innerText()).replace(" ms", ""));
    assert.ok(ms >= 140 && ms < 2000, `llm stage ${ms} ms`);
    const width = await llm.locator(".wf-bar").evaluate((bar) => bar.getBoundingClientRect().width);
    assert.ok(width > 5, `the llm bar is drawn (${width} px)`);
    assert.match(await turn.locator(".turn-gap").innerText(), /^\d+ ms$/);
  };
  await check(); // live, from SSE `turn` events
  await page.locator("#turns").screenshot({ path: new URL("ui_web_turns.png", ARTIFACTS).pathname })
    .catch(() => {});
  await page.reload();
  await check(); // from the `hello` snapshot
  assert.deepEqual(problems, []);
});

/**
 * The dashboard as a new user meets it (issue #20), in a real headless Chromium against the
 * real ui-web and a real Mosquitto: the camera view follows the port camera-service really
 * serves on (as `deno task dev` wires it), memory results read as text with who said it and
 * when, the icons are inline SVG (no emoji font needed: this machine has none), a banner says
 * when the LLM or STT backend is not configured or failing and how to fix it, and every
 * sentence of a spoken reply stays visible.
 *
 * With `TARS_SCREENSHOT=<path>` the first test also saves the dashboard there (the README's
 * docs/dashboard.png). Needs `-A`; skipped, with a message, when Chromium is not installed.
 */
import assert from "node:assert/strict";
import { topics } from "../../core/mod.ts";
import { devEnvFor, serviceTable } from "../../ops/services.ts";
import { chromiumSkipReason, launchChromium } from "../helpers/chromium.ts";
import { startUiWebHarness } from "../helpers/ui_web_harness.ts";
import { startMjpegServer } from "../helpers/ui_web_mjpeg.ts";
import { waitFor } from "../helpers/wait.ts";

const skip = chromiumSkipReason();
if (skip) console.warn(`SKIPPED tests/browser/ui_web_first_run_test.ts: ${skip}`);

/** Characters a browser can only draw with an emoji font. */
const EMOJI = /\p{Extended_Pictographic}/u;

const LLM_FIX = "LLM not configured: set OPENAI_API_KEY (for api.openai.com) or OPENAI_BASE_URL";

Deno.test({
  name: "dashboard first run: camera on a non-default port, memory as text, SVG icons, " +
    "backend banner, whole spoken reply",
  ignore: skip !== "",
  sanitizeOps: true,
  sanitizeResources: true,
}, async () => {
  // camera-service on a port that is not 8080, as with CAMERA_HTTP_PORT=18080 deno task dev:
  // ui-web gets the environment the launcher gives it.
  await using camera = await startMjpegServer();
  const cameraPort = new URL(camera.url).port;
  assert.notEqual(cameraPort, "8080");
  const uiEnv = devEnvFor(serviceTable["ui-web"], { CAMERA_HTTP_PORT: cameraPort });
  await using h = await startUiWebHarness({
    env: uiEnv,
    before: async (world) => {
      await world.publishEvent(topics.systemHealth, {
        ok: false,
        event: "llm_not_configured",
        err: `${LLM_FIX} / LLM_BASE_URL, then restart llm-worker.`,
      }, { params: { client_id: "tars-llm" } });
      await world.publishEvent(topics.systemHealth, { ok: true, event: "ready" }, {
        params: { client_id: "tars-stt" },
      });
      await world.publishEvent(
        topics.systemCharacterCurrent,
        { name: "TARS", description: "a sarcastic robot", traits: { humor: 75, honesty: 90 } },
      );
    },
  });
  await h.world.subscribe(topics.memoryQuery, async (query, ctx) => {
    await h.world.publishEvent(topics.memoryResults, {
      query: query.text,
      k: 2,
      results: [
        {
          document: { role: "user", lang: "en", confidence: 1, ts: 1, text: "I like green tea" },
          score: 0.91,
          timestamp: "2026-12-07T09:30:00.000Z",
        },
        {
          document: { role: "assistant", utt_id: "u1", text: "Noted: green tea, no sugar." },
          score: 0.5,
          timestamp: "2026-12-07T09:30:05.000Z",
        },
        { document: "a plain string memory", score: null },
      ],
    }, { correlationId: ctx.correlationId });
  });

  await using browser = await launchChromium();
  const context = await browser.newContext({ viewport: { width: 1400, height: 1000 } });
  const page = await context.newPage();
  const problems: string[] = [];
  page.on("pageerror", (error) => problems.push(`pageerror: ${error.message}`));
  page.on("console", (message) => {
    if (message.type() === "error") problems.push(`console: ${message.text()}`);
  });
  await page.goto(`${h.base}/`);
  await page.locator("#link.badge-online").waitFor();

  // 1. The camera: relayed from the port camera-service serves on.
  await waitFor(
    () =>
      page.locator("#camera").evaluate((img) =>
        (img as unknown as { naturalWidth: number }).naturalWidth > 0
      ),
    `camera frame shown from port ${cameraPort}`,
    10_000,
  );
  assert.equal(await page.locator("#camera-off").isHidden(), true);

  // 2. The banner: LLM not configured, with the fix; gone once llm-worker is ready.
  const banner = page.locator("#backend-banner");
  await banner.locator("li", { hasText: LLM_FIX }).waitFor();
  assert.match(await banner.innerText(), /language model/i);
  await h.world.publishEvent(topics.systemHealth, {
    ok: false,
    event: "transcriber_error",
    err: "STT server unreachable: http://127.0.0.1:9/v1 (connection refused)",
  }, { params: { client_id: "tars-stt" } });
  await banner.locator("li", { hasText: "STT server unreachable" }).waitFor();
  assert.match(await banner.innerText(), /speech recognition/i);

  // 3. A spoken reply of three sentences (three tts/say with one utt_id) stays whole.
  const sentences = ["Hello there.", "I am TARS.", "Humor is at seventy five percent."];
  for (const text of sentences) {
    await h.world.publishEvent(topics.ttsSay, { text, utt_id: "r1" });
  }
  const spoken = page.locator('#log li[data-key="tts:r1"] .text');
  await waitFor(
    async () => (await spoken.textContent()) === sentences.join(" "),
    "the whole spoken reply",
    10_000,
  );
  await h.world.publishEvent(topics.ttsStatus, {
    event: "speaking_start",
    text: sentences[2],
    utt_id: "r1",
  });
  await page.locator("#speaking:not([hidden])").waitFor();

  // 4. Memory results: text, who said it and when; no raw JSON.
  await page.locator("#memory-query").fill("tea");
  await page.locator("#memory-query").press("Enter");
  const results = page.locator("#memory-results li");
  await results.nth(2).waitFor();
  const first = results.nth(0);
  assert.equal(await first.locator(".text").textContent(), "I like green tea");
  assert.equal(await first.locator(".who").textContent(), "You");
  assert.equal(await first.locator("time").getAttribute("datetime"), "2026-12-07T09:30:00.000Z");
  assert.ok((await first.locator("time").textContent())?.trim(), "a readable time");
  assert.equal(await results.nth(1).locator(".who").textContent(), "TARS");
  assert.equal(
    await results.nth(1).locator(".text").textContent(),
    "Noted: green tea, no sugar.",
  );
  assert.equal(await results.nth(2).locator(".text").textContent(), "a plain string memory");
  const memoryText = await page.locator("#memory-results").innerText();
  assert.doesNotMatch(memoryText, /[{}"]/, `no JSON in the results: ${memoryText}`);

  // 5. Icons: inline SVG, and nothing on the page needs an emoji font.
  for (const selector of ["#sound", "#ptt", "#speaking", '#log li[data-key="tts:r1"] .who']) {
    assert.equal(await page.locator(`${selector} svg`).count(), 1, `${selector} has an SVG icon`);
  }
  await page.locator("#sound").click();
  assert.equal(await page.locator("#sound svg").count(), 1, "the sound icon after a toggle");
  assert.match(await page.locator("#sound").innerText(), /Sound on/);
  const body = await page.locator("body").innerText();
  assert.doesNotMatch(body, EMOJI, "no emoji on the page");

  const shot = Deno.env.get("TARS_SCREENSHOT");
  if (shot) await page.screenshot({ path: shot });

  // 6. Once both backends work again the banner goes away.
  await h.world.publishEvent(topics.systemHealth, { ok: true, event: "ready" }, {
    params: { client_id: "tars-llm" },
  });
  await h.world.publishEvent(topics.systemHealth, { ok: true, event: "ready" }, {
    params: { client_id: "tars-stt" },
  });
  await page.locator("#backend-banner[hidden]").waitFor({ state: "attached" });

  assert.deepEqual(problems, []);
  await context.close();
});

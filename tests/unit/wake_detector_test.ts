/**
 * The detector pipeline on real espeak-ng speech streamed in chunks of random sizes (odd byte
 * counts included): "hey jarvis" (two voices) gives exactly one detection at the py-tars
 * threshold 0.55, "alexa", another sentence and silence give none.
 */
import assert from "node:assert/strict";
import { WakeDetector } from "../../services/wake-activation/detector.ts";
import { bundledKeywordModel } from "../../services/wake-activation/models.ts";
import { OpenWakeWordScorer } from "../../services/wake-activation/openwakeword.ts";
import { readWakeConfig } from "../../services/wake-activation/config.ts";
import { makeWakeClips, randomChunks } from "../helpers/wake_audio.ts";
import { requireBinary } from "../helpers/binaries.ts";

Deno.test(
  "wake detector: fires once on 'hey jarvis', never on 'alexa', a sentence or silence",
  requireBinary("espeak-ng", "sox"),
  async () => {
    const clips = await makeWakeClips();
    const config = readWakeConfig({});
    const scorer = await OpenWakeWordScorer.load({ modelPath: bundledKeywordModel("hey_jarvis") });
    const detector = new WakeDetector(scorer, {
      gate: config.gate,
      energyWindowMs: config.energyWindowMs,
    });
    try {
      const run = async (pcm: Uint8Array, seed: number) => {
        await detector.reset();
        const found = [];
        for (const chunk of randomChunks(pcm, 4_000, seed)) {
          found.push(...await detector.push(chunk));
        }
        return found;
      };
      for (
        const [name, pcm] of [["en-us", clips.heyJarvis], ["en-gb", clips.heyJarvisGb]] as const
      ) {
        const found = await run(pcm, 3);
        assert.equal(found.length, 1, `${name}: ${JSON.stringify(found)}`);
        assert.ok(found[0].score >= 0.55, `${name} score ${found[0].score}`);
        assert.ok(found[0].energy > 0.01, `${name} energy ${found[0].energy}`);
        assert.equal(found[0].threshold, 0.55);
        // Detected within the spoken phrase (0.5 s lead silence, ~1 s of speech).
        assert.ok(found[0].streamSec > 0.6 && found[0].streamSec < 2.5, `${found[0].streamSec}`);
      }
      for (
        const [name, pcm] of [
          ["alexa", clips.alexa],
          ["sentence", clips.sentence],
          ["silence", clips.silence],
        ] as const
      ) {
        assert.deepEqual(await run(pcm, 11), [], name);
      }
      assert.ok(detector.stats.frames > 100);
      assert.ok(detector.stats.retriggers >= 0);
    } finally {
      await detector.close();
    }
  },
);

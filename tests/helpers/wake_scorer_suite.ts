/**
 * The shared test suite of wake-activation's `WakeScorer` implementations: every scorer
 * (each openWakeWord keyword model) is held to the same contract with real espeak-ng audio
 * through {@linkcode wakeScorerSuite}.
 *
 * @module
 */
import assert from "node:assert/strict";
import type { WakeScorer } from "../../services/wake-activation/scorer.ts";
import { samplesOf } from "./wake_audio.ts";

/** One scorer for the suite, with its clips; disposing it frees what the factory made. */
export interface ScorerFixture extends AsyncDisposable {
  /** The scorer (fresh: no audio seen yet). */
  readonly scorer: WakeScorer;
  /** The clip with this scorer's keyword (PCM16LE 16 kHz mono). */
  readonly positive: Uint8Array;
  /** The score the positive clip must exceed (0.5 is openWakeWord's default threshold). */
  readonly minPositive: number;
  /** Clips without it. */
  readonly negatives: readonly Uint8Array[];
}

/** The highest score over all whole frames of `pcm`. */
export async function maxScore(scorer: WakeScorer, pcm: Uint8Array): Promise<number> {
  const samples = samplesOf(pcm);
  let best = 0;
  for (let i = 0; i + scorer.frameSamples <= samples.length; i += scorer.frameSamples) {
    best = Math.max(best, await scorer.score(samples.subarray(i, i + scorer.frameSamples)));
  }
  return best;
}

/**
 * Registers the scorer cases under `name`. Every case gets a fresh fixture; the suite closes
 * the scorer, then disposes the fixture. `options` (e.g. `requireBinary(...)`) go to each test.
 */
export function wakeScorerSuite(
  name: string,
  make: () => Promise<ScorerFixture>,
  options: { ignore?: boolean } = {},
): void {
  const withScorer = (fn: (f: ScorerFixture) => Promise<void>) => async () => {
    await using fixture = await make();
    try {
      await fn(fixture);
    } finally {
      await fixture.scorer.close();
    }
  };

  Deno.test(
    `${name}: detects its keyword in real speech`,
    options,
    withScorer(async ({ scorer, positive, minPositive }) => {
      const score = await maxScore(scorer, positive);
      assert.ok(score > minPositive, `max score ${score}`);
    }),
  );

  Deno.test(
    `${name}: stays below 0.1 on other speech and silence`,
    options,
    withScorer(async ({ scorer, negatives }) => {
      for (const negative of negatives) {
        await scorer.reset();
        const score = await maxScore(scorer, negative);
        assert.ok(score < 0.1, `max score ${score}`);
      }
    }),
  );

  Deno.test(
    `${name}: reset makes scoring repeatable; warm-up frames score 0`,
    options,
    withScorer(async ({ scorer, positive }) => {
      const samples = samplesOf(positive);
      const run = async () => {
        await scorer.reset();
        const scores: number[] = [];
        for (let i = 0; i + scorer.frameSamples <= samples.length; i += scorer.frameSamples) {
          scores.push(await scorer.score(samples.subarray(i, i + scorer.frameSamples)));
        }
        return scores;
      };
      const first = await run();
      const second = await run();
      assert.deepEqual(second, first);
      assert.deepEqual(first.slice(0, 5), [0, 0, 0, 0, 0]);
    }),
  );

  Deno.test(
    `${name}: rejects frames of the wrong size and use after close`,
    options,
    withScorer(async ({ scorer }) => {
      await assert.rejects(() => scorer.score(new Int16Array(100)), RangeError);
      await scorer.close();
      await assert.rejects(() => scorer.score(new Int16Array(scorer.frameSamples)), /closed/);
      await scorer.close(); // idempotent
    }),
  );
}

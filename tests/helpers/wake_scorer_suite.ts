/**
 * The shared test suite of wake-activation's `WakeScorer` implementations: every scorer
 * (each openWakeWord keyword model) is held to the same contract with real espeak-ng audio.
 *
 * @module
 */
import assert from "node:assert/strict";
import type { WakeScorer } from "../../services/wake-activation/scorer.ts";
import type { WakeClips } from "./wake_audio.ts";
import { samplesOf } from "./wake_audio.ts";

/** A scorer under test and the clip it must detect. */
export interface ScorerCase {
  /** Test name prefix. */
  readonly name: string;
  /** Makes a fresh scorer. */
  readonly create: () => Promise<WakeScorer>;
  /** The clip with this scorer's keyword. */
  readonly positive: (clips: WakeClips) => Uint8Array;
  /** The score the positive clip must exceed (0.5 is openWakeWord's default threshold). */
  readonly minPositive: number;
  /** Clips without it. */
  readonly negatives: (clips: WakeClips) => Uint8Array[];
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
 * Registers the suite for one scorer. `clips` resolves the shared audio; `options` (e.g.
 * `requireBinary(...)`) go to each test.
 */
export function wakeScorerSuite(
  scorerCase: ScorerCase,
  clips: () => Promise<WakeClips>,
  options: { ignore?: boolean } = {},
): void {
  Deno.test(`${scorerCase.name}: detects its keyword in real speech`, options, async () => {
    const scorer = await scorerCase.create();
    try {
      const score = await maxScore(scorer, scorerCase.positive(await clips()));
      assert.ok(score > scorerCase.minPositive, `max score ${score}`);
    } finally {
      await scorer.close();
    }
  });

  Deno.test(
    `${scorerCase.name}: stays below 0.1 on other speech and silence`,
    options,
    async () => {
      const scorer = await scorerCase.create();
      try {
        for (const negative of scorerCase.negatives(await clips())) {
          await scorer.reset();
          const score = await maxScore(scorer, negative);
          assert.ok(score < 0.1, `max score ${score}`);
        }
      } finally {
        await scorer.close();
      }
    },
  );

  Deno.test(
    `${scorerCase.name}: reset makes scoring repeatable; warm-up frames score 0`,
    options,
    async () => {
      const scorer = await scorerCase.create();
      try {
        const positive = scorerCase.positive(await clips());
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
      } finally {
        await scorer.close();
      }
    },
  );

  Deno.test(
    `${scorerCase.name}: rejects frames of the wrong size and use after close`,
    options,
    async () => {
      const scorer = await scorerCase.create();
      await assert.rejects(() => scorer.score(new Int16Array(100)), RangeError);
      await scorer.close();
      await assert.rejects(() => scorer.score(new Int16Array(scorer.frameSamples)), /closed/);
      await scorer.close(); // idempotent
    },
  );
}

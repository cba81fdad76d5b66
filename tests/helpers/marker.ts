/**
 * "Nothing more arrives" without sleeping: after the probes, publish a marker through the
 * same path (same publisher, topic and QoS, or a topic the same subscription sees) and wait
 * until the subscriber has it. MQTT delivers one publisher's messages of one QoS on one topic
 * to a subscriber in order, so everything published before the marker has then been delivered,
 * or never will be; the assertions that follow see the final state.
 *
 * ```ts ignore
 * const got = await collect(watcher, "t/x");
 * for (const n of [1, 2, 3]) await raw.publishAsync("t/x", `${n}`, { qos: 1 });
 * await drainMarker(got, (marker) => raw.publishAsync("t/x", marker, { qos: 1 }), isCollected);
 * assert.deepEqual(got.map((m) => m.text), ["1", "2", "3"]); // the marker is removed
 * ```
 *
 * @module
 */
import { waitFor } from "./wait.ts";

/** Options of {@linkcode afterMarker} and {@linkcode drainMarker}. */
export interface MarkerOptions {
  /** What the marker stands for, for the timeout message (e.g. "the marker after the probes"). */
  readonly what?: string;
  /** How long to wait for the marker; default 5 s. */
  readonly timeoutMs?: number;
}

/** A fresh marker text, unique per call: `marker<10 lower-case letters>` (passes text filters). */
export function newMarker(): string {
  const letters = Array.from(
    crypto.getRandomValues(new Uint8Array(10)),
    (b) => String.fromCharCode(97 + (b % 26)),
  );
  return `marker${letters.join("")}`;
}

/**
 * Publishes a marker with `send` and resolves (with the marker) once `seen(marker)` is true.
 * `send` must take the probes' path; `seen` checks the subscriber's side.
 */
export async function afterMarker(
  send: (marker: string) => unknown,
  seen: (marker: string) => unknown,
  options: MarkerOptions = {},
): Promise<string> {
  const marker = newMarker();
  await send(marker);
  const what = options.what ?? "the marker published after the probes";
  await waitFor(() => seen(marker), `${what} (${marker})`, options.timeoutMs ?? 5_000);
  return marker;
}

/**
 * {@linkcode afterMarker} for a list the subscriber fills: waits until an entry of `list` is
 * the marker (`isMarker`), then removes the marker's entries, so `list` holds exactly what
 * arrived before it.
 */
export async function drainMarker<T>(
  list: T[],
  send: (marker: string) => unknown,
  isMarker: (item: T, marker: string) => boolean,
  options: MarkerOptions = {},
): Promise<void> {
  const marker = await afterMarker(
    send,
    (m) => list.some((item) => isMarker(item, m)),
    options,
  );
  for (let i = list.length - 1; i >= 0; i--) {
    if (isMarker(list[i], marker)) list.splice(i, 1);
  }
}

/** `isMarker` for the lists of `collect()` (tests/helpers/wait.ts): the text contains it. */
export function isCollected(item: { text: string }, marker: string): boolean {
  return item.text.includes(marker);
}

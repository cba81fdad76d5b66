import assert from "node:assert/strict";
import { HealthPing } from "../../core/mod.ts";
import {
  HealthBoard,
  KNOWN_CLIENT_IDS,
  type ServiceHealth,
} from "../../services/ui-web/health_board.ts";

function board(staleAfterMs = 10_000) {
  let now = 1_000_000;
  const changes: ServiceHealth[] = [];
  const b = new HealthBoard({ staleAfterMs, now: () => now, onChange: (h) => changes.push(h) });
  return {
    b,
    changes,
    advance(ms: number) {
      now += ms;
      b.check();
    },
  };
}
const ping = (input: Record<string, unknown>) => HealthPing.parse(input);

Deno.test("health board: a waiting tile per known service, in order", () => {
  const { b } = board();
  const tiles = b.snapshot();
  assert.deepEqual(tiles.map((t) => t.clientId), [...KNOWN_CLIENT_IDS]);
  assert.ok(tiles.every((t) => t.state === "waiting"));
});

Deno.test("health board: starting, ready, error, lost, shutdown from health pings", () => {
  const { b, changes } = board();
  b.applyHealth("tars-stt", ping({ ok: false, event: "starting" }));
  assert.equal(b.get("tars-stt")?.state, "starting");
  b.applyHealth("tars-stt", ping({ ok: true, event: "ready" }));
  assert.equal(b.get("tars-stt")?.state, "ready");
  b.applyHealth("tars-stt", ping({ ok: false, event: "error", err: "no microphone" }));
  assert.equal(b.get("tars-stt")?.state, "error");
  assert.equal(b.get("tars-stt")?.err, "no microphone");
  b.applyHealth("tars-stt", ping({ ok: false, event: "lost" }));
  assert.equal(b.get("tars-stt")?.state, "lost");
  b.applyHealth("tars-stt", ping({ ok: false, event: "shutdown" }));
  assert.equal(b.get("tars-stt")?.state, "shutdown");
  assert.deepEqual(changes.map((c) => c.state), [
    "starting",
    "ready",
    "error",
    "lost",
    "shutdown",
  ]);
  // Unknown clients get a tile after the known ones, sorted by id.
  b.applyHealth("zeta", ping({ ok: true }));
  b.applyHealth("alpha", ping({ ok: true }));
  assert.deepEqual(b.snapshot().slice(-2).map((t) => t.clientId), ["alpha", "zeta"]);
});

Deno.test("health board: stale only for clients that sent heartbeats and stopped", () => {
  const { b, changes, advance } = board(10_000);
  b.applyHealth("tars-router", ping({ ok: true, event: "ready" }));
  b.applyHealth("tars-llm", ping({ ok: true, event: "ready" })); // no heartbeats: never stale
  b.applyHeartbeat("tars-router");
  advance(9_000);
  assert.equal(b.get("tars-router")?.state, "ready");
  b.applyHeartbeat("tars-router");
  advance(9_000);
  assert.equal(b.get("tars-router")?.state, "ready");
  advance(2_000);
  assert.equal(b.get("tars-router")?.state, "stale");
  assert.equal(b.get("tars-llm")?.state, "ready");
  b.applyHeartbeat("tars-router");
  assert.equal(b.get("tars-router")?.state, "ready");
  // A clean shutdown is not "stale" even though the beats stop.
  b.applyHealth("tars-router", ping({ ok: false, event: "shutdown" }));
  advance(60_000);
  assert.equal(b.get("tars-router")?.state, "shutdown");
  const router = changes.filter((c) => c.clientId === "tars-router").map((c) => c.state);
  // The first beat changes the tile too (it now shows when the last beat came).
  assert.deepEqual(router, ["ready", "ready", "stale", "ready", "shutdown"]);
});

Deno.test("health board: beats without a retained health still show ready", () => {
  const { b, advance } = board(1_000);
  b.applyHeartbeat("tars-tts");
  assert.equal(b.get("tars-tts")?.state, "ready");
  advance(1_500);
  assert.equal(b.get("tars-tts")?.state, "stale");
});

Deno.test("health board: tracks a bounded number of clients; the timer stops", () => {
  const b = new HealthBoard({ staleAfterMs: 1_000, known: [], maxClients: 3 });
  for (let i = 0; i < 10; i++) b.applyHealth(`c${i}`, ping({ ok: true }));
  assert.equal(b.snapshot().length, 3);
  b.start();
  b.start();
  b.stop();
});

// The last conversation turns as a waterfall, one row per stage (as Home Assistant's Assist
// debug view does): each bar starts and ends at the publisher timestamps of the messages that
// bound the stage (see services/ui-web/turn_trace.ts). The server sends whole turns: `hello`
// has the last ones, each `turn` event replaces one.

/** Stage names as the page labels them, in waterfall order. */
const LABELS = {
  listen: "wake → speech",
  speech: "user speaking",
  stt: "speech end → stt/final",
  route: "router decision",
  llm: "LLM first token",
  sentence: "first sentence",
  tts: "tts/say → first audio",
  playback: "playback",
};

/** Turns shown at most (the server keeps more). */
const SHOWN = 5;

/** Draws turns into `list` (an <ol>), newest first. */
export class TurnsView {
  #list;
  #turns = new Map(); // turn_id -> turn

  constructor(list) {
    this.#list = list;
  }

  /** Replaces every turn (a `hello`). */
  reset(turns) {
    this.#turns.clear();
    for (const turn of turns ?? []) this.#turns.set(turn.turn_id, turn);
    this.#render();
  }

  /** Adds or replaces one turn (a `turn` event). */
  upsert(turn) {
    this.#turns.delete(turn.turn_id); // re-inserted last: newest
    this.#turns.set(turn.turn_id, turn);
    while (this.#turns.size > SHOWN) this.#turns.delete(this.#turns.keys().next().value);
    this.#render();
  }

  #render() {
    const items = [...this.#turns.values()].reverse().map(renderTurn);
    this.#list.replaceChildren(...items);
  }
}

function renderTurn(turn) {
  const li = document.createElement("li");
  li.className = "turn";
  li.dataset.turn = turn.turn_id;
  li.dataset.done = String(turn.done);
  const head = document.createElement("div");
  head.className = "turn-head";
  const text = document.createElement("span");
  text.className = "turn-text";
  text.textContent = turn.text ? `“${turn.text}”` : "(no transcript)";
  const gap = document.createElement("span");
  gap.className = "turn-gap";
  gap.title = "End of speech to the first audio chunk";
  gap.textContent = turn.response_ms == null ? "…" : `${Math.round(turn.response_ms)} ms`;
  head.append(text, gap);
  if (turn.decision) {
    const decision = document.createElement("span");
    decision.className = "turn-decision";
    decision.textContent = turn.decision;
    head.append(decision);
  }
  const span = Math.max(1, ...turn.stages.map((s) => s.start_ms + s.ms));
  const rows = document.createElement("div");
  rows.className = "waterfall";
  for (const stage of turn.stages) {
    const row = document.createElement("div");
    row.className = "wf-row";
    row.dataset.stage = stage.stage;
    const label = document.createElement("span");
    label.className = "wf-label";
    label.textContent = LABELS[stage.stage] ?? stage.stage;
    const track = document.createElement("span");
    track.className = "wf-track";
    const bar = document.createElement("span");
    bar.className = `wf-bar wf-${stage.stage}`;
    // CSSOM properties, which the page's style-src 'self' allows (style attributes it would not).
    bar.style.left = `${(100 * stage.start_ms) / span}%`;
    bar.style.width = `${Math.max(0.5, (100 * stage.ms) / span)}%`;
    track.append(bar);
    const ms = document.createElement("span");
    ms.className = "wf-ms";
    ms.textContent = `${stage.ms < 10 ? stage.ms.toFixed(1) : Math.round(stage.ms)} ms`;
    row.append(label, track, ms);
    rows.append(row);
  }
  li.append(head, rows);
  return li;
}

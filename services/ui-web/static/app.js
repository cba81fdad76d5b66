// TARS dashboard: plain JS, no build step. Live state comes from /events (Server-Sent
// Events); actions are JSON POSTs to /api/*; the microphone streams over /ws/mic; the camera
// is relayed by the server on /camera/stream. With UI_TOKEN set, every one of them needs the
// token: a header for fetch, the `token` query parameter where the browser cannot add one.

import { TurnsView } from "./turns.js";

const $ = (id) => document.getElementById(id);

// Inline SVG icons: they need no emoji font (a fresh Linux box often has none).
const ICONS = {
  soundOff: '<path d="M4 9h4l5-4v14l-5-4H4z"/><path d="M17 9l4 6M21 9l-4 6"/>',
  soundOn:
    '<path d="M4 9h4l5-4v14l-5-4H4z"/><path d="M16.5 8.5a5 5 0 0 1 0 7M19 6a8.5 8.5 0 0 1 0 12"/>',
};
/** An `<svg class="icon">` element from one of {@link ICONS}. */
function icon(name) {
  const svg = document.createElementNS("http://www.w3.org/2000/svg", "svg");
  svg.setAttribute("class", "icon");
  svg.setAttribute("viewBox", "0 0 24 24");
  svg.setAttribute("aria-hidden", "true");
  svg.innerHTML = ICONS[name];
  return svg;
}
const state = {
  config: { cameraUrl: "", tokenRequired: false, movementCommands: [] },
  entries: new Map(), // key -> <li>
  health: new Map(), // clientId -> <li>
  healthData: new Map(),
};

let turns = null;
/** The waterfall of the last turns (static/turns.js). */
function turnsView() {
  turns ??= new TurnsView($("turns"));
  return turns;
}

// ------------------------------------------------------------------ live events
let source = null;
let retryTimer;

// Asks /api/state first: a 401 there means the token is missing or wrong (an EventSource
// cannot tell), so the token box is shown and the page waits for one.
async function connectEvents() {
  clearTimeout(retryTimer);
  source?.close();
  source = null;
  const t = token();
  let probe;
  try {
    probe = await fetch("/api/state", { headers: t ? { "x-ui-token": t } : {} });
    await probe.body?.cancel();
  } catch {
    setLink("offline", "server unreachable");
    retryTimer = setTimeout(connectEvents, 3000);
    return;
  }
  if (probe.status === 401) {
    $("token-box").hidden = false;
    setLink("offline", t ? "wrong token" : "token needed");
    $("token").focus();
    return; // a new token reconnects
  }
  if (!probe.ok) {
    setLink("offline", `server error ${probe.status}`);
    retryTimer = setTimeout(connectEvents, 3000);
    return;
  }
  source = new EventSource(withToken("/events"));
  const mine = source;
  source.onmessage = (message) => {
    let event;
    try {
      event = JSON.parse(message.data);
    } catch {
      return;
    }
    handleEvent(event);
  };
  source.onerror = () => {
    setLink("offline", "server unreachable");
    // EventSource retries by itself unless the answer was an error status (closed).
    if (mine === source && mine.readyState === EventSource.CLOSED) {
      retryTimer = setTimeout(connectEvents, 3000);
    }
  };
}

/** `path` with the token as query parameter, for what cannot send headers. */
function withToken(path) {
  const t = token();
  const url = new URL(path, location.href);
  if (t) url.searchParams.set("token", t);
  return url.pathname + url.search;
}

function handleEvent(event) {
  switch (event.type) {
    case "hello":
      applyHello(event);
      break;
    case "entry":
      upsertEntry(event.entry);
      break;
    case "partial":
      showPartial(event.text);
      break;
    case "health":
      upsertHealth(event.health);
      break;
    case "tts.status":
      showTts(event.tts);
      break;
    case "tts.audio":
      player.push(event.audio);
      break;
    case "character":
      showCharacter(event.character);
      break;
    case "turn":
      turnsView().upsert(event.turn);
      break;
    case "bridge":
      setLink(event.connected ? "online" : "offline", event.connected ? "live" : "MQTT down");
      break;
  }
}

function applyHello(hello) {
  state.config = hello.config;
  $("token-box").hidden = !hello.config.tokenRequired;
  setLink(hello.connected ? "online" : "offline", hello.connected ? "live" : "MQTT down");
  $("log").replaceChildren();
  state.entries.clear();
  for (const entry of hello.conversation) upsertEntry(entry);
  $("health").replaceChildren();
  state.health.clear();
  state.healthData.clear();
  for (const health of hello.health) upsertHealth(health);
  if (hello.character) showCharacter(hello.character);
  if (hello.tts) showTts(hello.tts);
  turnsView().reset(hello.turns);
  buildMoves(hello.config.movementCommands);
  startCamera();
}

function setLink(kind, text) {
  const link = $("link");
  link.className = `badge badge-${kind}`;
  link.textContent = text;
}

// ------------------------------------------------------------------ conversation
const WHO = { user: "You", assistant: "TARS", tts: "speaking" };

function upsertEntry(entry) {
  let li = state.entries.get(entry.key);
  const log = $("log");
  const atBottom = log.scrollHeight - log.scrollTop - log.clientHeight < 40;
  if (!li) {
    li = document.createElement("li");
    li.dataset.key = entry.key;
    li.innerHTML = '<span class="who"></span><span class="text"></span>';
    state.entries.set(entry.key, li);
    log.append(li);
  }
  li.className = `${entry.kind}${entry.done ? "" : " streaming"}`;
  const who = entry.kind === "user" && entry.source && entry.source !== "ui-web"
    ? `You (${entry.source})`
    : WHO[entry.kind];
  if (entry.kind === "tts") li.querySelector(".who").replaceChildren(icon("soundOn"), ` ${who}`);
  else li.querySelector(".who").textContent = who;
  li.querySelector(".text").textContent = entry.text;
  let err = li.querySelector(".error");
  if (entry.error) {
    if (!err) {
      err = document.createElement("span");
      err.className = "error";
      li.append(err);
    }
    err.textContent = `Error: ${entry.error}`;
  } else if (err) {
    err.remove();
  }
  if (entry.kind === "user") showPartial("");
  if (atBottom) log.scrollTop = log.scrollHeight;
}

function showPartial(text) {
  const p = $("partial");
  p.hidden = !text;
  p.textContent = text ? `hearing: ${text}…` : "";
}

function showTts(tts) {
  const badge = $("speaking");
  const speaking = tts.event === "speaking_start" || tts.event === "resumed";
  badge.hidden = !speaking && tts.event !== "paused";
  badge.className = `badge ${speaking ? "badge-speaking" : "badge-idle"}`;
  badge.querySelector(".label").textContent = tts.event === "paused" ? "paused" : "speaking";
  badge.title = tts.text || "";
}

// ------------------------------------------------------------------ health
function upsertHealth(health) {
  state.healthData.set(health.clientId, health);
  let li = state.health.get(health.clientId);
  if (!li) {
    li = document.createElement("li");
    li.className = "tile";
    li.dataset.client = health.clientId;
    li.innerHTML =
      '<span class="name"></span><span class="badge"></span><span class="detail"></span>';
    li.querySelector(".name").textContent = health.clientId;
    state.health.set(health.clientId, li);
    $("health").append(li);
  }
  li.dataset.state = health.state;
  const badge = li.querySelector(".badge");
  badge.className = `badge badge-${health.state}`;
  badge.textContent = health.state;
  li.querySelector(".detail").textContent = healthDetail(health);
  showBackendBanner();
}

// The backends TARS cannot work without: their error (ok:false health, e.g. llm-worker's
// "LLM not configured: set ...") is shown above everything, with the fix it names.
const BACKENDS = {
  "tars-llm": "Language model (llm-worker)",
  "tars-stt": "Speech recognition (stt-worker)",
};

function showBackendBanner() {
  const banner = $("backend-banner");
  const list = banner.querySelector("ul");
  const items = [];
  for (const [clientId, label] of Object.entries(BACKENDS)) {
    const health = state.healthData.get(clientId);
    if (health?.state !== "error") continue;
    items.push(item(`${label}: ${health.err || health.event || "not working"}`));
  }
  list.replaceChildren(...items);
  banner.hidden = items.length === 0;
}

function healthDetail(health) {
  if (health.err) return health.err;
  const parts = [];
  if (health.event && health.event !== health.state) parts.push(health.event);
  if (health.lastBeatAt) parts.push(`beat ${ago(health.lastBeatAt)}`);
  else if (health.updatedAt) parts.push(ago(health.updatedAt));
  return parts.join(" · ");
}

function ago(ms) {
  const s = Math.max(0, Math.round((Date.now() - ms) / 1000));
  if (s < 60) return `${s}s ago`;
  if (s < 3600) return `${Math.round(s / 60)}m ago`;
  return `${Math.round(s / 3600)}h ago`;
}

setInterval(() => {
  for (const [id, li] of state.health) {
    li.querySelector(".detail").textContent = healthDetail(state.healthData.get(id));
  }
}, 5000);

// ------------------------------------------------------------------ actions
function token() {
  return $("token").value || localStorage.getItem("tars-ui-token") || "";
}

async function post(path, body) {
  const headers = { "content-type": "application/json" };
  const t = token();
  if (t) headers["x-ui-token"] = t;
  let response;
  try {
    response = await fetch(path, { method: "POST", headers, body: JSON.stringify(body ?? {}) });
  } catch (err) {
    notice(`Could not reach the server: ${err.message}`, true);
    return null;
  }
  const data = await response.json().catch(() => ({}));
  if (!response.ok) {
    notice(data.error ?? `${path} failed with HTTP ${response.status}`, true);
    if (response.status === 401) $("token-box").hidden = false;
    return null;
  }
  return data;
}

let noticeTimer;
function notice(text, bad = false) {
  const n = $("notice");
  n.textContent = text;
  n.className = bad ? "notice bad" : "notice";
  n.hidden = false;
  clearTimeout(noticeTimer);
  noticeTimer = setTimeout(() => (n.hidden = true), 6000);
}

$("token").addEventListener("change", () => {
  localStorage.setItem("tars-ui-token", $("token").value);
  $("camera").dataset.src = "";
  connectEvents();
});
$("token").value = localStorage.getItem("tars-ui-token") ?? "";

$("say-form").addEventListener("submit", async (event) => {
  event.preventDefault();
  const input = $("say-text");
  const text = input.value.trim();
  if (!text) return;
  if (await post("/api/say", { text })) input.value = "";
});

$("estop").addEventListener("click", async () => {
  if (await post("/api/stop", { reason: "e-stop button on ui-web" })) {
    notice("Emergency stop sent.");
  }
});
$("clear-stop").addEventListener("click", async () => {
  if (await post("/api/clear", { reason: "cleared on ui-web" })) notice("Emergency stop cleared.");
});
$("speed").addEventListener(
  "input",
  () => ($("speed-out").textContent = Number($("speed").value).toFixed(1)),
);

function buildMoves(commands) {
  const box = $("moves");
  box.replaceChildren();
  // move_legs / move_arm need percentages; the buttons send the parameterless commands.
  for (const command of commands.filter((c) => c !== "move_legs" && c !== "move_arm")) {
    const button = document.createElement("button");
    button.type = "button";
    button.textContent = command.replaceAll("_", " ");
    button.dataset.command = command;
    button.addEventListener(
      "click",
      () => post("/api/move", { command, speed: Number($("speed").value) }),
    );
    box.append(button);
  }
}

$("memory-form").addEventListener("submit", async (event) => {
  event.preventDefault();
  const query = $("memory-query").value.trim();
  if (!query) return;
  const list = $("memory-results");
  list.replaceChildren(item("Searching…", "muted"));
  const data = await post("/api/memory", { query, k: Number($("memory-k").value) || 5 });
  list.replaceChildren();
  if (!data) return;
  if (data.results.length === 0) list.append(item("Nothing found.", "muted"));
  for (const result of data.results) list.append(memoryItem(result));
});

const ROLES = { user: "You", assistant: "TARS", fact: "Fact" };

/** One memory/results entry: who said it, when, and the text (never the raw document). */
function memoryItem(result) {
  const doc = result.document;
  const fields = typeof doc === "object" && doc !== null ? doc : {};
  const text = typeof doc === "string"
    ? doc
    : typeof fields.text === "string"
    ? fields.text
    : Object.values(fields).filter((v) => typeof v === "string").join(" ");
  const li = document.createElement("li");
  const head = document.createElement("span");
  head.className = "meta";
  if (typeof fields.role === "string") {
    const who = document.createElement("span");
    who.className = "who";
    who.textContent = ROLES[fields.role] ?? fields.role;
    head.append(who);
  }
  const when = memoryTime(result.timestamp, fields.ts);
  if (when) {
    const time = document.createElement("time");
    time.dateTime = when.toISOString();
    time.textContent = when.toLocaleString();
    head.append(time);
  }
  if (typeof result.score === "number") {
    const score = document.createElement("span");
    score.className = "score";
    score.textContent = result.score.toFixed(3);
    head.append(score);
  }
  const body = document.createElement("span");
  body.className = "text";
  body.textContent = text;
  if (head.childElementCount > 0) li.append(head);
  li.append(body);
  return li;
}

/** The result's ISO `timestamp`, else the document's `ts` (epoch seconds or ms). */
function memoryTime(timestamp, ts) {
  let date = typeof timestamp === "string" ? new Date(timestamp) : null;
  if ((!date || isNaN(date)) && typeof ts === "number" && ts > 1e8) {
    date = new Date(ts > 1e11 ? ts : ts * 1000);
  }
  return date && !isNaN(date) ? date : null;
}

function item(text, className) {
  const li = document.createElement("li");
  li.textContent = text;
  if (className) li.className = className;
  return li;
}

// ------------------------------------------------------------------ character
function showCharacter(character) {
  $("char-name").textContent = character.description
    ? `${character.name}: ${character.description}`
    : character.name;
  const list = $("traits");
  list.replaceChildren();
  for (const [trait, value] of Object.entries(character.traits ?? {})) {
    const li = document.createElement("li");
    const label = document.createElement("span");
    label.textContent = trait;
    const slider = document.createElement("input");
    slider.type = "range";
    slider.min = "0";
    slider.max = "100";
    slider.value = String(value);
    slider.setAttribute("aria-label", trait);
    const out = document.createElement("output");
    out.textContent = String(value);
    slider.addEventListener("input", () => (out.textContent = slider.value));
    slider.addEventListener(
      "change",
      () => post("/api/character", { trait, value: Number(slider.value) }),
    );
    li.append(label, slider, out);
    list.append(li);
  }
}
$("reset-traits").addEventListener(
  "click",
  () => post("/api/character", { action: "reset_traits" }),
);

// ------------------------------------------------------------------ camera
function startCamera() {
  const img = $("camera");
  if (!state.config.cameraUrl) return;
  const src = withToken(state.config.cameraUrl);
  if (img.dataset.src === src) return;
  img.dataset.src = src;
  img.onerror = () => {
    img.hidden = true;
    $("camera-off").hidden = false;
  };
  img.onload = () => {
    img.hidden = false;
    $("camera-off").hidden = true;
  };
  img.src = src;
}
$("camera-retry").addEventListener("click", () => {
  const img = $("camera");
  const src = withToken(state.config.cameraUrl);
  img.src = `${src}${src.includes("?") ? "&" : "?"}t=${Date.now()}`;
});

// ------------------------------------------------------------------ speaker: tts/audio
const player = {
  ctx: null,
  nextTime: 0,
  streams: new Map(), // utt_id -> { next, pending: Map<seq, chunk> }
  enabled: false,
  enable() {
    this.ctx ??= new AudioContext();
    this.ctx.resume();
    this.enabled = true;
  },
  disable() {
    this.enabled = false;
    this.ctx?.suspend();
  },
  push(chunk) {
    if (!this.enabled || !this.ctx || chunk.format !== "pcm_s16le") return;
    let stream = this.streams.get(chunk.utt_id);
    if (!stream) {
      stream = { next: 0, pending: new Map() };
      this.streams.set(chunk.utt_id, stream);
      while (this.streams.size > 8) this.streams.delete(this.streams.keys().next().value);
    }
    if (chunk.seq < stream.next) return; // repeat
    stream.pending.set(chunk.seq, chunk);
    // Play in seq order; a chunk lost for more than 8 later ones is skipped.
    while (stream.pending.has(stream.next) || stream.pending.size > 8) {
      if (!stream.pending.has(stream.next)) stream.next++;
      const next = stream.pending.get(stream.next);
      if (!next) continue;
      stream.pending.delete(stream.next);
      stream.next++;
      this.play(next);
    }
    if (chunk.final && stream.pending.size === 0) this.streams.delete(chunk.utt_id);
  },
  play(chunk) {
    const bytes = Uint8Array.from(atob(chunk.data), (c) => c.charCodeAt(0));
    const samples = new Int16Array(bytes.buffer, 0, bytes.length >> 1);
    if (samples.length === 0) return;
    const buffer = this.ctx.createBuffer(1, samples.length, chunk.sample_rate);
    const channel = buffer.getChannelData(0);
    for (let i = 0; i < samples.length; i++) channel[i] = samples[i] / 32768;
    const node = this.ctx.createBufferSource();
    node.buffer = buffer;
    node.connect(this.ctx.destination);
    this.nextTime = Math.max(this.nextTime, this.ctx.currentTime + 0.05);
    node.start(this.nextTime);
    this.nextTime += buffer.duration;
    // Last chunks scheduled (utt:seq), for tests and debugging in the inspector.
    const sound = $("sound");
    const order = (sound.dataset.played ?? "").split(" ").filter(Boolean);
    order.push(`${chunk.utt_id}:${chunk.seq}`);
    sound.dataset.played = order.slice(-20).join(" ");
  },
};
$("sound").addEventListener("click", () => {
  const label = $("sound").querySelector(".label");
  if (player.enabled) player.disable();
  else player.enable();
  $("sound").replaceChildren(icon(player.enabled ? "soundOn" : "soundOff"), label);
  label.textContent = player.enabled ? "Sound on" : "Sound off";
});

// ------------------------------------------------------------------ microphone: push-to-talk
const mic = {
  ctx: null,
  node: null,
  stream: null,
  socket: null,
  active: false,
  async start() {
    if (this.active) return;
    this.active = true;
    $("ptt").classList.add("active");
    try {
      if (!navigator.mediaDevices?.getUserMedia) {
        throw new Error("this browser needs https or localhost for the microphone");
      }
      const t = token();
      const url = new URL("/ws/mic", location.href);
      url.protocol = location.protocol === "https:" ? "wss:" : "ws:";
      if (t) url.searchParams.set("token", t);
      this.socket = new WebSocket(url);
      this.socket.binaryType = "arraybuffer";
      this.socket.onclose = (event) => {
        if (this.active && event.code !== 1000) notice("Microphone connection closed.", true);
      };
      this.stream = await navigator.mediaDevices.getUserMedia({
        audio: { channelCount: 1, echoCancellation: true, noiseSuppression: true },
      });
      this.ctx ??= new AudioContext();
      await this.ctx.resume();
      await this.ctx.audioWorklet.addModule("/static/mic-worklet.js");
      const source = this.ctx.createMediaStreamSource(this.stream);
      this.node = new AudioWorkletNode(this.ctx, "pcm16k-capture");
      this.node.port.onmessage = (event) => {
        if (this.socket?.readyState === WebSocket.OPEN) this.socket.send(event.data);
      };
      source.connect(this.node);
      if (!this.active) this.stop();
    } catch (err) {
      notice(`Microphone unavailable: ${err.message}`, true);
      this.stop();
    }
  },
  stop() {
    this.active = false;
    $("ptt").classList.remove("active");
    this.node?.disconnect();
    this.node = null;
    for (const track of this.stream?.getTracks() ?? []) track.stop();
    this.stream = null;
    this.socket?.close(1000);
    this.socket = null;
  },
};
const ptt = $("ptt");
ptt.addEventListener("pointerdown", (event) => {
  ptt.setPointerCapture(event.pointerId);
  mic.start();
});
for (const type of ["pointerup", "pointercancel", "lostpointercapture"]) {
  ptt.addEventListener(type, () => mic.active && mic.stop());
}
ptt.addEventListener("keydown", (event) => {
  if ((event.key === " " || event.key === "Enter") && !event.repeat) mic.start();
});
ptt.addEventListener("keyup", () => mic.active && mic.stop());

connectEvents();

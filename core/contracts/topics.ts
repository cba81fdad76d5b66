/**
 * The topic table: every MQTT topic of TARS with its event type, payload schema, wire
 * encoding, QoS, retain flag and the services that publish and subscribe it. Services,
 * `docs/topics.md` and `docs/asyncapi.yaml` are all derived from it.
 *
 * QoS follows the py-tars publisher except where py-tars used QoS 0 for a message whose
 * loss breaks a conversation; those rows say why in their description.
 *
 * The rows are built by {@linkcode defineTopic} (`topic_row.ts`); looking a concrete topic up in
 * the table is `topic_lookup.ts`.
 *
 * @module
 */
import type { TopicSpec } from "./topic.ts";
import { defineTopic } from "./topic_row.ts";
import {
  CameraCaptureRequest,
  CameraFrame,
  CameraImageResponse,
  CameraStatusUpdate,
} from "./payloads/camera.ts";
import {
  CharacterGetRequest,
  CharacterResult,
  CharacterSnapshot,
  CharacterUpdate,
} from "./payloads/character.ts";
import { HealthPing } from "./payloads/health.ts";
import { HaDiscoveryConfig, LiveModeCommand, LiveModeState } from "./payloads/home_assistant.ts";
import {
  LLMCancel,
  LLMRequest,
  LLMResponse,
  LLMStreamDelta,
  ToolCallRequest,
  ToolCallResult,
  ToolsRegistry,
} from "./payloads/llm.ts";
import { MemoryQuery, MemoryResults, MemoryStore } from "./payloads/memory.ts";
import {
  EmergencyStopCommand,
  MovementControllerState,
  MovementStatusUpdate,
  ServoFrame,
  TestMovementRequest,
} from "./payloads/movement.ts";
import { FinalTranscript, PartialTranscript, SpeechActivity } from "./payloads/stt.ts";
import { HeartbeatPayload, SystemMetrics } from "./payloads/system.ts";
import { TurnTiming } from "./payloads/turn.ts";
import { TtsAudioChunk, TtsControl, TtsSay, TtsStatus } from "./payloads/tts.ts";
import { WakeEvent, WakeMicCommand } from "./payloads/wake.ts";

const KIB = 1024;
const MIB = 1024 * KIB;

/** Every topic of TARS, keyed by a camelCase name. */
export const topics = {
  // ------------------------------------------------------------------ speech to text
  sttFinal: defineTopic({
    name: "sttFinal",
    topic: "stt/final",
    eventType: "stt.final",
    schema: FinalTranscript,
    qos: 1,
    publishers: ["stt-worker", "ui-web"],
    subscribers: ["router", "memory-worker", "wake-activation", "ui-web", "ha-bridge"],
    description: "A finished, accepted utterance; its message_id becomes the llm/request id.",
  }),
  sttPartial: defineTopic({
    name: "sttPartial",
    topic: "stt/partial",
    eventType: "stt.partial",
    schema: PartialTranscript,
    qos: 0,
    publishers: ["stt-worker"],
    subscribers: ["ui-web"],
    description: "Text of the utterance still being spoken (display only, may be dropped).",
  }),
  sttVad: defineTopic({
    name: "sttVad",
    topic: "stt/vad",
    eventType: "stt.vad",
    schema: SpeechActivity,
    qos: 1,
    publishers: ["stt-worker"],
    subscribers: ["wake-activation", "router", "ui-web"],
    description: "Speech started/ended while the mic listened: wake-activation holds its session " +
      "meanwhile, the router admits the final. Not in py-tars.",
  }),

  // ------------------------------------------------------------------ wake word
  wakeEvent: defineTopic({
    name: "wakeEvent",
    topic: "wake/event",
    eventType: "wake.event",
    schema: WakeEvent,
    qos: 1,
    publishers: ["wake-activation"],
    subscribers: ["router", "stt-worker", "ui-web"],
    description: "Wake lifecycle: wake, interrupt, timeout, resume, cancelled, error.",
  }),
  wakeMic: defineTopic({
    name: "wakeMic",
    topic: "wake/mic",
    eventType: "mic.control",
    schema: WakeMicCommand,
    qos: 1,
    publishers: ["wake-activation"],
    subscribers: ["stt-worker"],
    description: "Mute or unmute the STT microphone, optionally for ttl_ms " +
      "(py-tars sends event type mic.control although its registry says wake.mic).",
  }),

  // ------------------------------------------------------------------ text to speech
  ttsSay: defineTopic({
    name: "ttsSay",
    topic: "tts/say",
    eventType: "tts.say",
    schema: TtsSay,
    qos: 1,
    publishers: ["router", "llm-worker", "ha-bridge"],
    subscribers: ["tts-worker", "stt-worker", "memory-worker", "ui-web"],
    maxBytes: 256 * KIB,
    description: "Text to speak; stt-worker also uses it for echo suppression, memory-worker " +
      "stores it.",
  }),
  ttsStatus: defineTopic({
    name: "ttsStatus",
    topic: "tts/status",
    eventType: "tts.status",
    schema: TtsStatus,
    qos: 1,
    publishers: ["tts-worker"],
    subscribers: ["router", "stt-worker", "wake-activation", "ui-web"],
    maxBytes: 256 * KIB,
    description: "Playback transitions. QoS 1 (py-tars: 0) because a lost speaking_end " +
      "leaves the microphone muted and the response window closed.",
  }),
  ttsControl: defineTopic({
    name: "ttsControl",
    topic: "tts/control",
    eventType: "tts.control",
    schema: TtsControl,
    qos: 1,
    acceptsRaw: true,
    publishers: ["wake-activation"],
    subscribers: ["tts-worker"],
    description: "Pause, resume or stop playback; raw JSON accepted (py-tars tts-worker " +
      "only parses raw).",
  }),
  ttsAudio: defineTopic({
    name: "ttsAudio",
    topic: "tts/audio",
    eventType: "tts.audio",
    schema: TtsAudioChunk,
    qos: 0,
    publishers: ["tts-worker"],
    subscribers: ["ui-web"],
    maxBytes: 256 * KIB,
    description: "Synthesized speech as ~100 ms PCM16LE mono chunks (base64) for the browser " +
      "speaker (TTS_SINK=mqtt); final marks an utterance's last chunk. Not in py-tars.",
  }),

  // ------------------------------------------------------------------ LLM
  llmRequest: defineTopic({
    name: "llmRequest",
    topic: "llm/request",
    eventType: "llm.request",
    schema: LLMRequest,
    qos: 1,
    publishers: ["router"],
    subscribers: ["llm-worker", "ui-web"],
    maxBytes: 1 * MIB,
    description: "A request for a reply; its envelope id (the transcript's message_id) is " +
      "reused by every llm/stream chunk, the llm/response and the memory/query.",
  }),
  llmStream: defineTopic({
    name: "llmStream",
    topic: "llm/stream",
    eventType: "llm.stream",
    schema: LLMStreamDelta,
    qos: 1,
    publishers: ["llm-worker"],
    subscribers: ["router", "ui-web"],
    maxBytes: 256 * KIB,
    description: "Chunks of a streamed reply, then a done marker. QoS 1 (py-tars: 0) because " +
      "a lost chunk is a hole in the spoken sentence.",
  }),
  llmResponse: defineTopic({
    name: "llmResponse",
    topic: "llm/response",
    eventType: "llm.response",
    schema: LLMResponse,
    qos: 1,
    publishers: ["llm-worker"],
    subscribers: ["router", "ui-web", "ha-bridge"],
    maxBytes: 256 * KIB,
    description: "The final reply or error of a request. QoS 1 (py-tars: 0) because a lost " +
      "response is an unanswered question.",
  }),
  llmCancel: defineTopic({
    name: "llmCancel",
    topic: "llm/cancel",
    eventType: "llm.cancel",
    schema: LLMCancel,
    qos: 1,
    publishers: ["router"],
    subscribers: ["router", "llm-worker"],
    description: "Abandon a request (py-tars: nobody publishes it and llm-worker ignores it).",
  }),
  llmToolsRegistry: defineTopic({
    name: "llmToolsRegistry",
    topic: "llm/tools/registry",
    eventType: "llm.tools.registry",
    schema: ToolsRegistry,
    qos: 1,
    retain: true,
    acceptsRaw: true,
    publishers: [],
    subscribers: ["llm-worker"],
    maxBytes: 1 * MIB,
    description: "The tools the LLM may call, from an external MCP bridge; retained so a " +
      "restarted llm-worker gets it (py-tars expects raw {tools}).",
  }),
  llmToolCallRequest: defineTopic({
    name: "llmToolCallRequest",
    topic: "llm/tool.call.request",
    eventType: "llm.tool.call.request",
    schema: ToolCallRequest,
    qos: 1,
    publishers: ["llm-worker"],
    subscribers: [],
    maxBytes: 256 * KIB,
    description: "A tool call for an external executor (unused in py-tars).",
  }),
  llmToolCallResult: defineTopic({
    name: "llmToolCallResult",
    topic: "llm/tool.call.result",
    eventType: "llm.tool.call.result",
    schema: ToolCallResult,
    qos: 1,
    publishers: [],
    subscribers: ["llm-worker"],
    maxBytes: 1 * MIB,
    description: "The outcome of a tool call, correlated by call_id.",
  }),

  // ------------------------------------------------------------------ memory
  memoryQuery: defineTopic({
    name: "memoryQuery",
    topic: "memory/query",
    eventType: "memory.query",
    schema: MemoryQuery,
    qos: 1,
    acceptsRaw: true,
    publishers: ["llm-worker", "ui-web"],
    subscribers: ["memory-worker"],
    description: "A memory search; the envelope id is the llm request's. Raw {text|query, " +
      "top_k} accepted, as in py-tars.",
  }),
  memoryResults: defineTopic({
    name: "memoryResults",
    topic: "memory/results",
    eventType: "memory.results",
    schema: MemoryResults,
    qos: 1,
    publishers: ["memory-worker"],
    subscribers: ["llm-worker", "ui-web"],
    maxBytes: 1 * MIB,
    description: "The answer to a memory/query, reusing the query's envelope id.",
  }),
  memoryStore: defineTopic({
    name: "memoryStore",
    topic: "memory/store",
    eventType: "memory.store",
    schema: MemoryStore,
    qos: 1,
    publishers: ["llm-worker"],
    subscribers: ["memory-worker"],
    description: "A fact to keep in memory (the llm-worker's remember tool; new in TARS-Deno).",
  }),

  // ------------------------------------------------------------------ character
  characterGet: defineTopic({
    name: "characterGet",
    topic: "character/get",
    eventType: "memory.character.get",
    schema: CharacterGetRequest,
    qos: 0,
    publishers: ["llm-worker"],
    subscribers: ["memory-worker"],
    description: "Ask for the character (section null) or one section; answered on " +
      "character/result.",
  }),
  characterResult: defineTopic({
    name: "characterResult",
    topic: "character/result",
    eventType: "character.result",
    schema: CharacterResult,
    qos: 0,
    publishers: ["memory-worker"],
    subscribers: ["llm-worker"],
    maxBytes: 256 * KIB,
    description: "A CharacterSnapshot or a CharacterSection answering character/get.",
  }),
  characterUpdate: defineTopic({
    name: "characterUpdate",
    topic: "character/update",
    eventType: "character.update",
    schema: CharacterUpdate,
    qos: 1,
    acceptsRaw: true,
    publishers: ["llm-worker", "ui-web", "ha-bridge"],
    subscribers: ["memory-worker"],
    description: "Set one trait or reset all traits; raw JSON accepted. QoS 1 (py-tars " +
      "subscribes with 0) because a lost update is a silently ignored user request.",
  }),
  systemCharacterCurrent: defineTopic({
    name: "systemCharacterCurrent",
    topic: "system/character/current",
    eventType: "system.character.current",
    schema: CharacterSnapshot,
    qos: 1,
    retain: true,
    publishers: ["memory-worker"],
    subscribers: ["llm-worker", "ui-web", "ha-bridge"],
    maxBytes: 256 * KIB,
    description: "The current character, retained; republished on every change.",
  }),

  // ------------------------------------------------------------------ system
  systemHealth: defineTopic({
    name: "systemHealth",
    topic: "system/health/{client_id}",
    eventType: "health.status",
    schema: HealthPing,
    acceptsRaw: true,
    qos: 1,
    retain: true,
    publishers: ["*"],
    subscribers: ["router", "wake-activation", "ui-web", "ha-bridge", "homeassistant"],
    description: "Retained liveness of each MQTT client; also its last will " +
      "(ok false, event lost). Raw JSON accepted (the ESP32's `{ok,event,timestamp}`), and " +
      "extra keys are kept (py-tars' wake-activation adds `version`, `ts`).",
  }),
  systemKeepalive: defineTopic({
    name: "systemKeepalive",
    topic: "system/keepalive/{client_id}",
    wire: "json",
    schema: HeartbeatPayload,
    // QoS 1 (py-tars: 0): the watchdog needs the broker's PUBACK to know a beat got through.
    qos: 1,
    publishers: ["*"],
    subscribers: ["ui-web"],
    description:
      "Raw JSON heartbeat of each client with heartbeats enabled (not enveloped); QoS 1 so " +
      "that the watchdog sees the broker acknowledge it.",
  }),
  systemMetrics: defineTopic({
    name: "systemMetrics",
    topic: "system/metrics/{client_id}",
    eventType: "system.metrics",
    schema: SystemMetrics,
    qos: 0,
    retain: true,
    publishers: ["*"],
    subscribers: ["ui-web"],
    description: "Counters of each MQTT client, retained (new in TARS-Deno).",
  }),
  systemTurn: defineTopic({
    name: "systemTurn",
    topic: "system/turn",
    eventType: "system.turn",
    schema: TurnTiming,
    qos: 0,
    publishers: ["ui-web"],
    subscribers: [],
    description: "The timeline of each finished conversation turn (wake to end of playback) " +
      "and its stage durations, assembled by ui-web from the envelopes' ts (new in TARS-Deno).",
  }),

  // ------------------------------------------------------------------ audio
  audioPcm: defineTopic({
    name: "audioPcm",
    topic: "audio/pcm/{source}",
    wire: "binary",
    qos: 0,
    publishers: ["stt-worker", "ui-web"],
    subscribers: ["stt-worker", "wake-activation"],
    maxBytes: 64 * KIB,
    description: "Raw PCM16LE mono 16 kHz frames from one microphone (not enveloped).",
  }),

  // ------------------------------------------------------------------ movement
  movementTest: defineTopic({
    name: "movementTest",
    topic: "movement/test",
    eventType: "movement.test",
    schema: TestMovementRequest,
    qos: 1,
    acceptsRaw: true,
    publishers: ["router", "llm-worker", "ui-web", "ha-bridge"],
    subscribers: ["movement-service", "esp32"],
    description: "A movement command for the ESP32; raw JSON accepted (the ESP32 firmware " +
      "parses raw only).",
  }),
  movementStop: defineTopic({
    name: "movementStop",
    topic: "movement/stop",
    eventType: "movement.stop",
    schema: EmergencyStopCommand,
    qos: 1,
    acceptsRaw: true,
    publishers: ["router", "llm-worker", "ui-web", "ha-bridge"],
    subscribers: ["movement-service", "esp32"],
    description: "Emergency stop; the ESP32 stops on any message here. Raw JSON accepted.",
  }),
  movementClear: defineTopic({
    name: "movementClear",
    topic: "movement/clear",
    eventType: "movement.clear",
    schema: EmergencyStopCommand,
    qos: 1,
    acceptsRaw: true,
    // Only the dashboard's explicit "Clear stop": voice intents and the LLM may stop, never
    // lift a stop (issue #15).
    publishers: ["ui-web"],
    subscribers: ["movement-service"],
    description: "Clears movement-service's latched emergency stop, the only way to lift it " +
      "(no movement command does); published only by the dashboard's explicit clear. Same " +
      "payload as movement/stop. Raw JSON accepted.",
  }),
  movementStatus: defineTopic({
    name: "movementStatus",
    topic: "movement/status",
    eventType: "movement.status",
    schema: MovementStatusUpdate,
    qos: 0,
    acceptsRaw: true,
    publishers: ["esp32", "movement-service"],
    subscribers: ["router"],
    description: "Command execution status; raw JSON accepted (the ESP32 publishes raw).",
  }),
  movementState: defineTopic({
    name: "movementState",
    topic: "movement/state",
    eventType: "movement.state",
    schema: MovementControllerState,
    qos: 1,
    acceptsRaw: true,
    publishers: ["esp32", "movement-service"],
    subscribers: [],
    description: "Controller state reports; raw JSON accepted (the ESP32 publishes raw and " +
      "retains only its ready state).",
  }),
  movementFrame: defineTopic({
    name: "movementFrame",
    topic: "movement/frame",
    wire: "json",
    schema: ServoFrame,
    qos: 1,
    publishers: ["movement-service"],
    subscribers: ["esp32"],
    description: "Raw JSON servo pulses {chN: ticks} applied by the ESP32 at once.",
  }),

  // ------------------------------------------------------------------ camera
  cameraFrame: defineTopic({
    name: "cameraFrame",
    topic: "camera/frame",
    eventType: "camera.frame",
    schema: CameraFrame,
    qos: 0,
    publishers: ["camera-service"],
    subscribers: ["ha-bridge"],
    maxBytes: 8 * MIB,
    description: "Downsampled live frames (ui-web streams MJPEG over HTTP instead).",
  }),
  cameraCapture: defineTopic({
    name: "cameraCapture",
    topic: "camera/capture",
    eventType: "camera.capture",
    schema: CameraCaptureRequest,
    qos: 1,
    publishers: [],
    subscribers: ["camera-service"],
    description: "A request for a still image, answered on camera/image (contract only " +
      "in py-tars).",
  }),
  cameraImage: defineTopic({
    name: "cameraImage",
    topic: "camera/image",
    eventType: "camera.image",
    schema: CameraImageResponse,
    qos: 1,
    publishers: ["camera-service"],
    subscribers: [],
    maxBytes: 16 * MIB,
    description: "A captured still image answering camera/capture by request_id.",
  }),
  cameraStatus: defineTopic({
    name: "cameraStatus",
    topic: "camera/status",
    eventType: "camera.status",
    schema: CameraStatusUpdate,
    qos: 0,
    publishers: ["camera-service"],
    subscribers: [],
    description: "Camera availability and capture progress.",
  }),

  // ------------------------------------------------------------------ router live mode
  routerLiveModeSet: defineTopic({
    name: "routerLiveModeSet",
    topic: "router/live_mode/set",
    eventType: "router.live_mode.set",
    schema: LiveModeCommand,
    qos: 1,
    publishers: ["ha-bridge"],
    subscribers: ["router"],
    description: "Turn the router's live mode on or off, as the voice phrases do (new in " +
      "TARS-Deno; Home Assistant's live-mode switch).",
  }),
  routerLiveMode: defineTopic({
    name: "routerLiveMode",
    topic: "router/live_mode",
    eventType: "router.live_mode",
    schema: LiveModeState,
    qos: 1,
    retain: true,
    publishers: ["router"],
    subscribers: ["ha-bridge"],
    description: "Whether live mode is on, retained; published at start and on every change " +
      "(new in TARS-Deno).",
  }),

  // ------------------------------------------------------------------ Home Assistant
  haDiscovery: defineTopic({
    name: "haDiscovery",
    topic: "homeassistant/{component}/tars/{object_id}/config",
    wire: "json",
    schema: HaDiscoveryConfig,
    qos: 1,
    retain: true,
    publishers: ["ha-bridge"],
    // ha-bridge reads them only with discovery off, to remove every one the broker keeps.
    subscribers: ["homeassistant", "ha-bridge"],
    description: "Home Assistant MQTT discovery config of one TARS entity, bare JSON, retained; " +
      "an empty retained payload removes the entity (HA_DISCOVERY=false).",
  }),
  haStatus: defineTopic({
    name: "haStatus",
    topic: "homeassistant/status",
    wire: "binary",
    qos: 1,
    publishers: ["homeassistant"],
    subscribers: ["ha-bridge"],
    maxBytes: 64,
    description: "Home Assistant's birth and last will, plain text `online`/`offline`; on " +
      "`online` the ha-bridge re-sends every discovery config.",
  }),
  haState: defineTopic({
    name: "haState",
    topic: "tars/ha/state/{entity}",
    wire: "binary",
    qos: 1,
    retain: true,
    publishers: ["ha-bridge"],
    subscribers: ["homeassistant"],
    maxBytes: 16 * KIB,
    description:
      "Plain-text state of one Home Assistant entity, retained (ON/OFF, online/offline, " +
      "a transcript, a reply, a trait value).",
  }),
  haCamera: defineTopic({
    name: "haCamera",
    topic: "tars/ha/camera",
    wire: "binary",
    qos: 0,
    publishers: ["ha-bridge"],
    subscribers: ["homeassistant"],
    maxBytes: 6 * MIB,
    description: "The latest camera frame as a bare JPEG for Home Assistant's image entity, at " +
      "most one per HA_CAMERA_INTERVAL_MS; not retained, so no image stays on the broker.",
  }),
  haCommand: defineTopic({
    name: "haCommand",
    topic: "tars/ha/command/{entity}",
    wire: "binary",
    qos: 1,
    publishers: ["homeassistant"],
    subscribers: ["ha-bridge"],
    maxBytes: 1 * KIB,
    description: "A plain-text command from Home Assistant (text to say, a button's movement, " +
      "ON/OFF, a number); the ha-bridge validates it into a TARS contract.",
  }),
} as const;

/** The key of a row of {@linkcode topics}. */
export type TopicName = keyof typeof topics;

/** Every row of {@linkcode topics}, in table order. */
export const topicList: readonly TopicSpec[] = Object.freeze(Object.values(topics));

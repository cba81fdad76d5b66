/**
 * stt-worker over a real broker: an espeak-ng WAV through the file source → audio/pcm/stt →
 * Silero VAD → a local server speaking the OpenAI transcription protocol → stt/final; the mqtt
 * source with the mic state driven by wake/mic and tts/*; echo and repeat suppression;
 * partials; stt/vad around each utterance (a mute mid-utterance ends it as `muted`).
 */
import assert from "node:assert/strict";
import {
  type FinalTranscript,
  type PartialTranscript,
  type SpeechActivity,
  topics,
} from "../../core/mod.ts";
import { startBroker } from "../helpers/broker.ts";
import { pcmFrames } from "../helpers/speech_audio.ts";
import { sttClips } from "../helpers/stt_audio.ts";
import { startFakeOpenAiTranscription } from "../helpers/stt_fake_servers.ts";
import { startTestStt } from "../helpers/stt_service.ts";
import { testClient, waitFor } from "../helpers/wait.ts";

const T = 30_000;

Deno.test("stt service: WAV file → audio/pcm/stt → VAD → OpenAI-protocol server → stt/final", async () => {
  const clips = await sttClips();
  await using broker = await startBroker();
  await using fake = startFakeOpenAiTranscription(() => "What time is it?");
  await using watcher = testClient(broker.url);
  await using serviceClient = testClient(broker.url);
  await watcher.connect({ timeoutMs: T });
  await serviceClient.connect({ timeoutMs: T });
  const finals: FinalTranscript[] = [];
  let pcmFramesSeen = 0;
  let pcmBytes = 0;
  await watcher.subscribe(topics.sttFinal, (final) => void finals.push(final));
  await watcher.subscribeRaw(topics.audioPcm, (bytes) => {
    pcmFramesSeen++;
    pcmBytes += bytes.length;
  }, { params: { source: "stt" } });
  const { service } = await startTestStt(serviceClient, {
    AUDIO_SOURCE: "file",
    AUDIO_FILE: clips.questionWav,
    AUDIO_FILE_SPEED: "3",
    STT_MIC_MODE: "open",
    OPENAI_BASE_URL: fake.url,
    OPENAI_API_KEY: "sk-local",
  });
  try {
    await service.sourceEnded;
    await waitFor(() => finals.length === 1, "stt/final", T);
    assert.ok(service.counters.vadSkipped > 0, "the silence around the phrase skipped the VAD");
    const final = finals[0];
    assert.equal(final.text, "What time is it?");
    assert.equal(final.is_final, true);
    assert.equal(final.lang, "en");
    assert.ok(Math.abs(final.confidence! - Math.exp(-0.1)) < 1e-6, `${final.confidence}`);
    assert.match(final.utt_id ?? "", /^[0-9a-f]{32}$/);
    // the server got one utterance: the phrase with a little padding, not the whole file
    assert.equal(fake.received.length, 1);
    const { pcm, fields, authorization } = fake.received[0];
    const sentSec = pcm.length / 32_000;
    const phraseSec = clips.question.length / 32_000 - 2.5;
    assert.ok(
      sentSec > phraseSec && sentSec < phraseSec + 1,
      `sent ${sentSec} s, phrase ${phraseSec} s`,
    );
    assert.equal(fields.model, "whisper-1");
    assert.equal(authorization, "Bearer sk-local");
    // every captured frame was published on audio/pcm/stt
    const expectedFrames = Math.ceil(clips.question.length / 640);
    await waitFor(() => pcmFramesSeen === expectedFrames, `${expectedFrames} pcm frames`, T);
    assert.equal(pcmBytes, expectedFrames * 640);
    assert.equal(service.counters.framesPublished, expectedFrames);
    assert.equal(service.timings.length, 1);
  } finally {
    await service.close();
  }
});

Deno.test("stt service: mqtt source, mic gating, repeat and echo suppression over the broker", async () => {
  const clips = await sttClips();
  await using broker = await startBroker();
  let answer = "What time is it?";
  await using fake = startFakeOpenAiTranscription(() => answer);
  await using peer = testClient(broker.url);
  await using serviceClient = testClient(broker.url);
  await peer.connect({ timeoutMs: T });
  await serviceClient.connect({ timeoutMs: T });
  const finals: FinalTranscript[] = [];
  let republished = 0;
  await peer.subscribe(topics.sttFinal, (final) => void finals.push(final));
  await peer.subscribeRaw(topics.audioPcm, () => void republished++, {
    params: { source: "stt" },
  });
  const { service } = await startTestStt(serviceClient, {
    AUDIO_SOURCE: "mqtt",
    OPENAI_BASE_URL: fake.url,
    UNMUTE_GUARD_MS: "0",
    POST_PUBLISH_COOLDOWN_MS: "0",
  });
  // the browser streams 40 ms chunks, faster than real time
  const speak = async (pcm: Uint8Array) => {
    for (const chunk of pcmFrames(pcm, 40)) {
      await peer.publishRaw(topics.audioPcm, chunk, { params: { source: "ui-web" } });
    }
  };
  try {
    // muted at start: speech is ignored
    assert.equal(service.mic.muted, true);
    await speak(clips.question);
    await waitFor(
      () => service.counters.frames >= Math.floor(clips.question.length / 640) - 2,
      "frames",
      T,
    );
    assert.equal(fake.received.length, 0);
    assert.equal(service.counters.utterances, 0);

    // wake/mic unmute → the question is transcribed and published
    await peer.publishEvent(topics.wakeMic, { action: "unmute", reason: "wake" });
    await waitFor(() => !service.mic.muted, "unmuted", T);
    await speak(clips.question);
    await waitFor(() => finals.length === 1, "first final", T);
    assert.equal(finals[0].text, "What time is it?");
    assert.equal(service.mic.muted, true, "muted after a final");

    // the same words again within REPEAT_COOLDOWN_SEC → suppressed
    await peer.publishEvent(topics.wakeMic, { action: "unmute", reason: "wake" });
    await waitFor(() => !service.mic.muted, "unmuted again", T);
    await speak(clips.question);
    await waitFor(() => service.counters.suppressed === 1, "repeat suppressed", T);
    assert.equal(finals.length, 1);

    // TTS speaks; its echo in the response window is suppressed, a real follow-up is not
    await peer.publishEvent(topics.ttsSay, { text: "It is three o'clock in the afternoon." });
    await waitFor(() => service.mic.pendingTts, "tts pending", T);
    await speak(clips.joke); // during playback: muted, ignored
    await peer.publishEvent(topics.ttsStatus, {
      event: "speaking_end",
      text: "It is three o'clock in the afternoon.",
    });
    await waitFor(() => service.mic.inResponseWindow && service.mic.listening, "window", T);
    const before = fake.received.length;
    answer = "It is three o'clock in the afternoon";
    await speak(clips.joke);
    await waitFor(() => service.counters.suppressed === 2, "echo suppressed", T);
    assert.equal(fake.received.length, before + 1);
    answer = "Tell me a joke.";
    await speak(clips.joke);
    await waitFor(() => finals.length === 2, "follow-up final", T);
    assert.equal(finals[1].text, "Tell me a joke.");
    assert.equal(republished, 0, "the mqtt source is never republished");
  } finally {
    await service.close();
  }
});

Deno.test("stt service: partials while speaking share the final's utt_id", async () => {
  const clips = await sttClips();
  await using broker = await startBroker();
  let calls = 0;
  await using fake = startFakeOpenAiTranscription((audio) => {
    calls++;
    return audio.pcm.length < 32_000 * 1.2 ? "what time" : "what time is it";
  });
  await using peer = testClient(broker.url);
  await using serviceClient = testClient(broker.url);
  await peer.connect({ timeoutMs: T });
  await serviceClient.connect({ timeoutMs: T });
  const partials: PartialTranscript[] = [];
  const finals: FinalTranscript[] = [];
  await peer.subscribe(topics.sttPartial, (p) => void partials.push(p));
  await peer.subscribe(topics.sttFinal, (f) => void finals.push(f));
  const { service } = await startTestStt(serviceClient, {
    AUDIO_SOURCE: "file",
    AUDIO_FILE: clips.questionWav,
    AUDIO_FILE_SPEED: "1",
    STT_MIC_MODE: "open",
    OPENAI_BASE_URL: fake.url,
    PARTIALS_REMOTE: "1",
    PARTIAL_INTERVAL_MS: "200",
    PARTIAL_MIN_DURATION_MS: "300",
    AUDIO_PUBLISH: "0",
    VAD_SKIP_BELOW_GATE: "0",
  });
  try {
    await service.sourceEnded;
    await waitFor(() => finals.length === 1, "final", T);
    assert.ok(partials.length >= 1, `partials ${partials.length} of ${calls} calls`);
    assert.equal(partials[0].is_final, false);
    assert.ok(partials.every((p) => p.utt_id === finals[0].utt_id));
    // no duplicate partial texts
    assert.equal(new Set(partials.map((p) => p.text)).size, partials.length);
    assert.equal(service.counters.framesPublished, 0);
    assert.equal(service.counters.vadSkipped, 0, "VAD_SKIP_BELOW_GATE=0: every frame scored");
  } finally {
    await service.close();
  }
});

Deno.test("stt service: stt/vad brackets each utterance with the final's utt_id; a mute ends it as muted", async () => {
  const clips = await sttClips();
  await using broker = await startBroker();
  await using fake = startFakeOpenAiTranscription(() => "What time is it?");
  await using peer = testClient(broker.url);
  await using serviceClient = testClient(broker.url);
  await peer.connect({ timeoutMs: T });
  await serviceClient.connect({ timeoutMs: T });
  const finals: FinalTranscript[] = [];
  const vad: SpeechActivity[] = [];
  await peer.subscribe(topics.sttFinal, (final) => void finals.push(final));
  await peer.subscribe(topics.sttVad, (activity) => void vad.push(activity));
  const { service, config } = await startTestStt(serviceClient, {
    AUDIO_SOURCE: "mqtt",
    OPENAI_BASE_URL: fake.url,
    UNMUTE_GUARD_MS: "0",
    POST_PUBLISH_COOLDOWN_MS: "0",
  });
  const speak = async (pcm: Uint8Array) => {
    for (const chunk of pcmFrames(pcm, 40)) {
      await peer.publishRaw(topics.audioPcm, chunk, { params: { source: "ui-web" } });
    }
  };
  try {
    // muted: nothing on stt/vad
    await speak(clips.question);
    await waitFor(
      () => service.counters.frames >= Math.floor(clips.question.length / 640) - 2,
      "frames",
      T,
    );
    await peer.publishEvent(topics.wakeMic, { action: "unmute", reason: "wake" });
    await waitFor(() => !service.mic.muted, "unmuted", T);
    assert.equal(vad.length, 0);

    // the start of the question, then a mute: the utterance ends as "muted", no final
    await speak(clips.question.subarray(0, 32_000 * 1.5));
    await waitFor(() => vad.length === 1, "speech_start", T);
    assert.equal(vad[0].event, "speech_start");
    assert.equal(vad[0].max_ms, config.vad.maxUtteranceMs);
    await peer.publishEvent(topics.wakeMic, { action: "mute", reason: "user" });
    await waitFor(() => vad.length === 2, "speech_end", T);
    assert.equal(vad[1].event, "speech_end");
    assert.equal(vad[1].reason, "muted");
    assert.equal(vad[1].utt_id, vad[0].utt_id);

    // a whole question: speech_start, speech_end (silence), then its final, all one utt_id
    await peer.publishEvent(topics.wakeMic, { action: "unmute", reason: "wake" });
    await waitFor(() => !service.mic.muted, "unmuted again", T);
    await speak(clips.question);
    await waitFor(() => finals.length === 1, "final", T);
    await waitFor(() => vad.length === 4, "speech_start + speech_end", T);
    assert.deepEqual(vad.slice(2).map((v) => [v.event, v.reason ?? null]), [
      ["speech_start", null],
      ["speech_end", "silence"],
    ]);
    assert.ok(vad.slice(2).every((v) => v.utt_id === finals[0].utt_id));
    assert.notEqual(finals[0].utt_id, vad[0].utt_id);
    assert.ok((vad[3].duration_ms ?? 0) > 1_000);
    assert.equal(fake.received.length, 1);
  } finally {
    await service.close();
  }
});

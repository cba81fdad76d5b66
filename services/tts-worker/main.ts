/**
 * tts-worker: speaks tts/say (espeak-ng, or a Piper voice with espeak-ng as fallback) into
 * the configured sink (mqtt chunks for the browser, an ALSA/PulseAudio player, or WAV
 * files), reports tts/status and obeys tts/control at once, mid-sentence.
 *
 * @module
 */
import { runService } from "../../core/mod.ts";
import { readTtsConfig } from "./config.ts";
import { startTtsService } from "./service.ts";

if (import.meta.main) {
  await runService("tts-worker", {
    readConfig: readTtsConfig,
    main: (ctx) => startTtsService(ctx, { config: ctx.config }),
  });
}

/**
 * ui-web: the robot's live dashboard. One MQTT connection feeds a page served on
 * UI_HOST:UI_PORT (default 127.0.0.1:5010) with live updates over Server-Sent Events:
 * conversation (stt partials/finals, streamed LLM replies, TTS), health tiles, camera,
 * movement buttons with an emergency stop, memory search and character traits; the page
 * talks back with typed text (stt/final), push-to-talk audio (audio/pcm/ui-web) and
 * plays tts/audio.
 *
 * @module
 */
import { runService } from "../../core/mod.ts";
import { readUiWebConfig } from "./config.ts";
import { startUiWeb } from "./server.ts";

if (import.meta.main) {
  await runService("ui-web", {
    readConfig: readUiWebConfig,
    main: (ctx) => startUiWeb(ctx, { config: ctx.config }),
  });
}

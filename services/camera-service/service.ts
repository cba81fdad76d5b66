/**
 * camera-service wiring: capture supervisor → frame hub → HTTP server, camera/frame
 * publisher and camera/capture responder, with camera/status transitions.
 *
 * @module
 */
import { HostAllowList, type ServiceDeps } from "../../core/mod.ts";
import { type CaptureEvent, CaptureSupervisor } from "./capture.ts";
import type { CameraConfig } from "./config.ts";
import { FrameHub } from "./frame_hub.ts";
import { type CameraHttpServer, startCameraHttpServer } from "./http.ts";
import {
  CaptureResponder,
  type FramePublisher,
  publishCameraStatus,
  startFramePublisher,
} from "./mqtt_bridge.ts";
import { FfmpegSource, type FrameSource } from "./source.ts";

/** Options of {@linkcode startCameraService}. */
export interface CameraServiceOptions {
  /** The configuration. */
  readonly config: CameraConfig;
  /** The frame source; default ffmpeg for `config.device`. */
  readonly source?: FrameSource;
}

/** A running camera-service. */
export interface CameraService {
  /** The frame hub (newest frame). */
  readonly hub: FrameHub;
  /** The HTTP server. */
  readonly http: CameraHttpServer;
  /** The capture supervisor, `null` when CAMERA_ENABLED=0. */
  readonly capture: CaptureSupervisor | null;
  /** The camera/frame publisher. */
  readonly frames: FramePublisher;
  /** The camera/capture responder. */
  readonly responder: CaptureResponder;
  /** Stops capture, HTTP and MQTT handlers (the client stays connected). */
  close(): Promise<void>;
}

/** Starts everything; resolves once the HTTP server listens and handlers are subscribed. */
export async function startCameraService(
  deps: ServiceDeps,
  options: CameraServiceOptions,
): Promise<CameraService> {
  const { client, logger } = deps;
  const { config } = options;
  const hub = new FrameHub();
  const startedAt = Date.now();
  let capture: CaptureSupervisor | null = null;
  let lastFrameCount = 0;
  let measuredFps = 0;
  let measuredAt = Date.now();

  // Health is degraded only while the capture program is missing (a crash restarts in a
  // moment; a missing ffmpeg needs the user): with the reason, which says what to do.
  let degraded = false;
  const onEvent = (event: CaptureEvent) => {
    if (event.kind === "unavailable" && event.toolMissing) {
      degraded = true;
      client.publishHealth({ ok: false, event: "camera_unavailable", err: event.detail })
        .catch(() => {});
    } else if (event.kind === "ready" && degraded) {
      degraded = false;
      client.publishHealth({ ok: true, event: "ready" }).catch(() => {});
    }
    if (event.kind === "ready") {
      void publishCameraStatus(client, "camera_ready", {
        detail: `${event.width}x${event.height} from ${source.description}`,
      }, logger);
    } else {
      void publishCameraStatus(client, "camera_unavailable", {
        detail: `${event.detail} (retrying in ${event.retryInMs} ms)`,
      }, logger);
    }
  };
  const source = options.source ?? FfmpegSource.fromConfig(config);
  if (config.enabled) {
    capture = new CaptureSupervisor({
      source,
      hub,
      restartMinMs: config.restartMinMs,
      restartMaxMs: config.restartMaxMs,
      stallTimeoutMs: config.timeoutMs,
      logger,
      onEvent,
    });
  }

  const health = () => {
    const now = Date.now();
    const stats = capture?.stats;
    if (stats && now - measuredAt >= 1000) {
      measuredFps = ((stats.frames - lastFrameCount) * 1000) / (now - measuredAt);
      lastFrameCount = stats.frames;
      measuredAt = now;
    }
    const latest = hub.latest;
    return {
      service: "camera-service",
      state: stats?.state ?? "disabled",
      source: config.enabled ? source.description : null,
      frames: stats?.frames ?? 0,
      fps: Math.round(measuredFps * 10) / 10,
      restarts: stats?.failures ?? 0,
      last_error: stats?.lastError ?? null,
      last_frame_age_ms: latest ? now - latest.capturedAt : null,
      width: latest?.width ?? null,
      height: latest?.height ?? null,
      mqtt_connected: client.connected,
      uptime_s: Math.round((now - startedAt) / 1000),
    };
  };

  const http = await startCameraHttpServer({
    hostname: config.httpHost,
    port: config.httpPort,
    hub,
    maxViewers: config.maxViewers,
    enabled: config.enabled,
    token: config.token,
    allowedHosts: new HostAllowList({ bindHost: config.httpHost, extra: config.allowedHosts }),
    health,
    logger,
  });
  logger?.info("Serving http://{host}:{port}/stream, /snapshot and /healthz", {
    host: config.httpHost,
    port: http.port,
  });

  const responder = new CaptureResponder({
    client,
    hub,
    enabled: config.enabled,
    streamQuality: config.quality,
    fps: config.fps,
    timeoutMs: config.timeoutMs,
    ffmpeg: config.ffmpeg,
    logger,
  });
  await responder.start();
  const frames = startFramePublisher({
    client,
    hub,
    ratePerSecond: config.enabled ? config.mqttRate : 0,
    captureFps: config.fps,
    logger,
  });

  if (capture) capture.start();
  else {
    logger?.info("Camera disabled (CAMERA_ENABLED=0): no capture; HTTP and MQTT stay up");
    void publishCameraStatus(client, "camera_unavailable", {
      detail: "disabled (CAMERA_ENABLED=0)",
    }, logger);
  }

  return {
    hub,
    http,
    capture,
    frames,
    responder,
    async close() {
      await capture?.stop();
      hub.close();
      await Promise.all([frames.stop(), responder.stop(), http.close()]);
    },
  };
}

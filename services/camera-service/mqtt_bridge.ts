/**
 * The camera's MQTT side: camera/frame at CAMERA_MQTT_RATE, camera/capture → camera/image
 * (answering with the request's id), and camera/status transitions.
 *
 * @module
 */
import { Buffer } from "node:buffer";
import {
  CAMERA_IMAGE_DATA_MAX,
  type CameraCaptureRequest,
  type CameraStatusEvent,
  clipText,
  epochSeconds,
  type Logger,
  type MessageContext,
  type MqttClient,
  type Subscription,
  TEXT_LIMITS,
  topics,
} from "../../core/mod.ts";

/** Characters of the base64 form of `bytes` bytes. */
function base64Length(bytes: number): number {
  return Math.ceil(bytes / 3) * 4;
}
import type { Frame, FrameHub } from "./frame_hub.ts";
import { RateGate } from "./rate_gate.ts";
import { canPassThrough, type ConvertedImage, convertImage } from "./transcode.ts";

/** Base64 of bytes (node's encoder: fast and without an intermediate string). */
export function toBase64(bytes: Uint8Array): string {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString("base64");
}

/** Options of {@linkcode startFramePublisher}. */
export interface FramePublisherOptions {
  /** The connected client. */
  readonly client: MqttClient;
  /** Frames. */
  readonly hub: FrameHub;
  /** Publications per second (0 = none). */
  readonly ratePerSecond: number;
  /** The capture rate, to report the effective rate in `fps`. */
  readonly captureFps: number;
  /** Logger. */
  readonly logger?: Logger;
  /** Clock, ms (tests). */
  readonly now?: () => number;
}

/** A running camera/frame publisher. */
export interface FramePublisher {
  /** Frames published. */
  readonly published: number;
  /** Publications that failed (logged, not fatal). */
  readonly failed: number;
  /** Stops publishing and waits for the loop. */
  stop(): Promise<void>;
}

/**
 * Publishes the newest frame on camera/frame at `ratePerSecond` (QoS 0, as py-tars). A rate
 * above the capture rate publishes every frame (py-tars divided by zero there).
 */
export function startFramePublisher(options: FramePublisherOptions): FramePublisher {
  const { client, hub, logger } = options;
  const now = options.now ?? Date.now;
  const gate = new RateGate(options.ratePerSecond);
  const effectiveRate = Math.min(options.ratePerSecond, options.captureFps);
  if (options.ratePerSecond > options.captureFps) {
    logger?.warn(
      "CAMERA_MQTT_RATE {rate} is above CAMERA_FPS {fps}: publishing every frame ({fps}/s)",
      { rate: options.ratePerSecond, fps: options.captureFps },
    );
  }
  const stop = new AbortController();
  let published = 0;
  let failed = 0;
  let frameNumber = 0;
  const loop = (async () => {
    if (!gate.enabled) return;
    let seq = 0;
    while (!stop.signal.aborted) {
      const frame = await hub.next(seq, stop.signal);
      if (!frame) break;
      seq = frame.seq;
      if (!gate.admit(now())) continue;
      try {
        await client.publishEvent(topics.cameraFrame, {
          frame_data: toBase64(frame.bytes),
          format: "jpeg",
          width: frame.width,
          height: frame.height,
          frame_number: frameNumber++,
          fps: effectiveRate,
        });
        published++;
      } catch (error) {
        failed++;
        logger?.warn("Publishing camera/frame failed: {error}", { error });
      }
    }
  })();
  return {
    get published() {
      return published;
    },
    get failed() {
      return failed;
    },
    async stop() {
      stop.abort();
      await loop;
    },
  };
}

/** Options of {@linkcode CaptureResponder}. */
export interface CaptureResponderOptions {
  /** The connected client. */
  readonly client: MqttClient;
  /** Frames. */
  readonly hub: FrameHub;
  /** Whether capture is enabled at all. */
  readonly enabled: boolean;
  /** JPEG quality of the stream's frames. */
  readonly streamQuality: number;
  /** Capture rate; a frame older than two frame intervals is not fresh. */
  readonly fps: number;
  /** How long a request waits for a fresh frame (and a conversion), ms. */
  readonly timeoutMs: number;
  /** The ffmpeg executable for conversions. */
  readonly ffmpeg: string;
  /** Logger. */
  readonly logger?: Logger;
}

/** Publishes a camera/status event (failures are logged, never thrown). */
export async function publishCameraStatus(
  client: MqttClient,
  event: CameraStatusEvent,
  extra: { request_id?: string; detail?: string } = {},
  logger?: Logger,
): Promise<void> {
  try {
    const detail = extra.detail === undefined
      ? {}
      : { detail: clipText(extra.detail, TEXT_LIMITS.detail) };
    await client.publishEvent(topics.cameraStatus, { event, ...extra, ...detail });
  } catch (error) {
    logger?.warn("Publishing camera/status {event} failed: {error}", { event, error });
  }
}

/** Answers camera/capture requests with camera/image. */
export class CaptureResponder {
  readonly #o: CaptureResponderOptions;
  readonly #stop = new AbortController();
  #subscription: Subscription | null = null;
  #answered = 0;
  #failed = 0;

  /** Creates a responder; `start()` subscribes. */
  constructor(options: CaptureResponderOptions) {
    this.#o = options;
  }

  /** Requests answered with an image. */
  get answered(): number {
    return this.#answered;
  }

  /** Requests answered with `success: false`. */
  get failed(): number {
    return this.#failed;
  }

  /** Subscribes to camera/capture. */
  async start(): Promise<void> {
    this.#subscription = await this.#o.client.subscribe(
      topics.cameraCapture,
      (request, context) => this.handle(request, context),
      // One conversion at a time; a burst of requests queues (bounded, oldest dropped).
      { concurrency: 1, queueSize: 16, handlerTimeoutMs: this.#o.timeoutMs * 3 },
    );
  }

  /** Unsubscribes and abandons waits. */
  async stop(): Promise<void> {
    this.#stop.abort();
    await this.#subscription?.unsubscribe().catch(() => {});
  }

  /** Answers one request (public for tests; the subscription calls it). */
  async handle(request: CameraCaptureRequest, context?: MessageContext): Promise<void> {
    const { client, logger } = this.#o;
    const requestId = request.request_id;
    logger?.info("Capture request {requestId} ({format}, purpose {purpose})", {
      requestId,
      format: request.format,
      purpose: request.purpose ?? "-",
    });
    await publishCameraStatus(client, "capture_started", { request_id: requestId }, logger);
    const capturedAt = epochSeconds();
    let image: ConvertedImage | null = null;
    let error = "";
    let frameTimestamp = capturedAt;
    try {
      if (!this.#o.enabled) throw new Error("the camera is disabled (CAMERA_ENABLED=0)");
      const frame = await this.#freshFrame(context?.signal);
      frameTimestamp = frame.capturedAt / 1000;
      if (canPassThrough(frame, this.#o.streamQuality, request)) {
        image = { bytes: frame.bytes, width: frame.width, height: frame.height, format: "jpeg" };
      } else {
        using deadline = timeoutSignal(this.#o.timeoutMs, this.#stop.signal);
        image = await convertImage(frame, request, {
          ffmpeg: this.#o.ffmpeg,
          signal: deadline.signal,
        });
      }
    } catch (caught) {
      error = caught instanceof Error ? caught.message : String(caught);
    }
    if (image && base64Length(image.bytes.length) > CAMERA_IMAGE_DATA_MAX) {
      error = `the ${image.format} image is ${image.bytes.length} bytes, over the ` +
        `${Math.floor(CAMERA_IMAGE_DATA_MAX / 4) * 3}-byte limit of camera/image; ask for a ` +
        "smaller width/height or jpeg";
      image = null;
    }
    const response = image
      ? {
        request_id: requestId,
        image_data: toBase64(image.bytes),
        format: image.format,
        width: image.width,
        height: image.height,
        size_bytes: image.bytes.length,
        success: true,
        purpose: request.purpose ?? null,
        capture_timestamp: frameTimestamp,
      }
      : {
        request_id: requestId,
        image_data: "",
        format: request.format,
        width: 0,
        height: 0,
        size_bytes: 0,
        success: false,
        error: clipText(error, TEXT_LIMITS.detail),
        purpose: request.purpose ?? null,
        capture_timestamp: capturedAt,
      };
    try {
      await client.publishEvent(topics.cameraImage, response, {
        correlationId: context?.correlationId ?? undefined,
      });
    } catch (caught) {
      logger?.warn("Publishing camera/image for {requestId} failed: {error}", {
        requestId,
        error: caught,
      });
    }
    if (image) {
      this.#answered++;
      await publishCameraStatus(client, "capture_completed", { request_id: requestId }, logger);
    } else {
      this.#failed++;
      logger?.warn("Capture request {requestId} failed: {error}", { requestId, error });
      await publishCameraStatus(
        client,
        "capture_failed",
        { request_id: requestId, detail: error },
        logger,
      );
    }
  }

  /** The newest frame if it is fresh, else the next one (up to `timeoutMs`). */
  async #freshFrame(signal?: AbortSignal): Promise<Frame> {
    const maxAgeMs = Math.max(250, 2000 / this.#o.fps);
    const latest = this.#o.hub.latest;
    if (latest && Date.now() - latest.capturedAt <= maxAgeMs) return latest;
    using deadline = timeoutSignal(
      this.#o.timeoutMs,
      this.#stop.signal,
      ...(signal ? [signal] : []),
    );
    const frame = await this.#o.hub.next(latest?.seq ?? 0, deadline.signal);
    if (!frame) {
      throw new Error(
        `no frame from the camera within ${this.#o.timeoutMs} ms (CAMERA_TIMEOUT_MS): the ` +
          `capture is not running; see camera/status or /healthz`,
      );
    }
    return frame;
  }
}

/**
 * A signal that aborts after `ms` or when any of `signals` aborts; dispose it (`using`) to
 * clear its timer.
 */
export function timeoutSignal(
  ms: number,
  ...signals: AbortSignal[]
): { signal: AbortSignal } & Disposable {
  const timer = new AbortController();
  const id = setTimeout(() => timer.abort(new Error(`timed out after ${ms} ms`)), ms);
  return {
    signal: AbortSignal.any([timer.signal, ...signals]),
    [Symbol.dispose]: () => clearTimeout(id),
  };
}

/**
 * Camera payloads: `camera/frame`, `camera/capture`, `camera/image` and `camera/status`.
 *
 * @module
 */
import { z } from "zod";
import { lazySchema } from "../lazy_schema.ts";
import {
  base64String,
  detailString,
  epochSecondsField,
  idString,
  labelString,
  messageIdField,
  uuidHexField,
} from "./common.ts";

/** Image formats of a capture (py-tars `Literal["jpeg", "png", "raw"]`). */
export const CAMERA_IMAGE_FORMATS = ["jpeg", "png", "raw"] as const;
/** One of {@linkcode CAMERA_IMAGE_FORMATS}. */
export type CameraImageFormat = typeof CAMERA_IMAGE_FORMATS[number];

/** Image formats of a streamed frame. */
export const CAMERA_FRAME_FORMATS = ["jpeg", "png"] as const;
/** One of {@linkcode CAMERA_FRAME_FORMATS}. */
export type CameraFrameFormat = typeof CAMERA_FRAME_FORMATS[number];

/** The `event` values of {@linkcode CameraStatusUpdate}. */
export const CAMERA_STATUS_EVENTS = [
  "camera_ready",
  "camera_unavailable",
  "capture_started",
  "capture_completed",
  "capture_failed",
] as const;
/** One of {@linkcode CAMERA_STATUS_EVENTS}. */
export type CameraStatusEvent = typeof CAMERA_STATUS_EVENTS[number];

function cameraBase() {
  return {
    message_id: messageIdField(),
    timestamp: epochSecondsField("When the message was created (epoch seconds)."),
  };
}

/** Base64 characters of a captured image at most (about 12 MB of image; camera/image is 16 MiB). */
export const CAMERA_IMAGE_DATA_MAX = 16_000_000;

/** Base64 characters of a streamed frame at most (about 6 MB of JPEG; camera/frame is 8 MiB). */
export const CAMERA_FRAME_DATA_MAX = 8_000_000;

/** CameraCaptureRequest: asks camera-service for a still image, on `camera/capture`. */
export const CameraCaptureRequest = lazySchema(() =>
  z.strictObject({
    ...cameraBase(),
    request_id: uuidHexField("Request id (uuid4 hex); the image response echoes it."),
    format: z.enum(CAMERA_IMAGE_FORMATS).default("jpeg"),
    quality: z.int().min(1).max(100).default(85).meta({ description: "JPEG quality." }),
    width: z.int().min(1).nullish().meta({ description: "Desired width in pixels." }),
    height: z.int().min(1).nullish().meta({ description: "Desired height in pixels." }),
    purpose: labelString().nullish().meta({ description: "Why (for logging)." }),
  }).meta({ title: "CameraCaptureRequest", description: "A request for a still image." })
);
/** A parsed {@linkcode CameraCaptureRequest}. */
export type CameraCaptureRequest = z.output<typeof CameraCaptureRequest>;

/** CameraImageResponse: a captured image (or the failure), on `camera/image`. */
export const CameraImageResponse = lazySchema(() =>
  z.strictObject({
    ...cameraBase(),
    request_id: idString().meta({ description: "The capture request's `request_id`." }),
    image_data: base64String(CAMERA_IMAGE_DATA_MAX, "Base64-encoded image."),
    format: z.enum(CAMERA_IMAGE_FORMATS),
    width: z.int().min(0).meta({ description: "Actual width (0 if failed)." }),
    height: z.int().min(0).meta({ description: "Actual height (0 if failed)." }),
    size_bytes: z.int().min(0),
    success: z.boolean().default(true),
    error: detailString().nullish(),
    purpose: labelString().nullish(),
    capture_timestamp: epochSecondsField("When the image was captured (epoch seconds)."),
  }).meta({ title: "CameraImageResponse", description: "A captured image." })
);
/** A parsed {@linkcode CameraImageResponse}. */
export type CameraImageResponse = z.output<typeof CameraImageResponse>;

/** CameraStatusUpdate: a camera-service status change, on `camera/status`. */
export const CameraStatusUpdate = lazySchema(() =>
  z.strictObject({
    ...cameraBase(),
    event: z.enum(CAMERA_STATUS_EVENTS),
    request_id: idString().nullish(),
    detail: detailString().nullish(),
  }).meta({ title: "CameraStatusUpdate", description: "A camera-service status change." })
);
/** A parsed {@linkcode CameraStatusUpdate}. */
export type CameraStatusUpdate = z.output<typeof CameraStatusUpdate>;

/** CameraFrame: a live frame for visualisation, on `camera/frame`. */
export const CameraFrame = lazySchema(() =>
  z.strictObject({
    ...cameraBase(),
    frame_data: base64String(CAMERA_FRAME_DATA_MAX, "Base64-encoded frame."),
    format: z.enum(CAMERA_FRAME_FORMATS).default("jpeg"),
    width: z.int().min(1),
    height: z.int().min(1),
    frame_number: z.int().min(0),
    fps: z.number().min(0).nullish().meta({
      description: "Publish rate (py-tars: CAMERA_MQTT_RATE).",
    }),
  }).meta({ title: "CameraFrame", description: "A live camera frame." })
);
/** A parsed {@linkcode CameraFrame}. */
export type CameraFrame = z.output<typeof CameraFrame>;

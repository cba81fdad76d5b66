/**
 * Small async helpers shared by services and ops: {@linkcode abortableSleep}, a sleep that an
 * `AbortSignal` cuts short.
 *
 * @module
 */
export { abortableSleep } from "./sleep.ts";

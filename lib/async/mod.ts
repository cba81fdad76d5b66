/**
 * Small async helpers shared by services and ops: {@linkcode abortableSleep}, a sleep that an
 * `AbortSignal` cuts short, and {@linkcode timerDelayFor}, the delay that makes a timer standing
 * for a setting fire when the setting says.
 *
 * @module
 */
export { abortableSleep } from "./sleep.ts";
export { TIMER_LATENESS_MS, timerDelayFor } from "./timer.ts";

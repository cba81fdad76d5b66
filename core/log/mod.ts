/**
 * Logging: JSON lines or pretty text, `LOG_LEVEL`, secrets redacted.
 *
 * @module
 */
export {
  getLogger,
  type LogFormat,
  type Logger,
  type LoggingOptions,
  type LogLevel,
  type LogRecord,
  parseLogLevel,
  redactingSink,
  ROOT_CATEGORY,
  setupLogging,
  type Sink,
} from "./logging.ts";
export {
  LOG_STRING_LIMIT,
  type RedactOptions,
  redactSecrets,
  redactText,
  registerSecret,
} from "./redact.ts";
export { RateLimitedLog } from "./rate_limited.ts";

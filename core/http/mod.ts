/**
 * HTTP guards for the services that serve a page or a stream: Host allow-list (DNS
 * rebinding), token checks and size-limited request bodies.
 *
 * @module
 */
export {
  bearerToken,
  BodyTooLargeError,
  checkHttpExposure,
  HostAllowList,
  type HostAllowListOptions,
  type HostName,
  type HttpExposureSettings,
  isLoopbackHost,
  misdirected,
  parseAllowedHosts,
  parseHostName,
  readBodyLimited,
  tokenMatches,
} from "./guard.ts";

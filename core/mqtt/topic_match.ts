/**
 * MQTT topic filters: validation and matching with the MQTT 3.1.1/5 rules.
 *
 * - `+` matches exactly one level (also an empty one), `#` matches the parent and any
 *   number of levels below it: `a/#` matches `a` and `a/b/c` but never `abc`.
 * - Filters that start with a wildcard do not match topics that start with `$`
 *   (`#` does not see `$SYS/...`).
 * - `$share/<group>/<filter>` matches like `<filter>`.
 *
 * @module
 */

const SHARE_PREFIX = /^\$share\/([^/]*)\/(.*)$/s;

/** Returns the filter without a `$share/<group>/` prefix. */
export function stripSharePrefix(filter: string): string {
  const m = SHARE_PREFIX.exec(filter);
  return m ? m[2] : filter;
}

/** Returns why `filter` is not a valid subscription filter, or `null` when it is. */
export function topicFilterProblem(filter: string): string | null {
  if (filter === "") return "a topic filter must not be empty";
  if (filter.includes("\u0000")) return "a topic filter must not contain NUL";
  if (new TextEncoder().encode(filter).length > 65535) {
    return "a topic filter is at most 65535 bytes";
  }
  let inner = filter;
  const share = SHARE_PREFIX.exec(filter);
  if (filter.startsWith("$share/") || filter === "$share") {
    if (!share) return "a shared subscription is $share/<group>/<filter>";
    if (share[1] === "" || /[+#]/.test(share[1])) {
      return "the group of $share/<group>/<filter> must be non-empty without + or #";
    }
    inner = share[2];
    if (inner === "") return "a shared subscription needs a filter after $share/<group>/";
  }
  const levels = inner.split("/");
  for (let i = 0; i < levels.length; i++) {
    const level = levels[i];
    if (level.includes("#") && (level !== "#" || i !== levels.length - 1)) {
      return "'#' must be a whole level and the last one (e.g. a/#)";
    }
    if (level.includes("+") && level !== "+") return "'+' must be a whole level (e.g. a/+/c)";
  }
  return null;
}

/** Returns why `topic` cannot be published to, or `null` when it is valid. */
export function topicNameProblem(topic: string): string | null {
  if (topic === "") return "a topic must not be empty";
  if (/[+#]/.test(topic) || topic.includes("\u0000")) {
    return "a topic to publish must not contain '+', '#' or NUL";
  }
  if (new TextEncoder().encode(topic).length > 65535) return "a topic is at most 65535 bytes";
  return null;
}

/** Throws a descriptive error when `filter` is not a valid subscription filter. */
export function assertTopicFilter(filter: string): void {
  const problem = topicFilterProblem(filter);
  if (problem) throw new TypeError(`Invalid topic filter ${JSON.stringify(filter)}: ${problem}`);
}

/** Throws a descriptive error when `topic` is not a valid topic to publish to. */
export function assertTopicName(topic: string): void {
  const problem = topicNameProblem(topic);
  if (problem) throw new TypeError(`Invalid topic ${JSON.stringify(topic)}: ${problem}`);
}

/** Whether the concrete `topic` matches the subscription `filter`. */
export function topicMatches(filter: string, topic: string): boolean {
  const pattern = stripSharePrefix(filter);
  if (pattern === topic) return true;
  const f = pattern.split("/");
  const t = topic.split("/");
  if (topic.startsWith("$") && (f[0] === "+" || f[0] === "#")) return false;
  for (let i = 0; i < f.length; i++) {
    if (f[i] === "#") return i === f.length - 1;
    if (i >= t.length) return false;
    if (f[i] !== "+" && f[i] !== t[i]) return false;
  }
  return f.length === t.length;
}

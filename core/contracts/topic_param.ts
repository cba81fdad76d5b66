/**
 * The one pattern of a `{param}` in a topic template (`system/health/{client_id}`), shared by
 * the template helpers (core/contracts/topic.ts) and the topic table's matchers
 * (core/contracts/topics.ts). Internal: not exported from core/mod.ts.
 *
 * @module
 */

/**
 * A `{param}` of a topic template; group 1 is the parameter's name. Global: use it with
 * `replace`, `matchAll` or `split` (which then puts each name at the odd indexes).
 */
export const TOPIC_PARAM = /\{([a-z_][a-z0-9_]*)\}/g;

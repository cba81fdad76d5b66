/**
 * Payload schemas built on first use. Building the ~70 zod schemas of the contracts when
 * `core/mod.ts` is imported cost every service about 2 MiB of memory (the schema objects and
 * the code that builds them), although a service uses a handful of topics.
 * {@linkcode lazySchema} returns a stand-in that builds the schema the first time anything
 * reads it, and behaves as the schema from then on: `.parse()`, `instanceof`, nesting in
 * other schemas and the metadata in `z.globalRegistry` all see the real one. Only
 * `z.toJSONSchema` needs the real schema itself ({@linkcode builtSchema}).
 *
 * @module
 */
import { z } from "zod";

/** The builders of the stand-ins made by {@linkcode lazySchema}. */
const builders = new WeakMap<object, () => z.ZodType>();

/**
 * A schema built by `build` when it is first used (any property read, `in`, `instanceof`).
 * The result has the exact type of the built schema.
 *
 * @example
 * ```ts
 * import { z } from "zod";
 * import { lazySchema } from "./lazy_schema.ts";
 *
 * const Ping = lazySchema(() => z.strictObject({ ok: z.boolean() }).meta({ title: "Ping" }));
 * Ping.parse({ ok: true }); // built here
 * ```
 */
export function lazySchema<S extends z.ZodType>(build: () => S): S {
  let real: S | undefined;
  const schema = (): S => {
    if (real === undefined) {
      real = build();
      // `.meta()` registered the built schema; the stand-in carries the same metadata.
      const meta = z.globalRegistry.get(real);
      if (meta && !z.globalRegistry.has(standIn)) z.globalRegistry.add(standIn, meta);
    }
    return real;
  };
  const standIn = new Proxy({} as S, {
    get: (_target, key) => Reflect.get(schema(), key),
    set: (_target, key, value) => Reflect.set(schema(), key, value),
    has: (_target, key) => Reflect.has(schema(), key),
    deleteProperty: (_target, key) => Reflect.deleteProperty(schema(), key),
    defineProperty: (_target, key, descriptor) => Reflect.defineProperty(schema(), key, descriptor),
    ownKeys: () => Reflect.ownKeys(schema()),
    getOwnPropertyDescriptor: (_target, key) => {
      const descriptor = Reflect.getOwnPropertyDescriptor(schema(), key);
      // A proxy may not report a non-configurable property its (empty) target lacks.
      return descriptor && { ...descriptor, configurable: true };
    },
    getPrototypeOf: () => Reflect.getPrototypeOf(schema()),
  });
  builders.set(standIn, schema);
  return standIn;
}

/**
 * The real schema behind a {@linkcode lazySchema} stand-in (built now if need be); any other
 * schema as it is. Parsing works through the stand-in, but `z.toJSONSchema` tracks schemas by
 * identity: pass it real schemas, and nest real ones when a schema contains another payload's.
 */
export function builtSchema<S extends z.ZodType>(schema: S): S {
  const build = builders.get(schema);
  return build ? build() as S : schema;
}

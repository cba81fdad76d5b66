/**
 * The page's static files. The folder is read once at start into an allow-list of file
 * names, and a request is answered only when its path names one of them exactly, so no
 * spelling of `..`, encoded slashes or absolute paths can reach another file.
 *
 * @module
 */

/** Content types by file extension (the page uses only these). */
export const CONTENT_TYPES: Readonly<Record<string, string>> = Object.freeze({
  ".html": "text/html; charset=utf-8",
  ".js": "text/javascript; charset=utf-8",
  ".mjs": "text/javascript; charset=utf-8",
  ".css": "text/css; charset=utf-8",
  ".json": "application/json; charset=utf-8",
  ".svg": "image/svg+xml",
  ".png": "image/png",
  ".ico": "image/x-icon",
  ".txt": "text/plain; charset=utf-8",
  ".woff2": "font/woff2",
});

/** One file ready to serve. */
export interface StaticFile {
  /** The file's bytes. */
  readonly body: Uint8Array;
  /** Its `content-type`. */
  readonly contentType: string;
}

/** The default static folder: `static/` beside this module. */
export const DEFAULT_STATIC_DIR: URL = new URL("./static/", import.meta.url);

const SAFE_NAME = /^[A-Za-z0-9][A-Za-z0-9._-]*$/;

/** The files of one folder (not its subfolders), keyed by file name. */
export class StaticFiles {
  readonly #files: ReadonlyMap<string, StaticFile>;

  private constructor(files: Map<string, StaticFile>) {
    this.#files = files;
  }

  /**
   * Reads every regular file of `dir` with a known extension and a plain name
   * (letters, digits, `.`, `_`, `-`; no leading dot). Symlinks and subfolders are skipped.
   */
  static async load(dir: URL | string = DEFAULT_STATIC_DIR): Promise<StaticFiles> {
    const files = new Map<string, StaticFile>();
    for await (const item of Deno.readDir(dir)) {
      if (!item.isFile || !SAFE_NAME.test(item.name)) continue;
      const type = CONTENT_TYPES[extension(item.name)];
      if (!type) continue;
      const path = dir instanceof URL ? new URL(item.name, dir) : `${dir}/${item.name}`;
      files.set(item.name, { body: await Deno.readFile(path), contentType: type });
    }
    if (!files.has("index.html")) {
      throw new Error(`the ui-web static folder ${String(dir)} has no index.html`);
    }
    return new StaticFiles(files);
  }

  /** The served file names. */
  names(): string[] {
    return [...this.#files.keys()].sort();
  }

  /**
   * The file a URL path names: `/` is `index.html`, `/static/<name>` is `<name>`; anything
   * else (including every escape attempt) is `undefined`.
   */
  lookup(pathname: string): StaticFile | undefined {
    if (pathname === "/" || pathname === "/index.html") return this.#files.get("index.html");
    const prefix = "/static/";
    if (!pathname.startsWith(prefix)) return undefined;
    const name = pathname.slice(prefix.length);
    if (!SAFE_NAME.test(name)) return undefined; // rejects "..", "%2e", "/", "\\", NUL...
    return this.#files.get(name);
  }

  /** A response for `pathname` (GET or HEAD), or `undefined` when it names no file. */
  respond(pathname: string, method: string, headers: HeadersInit = {}): Response | undefined {
    const file = this.lookup(pathname);
    if (!file) return undefined;
    const responseHeaders = new Headers(headers);
    responseHeaders.set("content-type", file.contentType);
    responseHeaders.set("content-length", String(file.body.length));
    responseHeaders.set("cache-control", "no-cache");
    responseHeaders.set("x-content-type-options", "nosniff");
    return new Response(method === "HEAD" ? null : file.body.slice(), {
      headers: responseHeaders,
    });
  }
}

function extension(name: string): string {
  const dot = name.lastIndexOf(".");
  return dot > 0 ? name.slice(dot).toLowerCase() : "";
}

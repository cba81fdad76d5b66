import assert from "node:assert/strict";
import { DEFAULT_STATIC_DIR, StaticFiles } from "../../services/ui-web/static_files.ts";

Deno.test("static files: only plain names of the folder are served", async () => {
  const root = await Deno.makeTempDir({ prefix: "ui-web-static-" });
  try {
    const dir = `${root}/static`;
    await Deno.mkdir(dir);
    await Deno.mkdir(`${dir}/sub`);
    await Deno.writeTextFile(`${dir}/index.html`, "<!doctype html>");
    await Deno.writeTextFile(`${dir}/app.js`, "console.log(1)");
    await Deno.writeTextFile(`${dir}/.env`, "SECRET=1");
    await Deno.writeTextFile(`${dir}/notes.md`, "unknown type");
    await Deno.writeTextFile(`${dir}/sub/inner.js`, "inner");
    await Deno.writeTextFile(`${root}/secret.js`, "outside");
    await Deno.symlink(`${root}/secret.js`, `${dir}/link.js`);
    const files = await StaticFiles.load(dir);
    assert.deepEqual(files.names(), ["app.js", "index.html"]);
    assert.equal(files.lookup("/")?.contentType, "text/html; charset=utf-8");
    assert.equal(files.lookup("/static/app.js")?.contentType, "text/javascript; charset=utf-8");
    for (
      const path of [
        "/static/../secret.js",
        "/static/..%2fsecret.js",
        "/static/%2e%2e/secret.js",
        "/static/sub/inner.js",
        "/static/link.js",
        "/static/.env",
        "/static/notes.md",
        "/static//etc/passwd",
        "/etc/passwd",
        "/app.js",
        "/static/app.js\0",
        "/static/",
      ]
    ) {
      assert.equal(files.lookup(path), undefined, path);
      assert.equal(files.respond(path, "GET"), undefined, path);
    }
    const head = files.respond("/static/app.js", "HEAD")!;
    assert.equal(head.headers.get("content-length"), "14");
    assert.equal(await head.text(), "");
  } finally {
    await Deno.remove(root, { recursive: true });
  }
});

Deno.test("static files: a folder without index.html is an error", async () => {
  const dir = await Deno.makeTempDir({ prefix: "ui-web-static-" });
  try {
    await assert.rejects(StaticFiles.load(dir), /has no index\.html/);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("static files: the shipped page", async () => {
  const files = await StaticFiles.load(DEFAULT_STATIC_DIR);
  assert.deepEqual(files.names(), [
    "app.js",
    "favicon.svg",
    "index.html",
    "mic-worklet.js",
    "style.css",
    "turns.js",
  ]);
});

/**
 * HTTP requests over a plain TCP connection, for what fetch will not send: a forged `Host`
 * header, a `Content-Length` with no body behind it, an endless chunked body.
 *
 * @module
 */

/** The start of an answer: status line and headers (the body is not waited for). */
export interface RawAnswer {
  /** HTTP status. */
  readonly status: number;
  /** Header names lowercased. */
  readonly headers: Record<string, string>;
  /** Whatever body bytes came with the headers, as text. */
  readonly bodyStart: string;
}

/** One request to send with {@linkcode rawRequest}. */
export interface RawRequest {
  /** Default `GET`. */
  readonly method?: string;
  /** Path and query, sent as is. */
  readonly path: string;
  /** The Host header; `null` sends none. */
  readonly host: string | null;
  /** Extra headers. */
  readonly headers?: Record<string, string>;
  /** A body; its Content-Length is added unless `headers` has one. */
  readonly body?: string;
}

const encoder = new TextEncoder();

/** Sends `req` to 127.0.0.1:`port` and reads up to the end of the answer's headers. */
export async function rawRequest(
  port: number,
  req: RawRequest,
  timeoutMs = 10_000,
): Promise<RawAnswer> {
  const conn = await Deno.connect({ hostname: "127.0.0.1", port });
  try {
    const headers: Record<string, string> = { connection: "close", ...req.headers };
    if (req.host !== null) headers.host = req.host;
    if (req.body !== undefined && !("content-length" in headers)) {
      headers["content-length"] = String(encoder.encode(req.body).length);
    }
    const head = `${req.method ?? "GET"} ${req.path} HTTP/1.1\r\n` +
      Object.entries(headers).map(([k, v]) => `${k}: ${v}\r\n`).join("") + "\r\n";
    await conn.write(encoder.encode(head + (req.body ?? "")));
    return await readAnswer(conn, timeoutMs);
  } finally {
    try {
      conn.close();
    } catch { /* closed */ }
  }
}

/** Reads from `conn` until the answer's headers are complete; rejects after `timeoutMs`. */
export async function readAnswer(conn: Deno.Conn, timeoutMs = 10_000): Promise<RawAnswer> {
  const decoder = new TextDecoder();
  let text = "";
  const buf = new Uint8Array(16_384);
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(
      () => reject(new Error(`no complete answer within ${timeoutMs} ms: ${text.slice(0, 200)}`)),
      timeoutMs,
    );
  });
  try {
    while (!text.includes("\r\n\r\n")) {
      const n = await Promise.race([conn.read(buf), timeout]);
      if (n === null) break;
      text += decoder.decode(buf.subarray(0, n), { stream: true });
    }
  } finally {
    clearTimeout(timer);
  }
  const cut = text.indexOf("\r\n\r\n");
  if (cut < 0) throw new Error(`the connection closed before the headers: ${text.slice(0, 200)}`);
  const [statusLine, ...lines] = text.slice(0, cut).split("\r\n");
  const headers: Record<string, string> = {};
  for (const line of lines) {
    const colon = line.indexOf(":");
    if (colon > 0) {
      headers[line.slice(0, colon).trim().toLowerCase()] = line.slice(colon + 1).trim();
    }
  }
  return { status: Number(statusLine.split(" ")[1]), headers, bodyStart: text.slice(cut + 4) };
}

/**
 * POSTs an endless-looking chunked body (`totalBytes` of JSON-ish filler in 4 KiB chunks) to
 * 127.0.0.1:`port` and reads the answer while writing. `finished` tells whether the whole body
 * had been written when the answer came: a server that buffers before checking answers only
 * after the end.
 */
export async function chunkedFlood(
  port: number,
  path: string,
  totalBytes: number,
  headers: Record<string, string> = {},
): Promise<{ answer: RawAnswer; finished: boolean; written: number }> {
  const conn = await Deno.connect({ hostname: "127.0.0.1", port });
  let finished = false;
  let written = 0;
  let stop = false;
  const chunk = encoder.encode(`1000\r\n${" ".repeat(4096)}\r\n`);
  const writer = (async () => {
    try {
      const head = `POST ${path} HTTP/1.1\r\nhost: 127.0.0.1:${port}\r\n` +
        "content-type: application/json\r\ntransfer-encoding: chunked\r\n" +
        Object.entries(headers).map(([k, v]) => `${k}: ${v}\r\n`).join("") + "\r\n";
      await conn.write(encoder.encode(head));
      while (!stop && written < totalBytes) {
        await conn.write(chunk);
        written += 4096;
      }
      if (!stop) {
        await conn.write(encoder.encode("0\r\n\r\n"));
        finished = true;
      }
    } catch {
      // the server closed the connection: expected once it refused the body
    }
  })();
  try {
    const answer = await readAnswer(conn, 60_000);
    const wasFinished = finished;
    stop = true;
    return { answer, finished: wasFinished, written };
  } finally {
    stop = true;
    try {
      conn.close();
    } catch { /* closed */ }
    await writer;
  }
}

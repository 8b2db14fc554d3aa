import { timingSafeEqual } from "node:crypto";
import { readFile } from "node:fs/promises";
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { StanzaError, xml } from "annex";
import type { HttpOptions } from "../options.js";
import { NS_JSON } from "../pubsub/errors.js";
import type { FeedSink } from "../publish.js";

const ROUTE = /^\/nodes\/([^/]+)\/items\/?$/;

class HttpError extends Error {
  constructor(
    readonly status: number,
    message: string,
    readonly headers: Record<string, string> = {},
  ) {
    super(message);
  }
}

/**
 * HTTP ingest: `POST /nodes/<node>/items` with `Authorization: Bearer <token>` and a JSON body
 * publishes the body as XEP-0335 JSON to the node (optional `?id=` item id). Answers 200 with the
 * item id after the commit; 401 bad token, 400 malformed JSON, 404 unknown node, 405 wrong method,
 * 413 body too big, 429 over the node's rate limit. Nothing is published on an error.
 */
export class HttpIngest {
  private constructor(
    private readonly server: Server,
    readonly port: number,
  ) {}

  static async start(service: FeedSink, options: HttpOptions): Promise<HttpIngest> {
    const token = options.token ?? (await readFile(options.tokenFile!, "utf8")).replace(/\r?\n$/, "");
    if (!token) throw new Error(`http.tokenFile ${options.tokenFile} is empty`);
    const server = createServer((req, res) => {
      handle(service, options, token, req)
        .then((body) => reply(res, 200, body))
        .catch((err: unknown) => {
          if (err instanceof HttpError) return reply(res, err.status, { error: err.message }, err.headers);
          service.log.error({ err }, "HTTP ingest failed");
          reply(res, 500, { error: "internal error" });
        });
    });
    await new Promise<void>((resolve, reject) => {
      server.once("error", reject);
      server.listen(options.port, options.host, () => resolve());
    });
    const port = (server.address() as AddressInfo).port;
    service.log.info({ host: options.host, port }, "feed HTTP ingest listening");
    return new HttpIngest(server, port);
  }

  async stop(): Promise<void> {
    await new Promise<void>((resolve) => {
      this.server.close(() => resolve());
      this.server.closeAllConnections();
    });
  }
}

async function handle(service: FeedSink, options: HttpOptions, token: string, req: IncomingMessage): Promise<unknown> {
  if (!validToken(req.headers.authorization, token)) throw new HttpError(401, "missing or wrong bearer token", { "WWW-Authenticate": 'Bearer realm="annex-feed"' });
  const url = new URL(req.url ?? "/", "http://ingest");
  const match = ROUTE.exec(url.pathname);
  if (!match) throw new HttpError(404, "expected POST /nodes/<node>/items");
  const node = decodeURIComponent(match[1]!);
  if (!service.nodes.has(node)) throw new HttpError(404, `no node ${JSON.stringify(node)}`);
  if (req.method !== "POST") throw new HttpError(405, `use POST, not ${req.method}`, { Allow: "POST" });
  const text = await readBody(req, options.maxBodyBytes);
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (err) {
    throw new HttpError(400, `malformed JSON: ${(err as Error).message}`);
  }
  const id = url.searchParams.get("id") ?? undefined;
  if (id === "") throw new HttpError(400, "the id parameter must not be empty");
  try {
    const item = await service.publish(node, { id, payload: xml("json", { xmlns: NS_JSON }, JSON.stringify(value)), publisher: service.domain });
    return { node, id: item.id };
  } catch (err) {
    if (!(err instanceof StanzaError)) throw err;
    const status = { "resource-constraint": 429, "not-acceptable": 413, conflict: 409, "item-not-found": 404 }[err.condition as string] ?? 400;
    throw new HttpError(status, err.text ?? err.condition, status === 429 ? { "Retry-After": "1" } : {});
  }
}

function validToken(header: string | undefined, token: string): boolean {
  const match = /^Bearer\s+(.+)$/i.exec(header ?? "");
  if (!match) return false;
  const given = Buffer.from(match[1]!.trim());
  const expected = Buffer.from(token);
  return given.length === expected.length && timingSafeEqual(given, expected);
}

function readBody(req: IncomingMessage, max: number): Promise<string> {
  const declared = Number(req.headers["content-length"] ?? 0);
  if (declared > max) return Promise.reject(new HttpError(413, `the body is ${declared} bytes; at most ${max} are accepted`));
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on("data", (chunk: Buffer) => {
      size += chunk.length;
      if (size > max) {
        reject(new HttpError(413, `the body exceeds ${max} bytes`));
        // Drain the rest unread so the 413 can still be sent on this connection.
        req.removeAllListeners("data");
        req.resume();
        return;
      }
      chunks.push(chunk);
    });
    req.on("end", () => resolve(Buffer.concat(chunks).toString("utf8")));
    req.on("error", reject);
  });
}

function reply(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  if (res.headersSent) return;
  res.writeHead(status, { "Content-Type": "application/json", Connection: "close", ...headers });
  res.end(JSON.stringify(body));
}

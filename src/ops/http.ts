import { createServer, type Server } from "node:http";

export interface HealthReport {
  ok: boolean;
  components: Record<string, { state: string; lastError?: string }>;
}

export interface OpsEndpoints {
  metrics: () => Promise<string>;
  health: () => HealthReport;
}

/** /metrics (Prometheus text format) and /healthz (200 when every component is online, else 503). */
export async function startOpsServer(host: string, port: number, endpoints: OpsEndpoints): Promise<Server> {
  const server = createServer((req, res) => {
    const path = (req.url ?? "/").split("?")[0];
    if (req.method !== "GET" && req.method !== "HEAD") {
      res.writeHead(405, { allow: "GET, HEAD" }).end();
      return;
    }
    if (path === "/metrics") {
      endpoints.metrics().then(
        (text) => res.writeHead(200, { "content-type": "text/plain; version=0.0.4; charset=utf-8" }).end(text),
        (err: unknown) => res.writeHead(500, { "content-type": "text/plain" }).end(String(err)),
      );
      return;
    }
    if (path === "/healthz") {
      const report = endpoints.health();
      const notOnline = Object.entries(report.components).filter(([, c]) => c.state !== "online").map(([domain]) => domain);
      const body = { status: report.ok ? "ok" : "unavailable", notOnline, components: report.components };
      res.writeHead(report.ok ? 200 : 503, { "content-type": "application/json" }).end(`${JSON.stringify(body)}\n`);
      return;
    }
    res.writeHead(404, { "content-type": "text/plain" }).end("not found: try /metrics or /healthz\n");
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(port, host, () => resolve());
  });
  return server;
}

// /healthz (the process answers) and /readyz (bundle loaded, consumer joined its group, database reachable) on
// a small HTTP port, for orchestrators and the local stack scripts. /stats adds counters and latencies as JSON.
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";

export interface ReadinessCheck {
  ready(): Promise<{ ready: boolean; checks: Record<string, boolean> }>;
  stats(): unknown;
}

export async function startHealthServer(
  host: string,
  port: number,
  check: ReadinessCheck,
): Promise<{ port: number; close(): Promise<void> }> {
  const server: Server = createServer((req, res) => {
    const send = (status: number, body: unknown) => {
      res.writeHead(status, { "content-type": "application/json", "cache-control": "no-store" });
      res.end(JSON.stringify(body));
    };
    const path = (req.url ?? "/").split("?")[0];
    if (req.method !== "GET") return send(405, { error: "GET only" });
    if (path === "/healthz") return send(200, { ok: true });
    if (path === "/readyz") {
      check
        .ready()
        .then((r) => send(r.ready ? 200 : 503, r))
        .catch((error: Error) => send(503, { ready: false, error: error.message }));
      return;
    }
    if (path === "/stats") return send(200, check.stats());
    send(404, { error: "not found" });
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(port, host, () => resolve());
  });
  return {
    port: (server.address() as AddressInfo).port,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

// A hospital app's live feed that survives gateway restarts: subscribes to tenantAnalysisUpdates, remembers
// the last `cursor` it received and, after the connection drops, reconnects with `after: <cursor>` so the
// gateway replays what happened meanwhile. A gateway whose schema has no `cursor` yet is detected (the
// subscription is refused as invalid) and the feed falls back to plain live updates: whatever happened while
// it was disconnected is then missed, and the suite counts it.
import { createClient, type Client } from "graphql-ws";
import WebSocket from "ws";

const TERMINAL = new Set(["SUCCEEDED", "FAILED", "CANCELLED"]);
const WITH_CURSOR = `subscription Feed($after: String) { tenantAnalysisUpdates(after: $after) { cursor status at analysis { id } } }`;
const LIVE_ONLY = `subscription Feed { tenantAnalysisUpdates { status at analysis { id } } }`;

interface Update {
  cursor?: string;
  status: string;
  analysis: { id: string };
}

export interface Subscriber {
  /** "cursor" once the gateway accepted a resumable subscription, "live" after falling back */
  mode(): "cursor" | "live" | "connecting";
  /** terminal transitions received, per analysis id (a count above 1 is a repeated delivery) */
  terminal: Map<string, number>;
  /** when the latest update (any status) arrived (ms since epoch) */
  lastEventAt(): number;
  connections(): number;
  stop(): Promise<void>;
}

/** graphql-ws hands the server's refusal of an operation over as an array of GraphQL errors (a dropped
 *  connection comes as a close event). The gateway masks validation errors, so the text cannot tell why. */
function isOperationRefusal(error: unknown): boolean {
  return Array.isArray(error);
}

export function startSubscriber(gatewayUrl: string, apiKey: string, log: (line: string) => void): Subscriber {
  const terminal = new Map<string, number>();
  let mode: "cursor" | "live" | "connecting" = "connecting";
  let cursorSupported = true;
  let cursor: string | null = null;
  let lastEventAt = 0;
  let connections = 0;
  let stopped = false;
  let client: Client | undefined;
  let retryTimer: NodeJS.Timeout | undefined;

  const reconnect = (delayMs: number) => {
    if (stopped) return;
    clearTimeout(retryTimer);
    retryTimer = setTimeout(connect, delayMs);
  };

  function connect() {
    if (stopped) return;
    void client?.dispose();
    const c = createClient({
      url: `${gatewayUrl.replace(/^http/, "ws")}/graphql`,
      webSocketImpl: WebSocket,
      connectionParams: { apiKey },
      lazy: false,
      // failures reach the subscription's error handler below (graphql-ws would also print them)
      onNonLazyError: () => undefined,
      // reconnection is ours: each new subscription must carry the latest cursor
      retryAttempts: 0,
      on: { connected: () => void (connections += 1) },
    });
    client = c;
    const query = cursorSupported ? WITH_CURSOR : LIVE_ONLY;
    c.subscribe<{ tenantAnalysisUpdates: Update }>(
      { query, variables: cursorSupported ? { after: cursor } : {} },
      {
        next: (message) => {
          const update = message.data?.tenantAnalysisUpdates;
          if (!update) return;
          mode = cursorSupported ? "cursor" : "live";
          lastEventAt = Date.now();
          if (update.cursor) cursor = update.cursor;
          if (TERMINAL.has(update.status)) terminal.set(update.analysis.id, (terminal.get(update.analysis.id) ?? 0) + 1);
        },
        error: (error) => {
          if (client !== c) return;
          // refused before any update came: this gateway does not know `cursor` / `after`
          if (
            cursorSupported &&
            cursor === null &&
            mode === "connecting" &&
            isOperationRefusal(error) &&
            !JSON.stringify(error).includes("RESYNC_REQUIRED")
          ) {
            cursorSupported = false;
            log("subscriber: the gateway has no resumable subscriptions (no AnalysisUpdate.cursor); live updates only");
            reconnect(0);
            return;
          }
          if (JSON.stringify(error).includes("RESYNC_REQUIRED")) {
            // the gateway will not replay that far back: what was missed is missed (the suite counts it)
            log("subscriber: RESYNC_REQUIRED; subscribing live from now");
            cursor = null;
          }
          reconnect(500);
        },
        complete: () => {
          if (client === c) reconnect(500);
        },
      },
    );
  }
  connect();
  return {
    mode: () => (mode === "connecting" && !cursorSupported ? "live" : mode),
    terminal,
    lastEventAt: () => lastEventAt,
    connections: () => connections,
    async stop() {
      stopped = true;
      clearTimeout(retryTimer);
      await client?.dispose();
    },
  };
}

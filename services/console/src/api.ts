/**
 * Talks to the gateway: GraphQL over HTTP POST, subscriptions over graphql-ws on the same path,
 * uploads over POST /upload and authenticated image downloads. The bearer token travels in the
 * Authorization header (HTTP) and in the graphql-ws connection_init payload (WebSocket).
 */
import { createClient, type Client } from "graphql-ws";
import type { Document } from "./queries.ts";

export type ApiErrorKind = "network" | "unauthenticated" | "forbidden" | "graphql" | "http";

export class ApiError extends Error {
  constructor(
    message: string,
    readonly kind: ApiErrorKind,
    readonly status?: number,
  ) {
    super(message);
    this.name = "ApiError";
  }
}

export type LiveState = "connecting" | "live" | "offline";

export interface UploadResult {
  uploadId: string;
  [key: string]: unknown;
}

/** A document from queries.ts: its generated result and variables types travel with the string. */
// biome-ignore lint/suspicious/noExplicitAny: matches every document; ResultOf / VariablesOf recover the real types
type AnyDocument = Document<any, any>;
export type ResultOf<D> = D extends Document<infer R, unknown> ? R : never;
export type VariablesOf<D> = D extends Document<unknown, infer V> ? V : never;

export interface Api {
  query<D extends AnyDocument>(document: D, variables?: VariablesOf<D>): Promise<ResultOf<D>>;
  subscribe<D extends AnyDocument>(
    document: D,
    variables: VariablesOf<D>,
    onData: (data: ResultOf<D>) => void,
    onError?: (err: ApiError) => void,
    resume?: Resume<ResultOf<D>>,
  ): () => void;
  upload(file: File): Promise<UploadResult>;
  fetchImage(url: string): Promise<Blob>;
  onLiveState(listener: (state: LiveState) => void): () => void;
  /** Called after the socket (re)connects, so views can refetch what they may have missed. */
  onReconnect(listener: () => void): () => void;
  /** Opens the subscription socket now (it also opens on the first subscribe). */
  connect(): void;
  dispose(): void;
}

/**
 * A subscription that resumes where it left off: after a reconnect it is sent again with `after` set to the cursor
 * of the last update received, so the gateway replays what happened meanwhile (issue 14, finding 9). When the
 * gateway answers RESYNC_REQUIRED (too old, too many missed), it is sent again without `after` and `onResync` lets
 * the view re-read its state with a query.
 */
export interface Resume<T> {
  cursorOf(data: T): string | null | undefined;
  onResync(): void;
}

interface GraphQLErrorShape {
  message: string;
  extensions?: { code?: string };
}

export function createApi(opts: { getToken: () => string | null; onUnauthenticated: () => void }): Api {
  const origin = window.location.origin;
  let ws: Client | null = null;
  let liveState: LiveState = "offline";
  let connectedOnce = false;
  const liveListeners = new Set<(s: LiveState) => void>();
  const reconnectListeners = new Set<() => void>();

  function setLive(state: LiveState): void {
    liveState = state;
    for (const l of liveListeners) l(state);
  }

  function authHeaders(): Record<string, string> {
    const token = opts.getToken();
    return token ? { authorization: `Bearer ${token}` } : {};
  }

  function toGraphQLError(errors: GraphQLErrorShape[]): ApiError {
    const codes = errors.map((e) => e.extensions?.code);
    const message = errors.map((e) => e.message).join("; ");
    if (codes.includes("UNAUTHENTICATED")) {
      opts.onUnauthenticated();
      return new ApiError(message || "Your session has ended. Please sign in again.", "unauthenticated");
    }
    if (codes.includes("FORBIDDEN")) return new ApiError(message || "You do not have permission for this.", "forbidden");
    return new ApiError(message || "The server reported an error.", "graphql");
  }

  async function request(url: string, init: RequestInit): Promise<Response> {
    try {
      return await fetch(url, init);
    } catch {
      throw new ApiError("Cannot reach the gateway. Check your connection and try again.", "network");
    }
  }

  function socket(): Client {
    if (ws) return ws;
    const url = `${origin.replace(/^http/, "ws")}/graphql`;
    setLive("connecting");
    ws = createClient({
      url,
      // Stay connected while signed in, so the header's live indicator means something on every page.
      lazy: false,
      connectionParams: () => ({ ...authHeaders() }),
      retryAttempts: Number.MAX_SAFE_INTEGER,
      shouldRetry: () => opts.getToken() !== null,
      on: {
        connecting: () => setLive("connecting"),
        connected: () => {
          setLive("live");
          if (connectedOnce) for (const l of reconnectListeners) l();
          connectedOnce = true;
        },
        closed: () => setLive("offline"),
      },
    });
    return ws;
  }

  return {
    async query<T>(document: string, variables: Record<string, unknown> = {}): Promise<T> {
      const res = await request(`${origin}/graphql`, {
        method: "POST",
        headers: { "content-type": "application/json", accept: "application/json", ...authHeaders() },
        body: JSON.stringify({ query: document, variables }),
      });
      let body: { data?: T; errors?: GraphQLErrorShape[] } | null = null;
      try {
        body = (await res.json()) as { data?: T; errors?: GraphQLErrorShape[] };
      } catch {
        body = null;
      }
      if (res.status === 401) {
        opts.onUnauthenticated();
        throw new ApiError("Your session has ended. Please sign in again.", "unauthenticated", 401);
      }
      if (body?.errors?.length) throw toGraphQLError(body.errors);
      if (!res.ok || !body?.data) throw new ApiError(`The gateway answered HTTP ${res.status}.`, "http", res.status);
      return body.data;
    },

    subscribe<T>(
      document: string,
      variables: Record<string, unknown>,
      onData: (data: T) => void,
      onError?: (err: ApiError) => void,
      resume?: Resume<T>,
    ) {
      // graphql-ws sends this payload again, as it is then, whenever it reconnects: `after` moves with each update
      const payload = { query: document, variables: { ...variables } as Record<string, unknown> };
      let dispose: () => void = () => undefined;
      let stopped = false;
      const start = () => {
        dispose = socket().subscribe(payload, {
          next: (msg) => {
            if (msg.errors?.length) return onError?.(toGraphQLError(msg.errors as GraphQLErrorShape[]));
            if (!msg.data) return;
            const cursor = resume?.cursorOf(msg.data as T);
            if (cursor) payload.variables.after = cursor;
            onData(msg.data as T);
          },
          error: (err) => {
            const errors = Array.isArray(err) ? (err as GraphQLErrorShape[]) : [];
            if (resume && !stopped && errors.some((e) => e.extensions?.code === "RESYNC_REQUIRED")) {
              delete payload.variables.after;
              resume.onResync();
              start();
              return;
            }
            const message = errors.length
              ? errors.map((e) => e.message).join("; ")
              : err instanceof Error
                ? err.message
                : "Live updates stopped.";
            onError?.(new ApiError(message, "network"));
          },
          complete: () => undefined,
        });
      };
      start();
      return () => {
        stopped = true;
        dispose();
      };
    },

    async upload(file: File): Promise<UploadResult> {
      const form = new FormData();
      form.append("file", file, file.name);
      const res = await request(`${origin}/upload`, { method: "POST", headers: authHeaders(), body: form });
      type UploadBody = { uploadId?: string; error?: { code?: string; message?: string } };
      let body: UploadBody | null = null;
      try {
        body = (await res.json()) as UploadBody;
      } catch {
        body = null;
      }
      if (res.status === 401) {
        opts.onUnauthenticated();
        throw new ApiError("Your session has ended. Please sign in again.", "unauthenticated", 401);
      }
      if (!res.ok || !body?.uploadId) {
        const msg = body?.error?.message ?? `The upload failed (HTTP ${res.status}).`;
        throw new ApiError(msg, "http", res.status);
      }
      return body as UploadResult;
    },

    async fetchImage(url: string): Promise<Blob> {
      const res = await request(new URL(url, origin).toString(), { headers: authHeaders() });
      if (!res.ok) throw new ApiError(`The image could not be loaded (HTTP ${res.status}).`, "http", res.status);
      return res.blob();
    },

    connect() {
      socket();
    },

    onLiveState(listener) {
      liveListeners.add(listener);
      listener(liveState);
      return () => liveListeners.delete(listener);
    },

    onReconnect(listener) {
      reconnectListeners.add(listener);
      return () => reconnectListeners.delete(listener);
    },

    dispose() {
      void ws?.dispose();
      ws = null;
      connectedOnce = false;
      setLive("offline");
    },
  };
}

// A small hospital-app client for the platform's public API: GraphQL over HTTP, subscriptions over
// graphql-ws, and the upload endpoint. The demo, the end-to-end tests and the benchmark use it, so they
// exercise the API exactly as an outside application would.
import { readFile } from "node:fs/promises";
import path from "node:path";
import { createClient, type Client } from "graphql-ws";
import WebSocket from "ws";

/** An API key, a bearer token, or none (only `login` works without credentials). */
export type Credentials = { apiKey: string } | { token: string } | { anonymous: true };

export interface GraphQLResponse<T> {
  data?: T;
  errors?: { message: string; extensions?: Record<string, unknown> }[];
}

export class ApiError extends Error {
  constructor(
    message: string,
    readonly status: number,
    readonly body: unknown,
  ) {
    super(message);
    this.name = "ApiError";
  }
}

export interface UploadResult {
  uploadId: string;
  sha256: string;
  format: string;
  width: number;
  height: number;
}

export interface PlatformClient {
  query<T>(query: string, variables?: Record<string, unknown>): Promise<T>;
  raw<T>(query: string, variables?: Record<string, unknown>): Promise<{ status: number; body: GraphQLResponse<T> }>;
  upload(bytes: Uint8Array, filename: string): Promise<UploadResult>;
  uploadFile(file: string): Promise<UploadResult>;
  subscribe<T>(query: string, variables: Record<string, unknown>, onData: (data: T) => void, onError?: (e: unknown) => void): () => void;
  close(): Promise<void>;
}

function authHeaders(credentials: Credentials): Record<string, string> {
  if ("apiKey" in credentials) return { "x-api-key": credentials.apiKey };
  if ("token" in credentials) return { authorization: `Bearer ${credentials.token}` };
  return {};
}

const CONTENT_TYPES: Record<string, string> = {
  ".png": "image/png",
  ".jpg": "image/jpeg",
  ".jpeg": "image/jpeg",
  ".dcm": "application/dicom",
};

export function createPlatformClient(baseUrl: string, credentials: Credentials): PlatformClient {
  const headers = authHeaders(credentials);
  let ws: Client | null = null;

  async function raw<T>(query: string, variables: Record<string, unknown> = {}) {
    const response = await fetch(`${baseUrl}/graphql`, {
      method: "POST",
      headers: { "content-type": "application/json", ...headers },
      body: JSON.stringify({ query, variables }),
    });
    const body = (await response.json()) as GraphQLResponse<T>;
    return { status: response.status, body };
  }

  async function upload(bytes: Uint8Array, filename: string): Promise<UploadResult> {
    const type = CONTENT_TYPES[path.extname(filename).toLowerCase()] ?? "application/octet-stream";
    const form = new FormData();
    form.append("file", new Blob([new Uint8Array(bytes)], { type }), filename);
    const response = await fetch(`${baseUrl}/upload`, { method: "POST", headers, body: form });
    const body = (await response.json()) as UploadResult & { error?: { code: string; message: string } };
    if (!response.ok)
      throw new ApiError(`upload of ${filename} refused: ${body.error?.code} ${body.error?.message}`, response.status, body);
    return body;
  }

  return {
    raw,
    async query<T>(query: string, variables: Record<string, unknown> = {}): Promise<T> {
      const { status, body } = await raw<T>(query, variables);
      if (body.errors?.length || !body.data) {
        throw new ApiError(`GraphQL error (${status}): ${body.errors?.map((e) => e.message).join("; ") ?? "no data"}`, status, body);
      }
      return body.data;
    },
    upload,
    async uploadFile(file: string) {
      return upload(new Uint8Array(await readFile(file)), path.basename(file));
    },
    subscribe<T>(query: string, variables: Record<string, unknown>, onData: (data: T) => void, onError?: (e: unknown) => void) {
      ws ??= createClient({
        url: `${baseUrl.replace(/^http/, "ws")}/graphql`,
        webSocketImpl: WebSocket,
        connectionParams: "apiKey" in credentials ? { apiKey: credentials.apiKey } : { authorization: headers.authorization ?? "" },
        lazy: true,
        retryAttempts: 3,
      });
      return ws.subscribe<T>(
        { query, variables },
        {
          next: (message) => {
            if (message.data) onData(message.data as T);
            else if (message.errors) onError?.(message.errors);
          },
          error: (error) => onError?.(error),
          complete: () => undefined,
        },
      );
    },
    async close() {
      await ws?.dispose();
      ws = null;
    },
  };
}

/** Exchanges a console user's e-mail and password for a bearer token. */
export async function login(baseUrl: string, email: string, password: string): Promise<string> {
  const client = createPlatformClient(baseUrl, { anonymous: true });
  const data = await client.query<{ login: { token: string | null; errors: { message: string }[] } }>(
    `mutation Login($email: String!, $password: String!) { login(email: $email, password: $password) { token errors { message } } }`,
    { email, password },
  );
  if (!data.login.token) throw new ApiError(`login failed: ${data.login.errors.map((e) => e.message).join("; ")}`, 200, data);
  return data.login.token;
}

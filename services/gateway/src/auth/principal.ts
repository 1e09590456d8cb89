// Who is calling: resolved once per HTTP request / WebSocket operation from the credentials, in one place.
// Bearer tokens (people) are re-checked against their session (not revoked, not expired) and the user row
// (not disabled) in one query; API keys (apps) against their hash and revocation. So logout, revocation or a
// disabled user lose access at once; a revoked key within API_KEY_CACHE_SECONDS (auth/api-key-cache.ts). An API key's last use is recorded, at most once per
// `apiKeyLastUsedIntervalSeconds` (a conditional write, so several replicas together still write about once).
import type { Repositories } from "../../../../lib/db/index.ts";
import type { Role } from "../graphql/models.ts";
import { verifyToken } from "./tokens.ts";

export interface Principal {
  kind: "user" | "apikey";
  id: string;
  tenantId: string;
  role: Role;
  /** "user:<id>" or "apikey:<id>", recorded on audit events and analyses. */
  actor: string;
  /** Display data for Viewer (API keys show their name). */
  email: string;
  name: string;
  /** The session a bearer token names (null for API keys). */
  sessionId: string | null;
}

export interface Credentials {
  authorization?: string | null;
  apiKey?: string | null;
}

export interface AuthOptions {
  tokenSecret: string;
  /** an API key's lastUsedAt is rewritten only when older than this (0: on every use) */
  apiKeyLastUsedIntervalSeconds: number;
  /** false: a re-check of an open connection, not a use (lastUsedAt untouched) */
  recordUse?: boolean;
}

/** What authentication reads: sessions (bearer tokens) and API keys. */
export type AuthStore = Pick<Repositories, "sessions" | "apiKeys">;

/** Returns the principal, `null` when no credentials were sent, or throws `InvalidCredentials` for bad ones. */
export class InvalidCredentials extends Error {
  constructor(message: string) {
    super(message);
    this.name = "InvalidCredentials";
  }
}

async function recordKeyUse(store: AuthStore, key: { id: string; lastUsedAt: Date | null }, intervalSeconds: number, now: Date) {
  const cutoff = new Date(now.getTime() - intervalSeconds * 1000);
  if (key.lastUsedAt && key.lastUsedAt > cutoff) return;
  await store.apiKeys.recordUse(key.id, cutoff, now);
}

export async function authenticate(store: AuthStore, credentials: Credentials, options: AuthOptions): Promise<Principal | null> {
  const header = credentials.authorization?.trim();
  const apiKey = credentials.apiKey?.trim();
  const now = new Date();
  if (header) {
    const match = /^Bearer\s+(\S+)$/i.exec(header);
    if (!match) throw new InvalidCredentials("Authorization header must be `Bearer <token>`.");
    const claims = verifyToken(match[1]!, options.tokenSecret, now.getTime());
    if (!claims) throw new InvalidCredentials("The bearer token is invalid or has expired; log in again.");
    const user = await store.sessions.userOfOpenSession({ userId: claims.sub, tenantId: claims.tid, sessionId: claims.sid }, now);
    if (!user) throw new InvalidCredentials("The bearer token was revoked, or its user no longer exists or is disabled; log in again.");
    return {
      kind: "user",
      id: user.id,
      tenantId: user.tenantId,
      role: user.role,
      actor: `user:${user.id}`,
      email: user.email,
      name: user.name,
      sessionId: claims.sid,
    };
  }
  if (apiKey) {
    const key = await store.apiKeys.findActiveByKey(apiKey);
    if (!key) throw new InvalidCredentials("The API key is unknown or revoked.");
    if (options.recordUse !== false) await recordKeyUse(store, key, options.apiKeyLastUsedIntervalSeconds, now);
    return {
      kind: "apikey",
      id: key.id,
      tenantId: key.tenantId,
      role: key.role,
      actor: `apikey:${key.id}`,
      email: `${key.prefix}@api-keys`,
      name: key.name,
      sessionId: null,
    };
  }
  return null;
}

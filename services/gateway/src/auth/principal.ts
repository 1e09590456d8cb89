// Who is calling: resolved once per HTTP request / WebSocket operation from the credentials, in one place.
// Bearer tokens (people) are re-checked against their session (not revoked, not expired) and the user row
// (not disabled) in one query; API keys (apps) against their hash and revocation. So logout, revocation, a
// disabled user or a revoked key lose access at once. An API key's last use is recorded, at most once per
// `apiKeyLastUsedIntervalSeconds` (a conditional write, so several replicas together still write about once).
import { createHash } from "node:crypto";
import type { Db } from "../repositories-ext/db.ts";
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

export function hashApiKey(key: string): string {
  return createHash("sha256").update(key).digest("hex");
}

/** Returns the principal, `null` when no credentials were sent, or throws `InvalidCredentials` for bad ones. */
export class InvalidCredentials extends Error {
  constructor(message: string) {
    super(message);
    this.name = "InvalidCredentials";
  }
}

async function recordKeyUse(db: Db, key: { id: string; lastUsedAt: Date | null }, intervalSeconds: number, now: Date) {
  const cutoff = new Date(now.getTime() - intervalSeconds * 1000);
  if (key.lastUsedAt && key.lastUsedAt > cutoff) return;
  await db.apiKey.updateMany({
    where: { id: key.id, OR: [{ lastUsedAt: null }, { lastUsedAt: { lte: cutoff } }] },
    data: { lastUsedAt: now },
  });
}

export async function authenticate(db: Db, credentials: Credentials, options: AuthOptions): Promise<Principal | null> {
  const header = credentials.authorization?.trim();
  const apiKey = credentials.apiKey?.trim();
  const now = new Date();
  if (header) {
    const match = /^Bearer\s+(\S+)$/i.exec(header);
    if (!match) throw new InvalidCredentials("Authorization header must be `Bearer <token>`.");
    const claims = verifyToken(match[1]!, options.tokenSecret, now.getTime());
    if (!claims) throw new InvalidCredentials("The bearer token is invalid or has expired; log in again.");
    const user = await db.user.findFirst({
      where: {
        id: claims.sub,
        tenantId: claims.tid,
        disabled: false,
        sessions: { some: { id: claims.sid, revokedAt: null, expiresAt: { gt: now } } },
      },
    });
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
    const key = await db.apiKey.findUnique({ where: { keyHash: hashApiKey(apiKey) } });
    if (!key || key.revokedAt) throw new InvalidCredentials("The API key is unknown or revoked.");
    if (options.recordUse !== false) await recordKeyUse(db, key, options.apiKeyLastUsedIntervalSeconds, now);
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

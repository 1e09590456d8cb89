// Who is calling: resolved once per HTTP request / WebSocket connection from the credentials, in one place.
// Bearer tokens (people) are re-checked against the user row, API keys (apps) against their hash and
// revocation, so a disabled user or a revoked key loses access at once.
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
}

export interface Credentials {
  authorization?: string | null;
  apiKey?: string | null;
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

export async function authenticate(db: Db, credentials: Credentials, tokenSecret: string): Promise<Principal | null> {
  const header = credentials.authorization?.trim();
  const apiKey = credentials.apiKey?.trim();
  if (header) {
    const match = /^Bearer\s+(\S+)$/i.exec(header);
    if (!match) throw new InvalidCredentials("Authorization header must be `Bearer <token>`.");
    const claims = verifyToken(match[1]!, tokenSecret);
    if (!claims) throw new InvalidCredentials("The bearer token is invalid or has expired; log in again.");
    const user = await db.user.findFirst({ where: { id: claims.sub, tenantId: claims.tid, disabled: false } });
    if (!user) throw new InvalidCredentials("The bearer token's user no longer exists or is disabled.");
    return {
      kind: "user",
      id: user.id,
      tenantId: user.tenantId,
      role: user.role,
      actor: `user:${user.id}`,
      email: user.email,
      name: user.name,
    };
  }
  if (apiKey) {
    const key = await db.apiKey.findUnique({ where: { keyHash: hashApiKey(apiKey) } });
    if (!key || key.revokedAt) throw new InvalidCredentials("The API key is unknown or revoked.");
    return {
      kind: "apikey",
      id: key.id,
      tenantId: key.tenantId,
      role: key.role,
      actor: `apikey:${key.id}`,
      email: `${key.prefix}@api-keys`,
      name: key.name,
    };
  }
  return null;
}

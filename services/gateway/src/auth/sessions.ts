// Login sessions (issue 14, finding 7e): every bearer token names a Session row, checked on every request
// (auth/principal.ts). Logout revokes one session, revokeSessions every open session of a user. Revocations
// are announced on this replica at once (open WebSockets of those sessions are closed, see ws-sessions.ts);
// other replicas notice at their next re-check of open sockets.
import { EventEmitter } from "node:events";
import type { Repositories } from "../../../../lib/db/index.ts";
import { issueToken } from "./tokens.ts";

export interface Revocation {
  /** revoked sessions (logout) */
  sessionIds?: string[];
  /** every session of this user was revoked */
  userId?: string;
}

/** This replica's announcements of revoked sessions (the WebSocket server listens). */
export class Revocations extends EventEmitter<{ revoked: [Revocation] }> {
  announce(revocation: Revocation): void {
    this.emit("revoked", revocation);
  }
}

const PRUNE_EVERY_MS = 3600_000;
/** Sessions are kept a day past their expiry (the audit trail names them), then deleted. */
const KEEP_EXPIRED_MS = 24 * 3600_000;
let lastPrune = 0;

export async function openSession(
  sessions: Repositories["sessions"],
  user: { id: string; tenantId: string },
  auth: { tokenSecret: string; tokenTtlSeconds: number },
  now = Date.now(),
): Promise<string> {
  if (now - lastPrune > PRUNE_EVERY_MS) {
    lastPrune = now;
    await sessions.pruneExpiredBefore(new Date(now - KEEP_EXPIRED_MS));
  }
  const session = await sessions.open({ tenantId: user.tenantId, userId: user.id, expiresAt: new Date(now + auth.tokenTtlSeconds * 1000) });
  return issueToken({ sub: user.id, tid: user.tenantId, sid: session.id }, auth.tokenSecret, auth.tokenTtlSeconds, now);
}

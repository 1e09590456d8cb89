// Subscription cursors: an opaque string naming one position of the transition log and the tenant it was
// issued to. The tenant inside is checked against the caller (a cursor is no capability: a forged one of the
// caller's own tenant only replays that tenant's rows), and the position against the log, so that a pruned
// or too old position says "resync" instead of silently skipping what was lost.
import { GraphQLError } from "graphql";
import type { Position, TransitionRepository } from "../../../../lib/db/repositories/transitions.ts";

const VERSION = "c1";
const DIGITS = /^(0|[1-9][0-9]{0,19})$/;
const MAX_CURSOR_CHARS = 200;

export interface ReplayLimits {
  /** more missed transitions than this: RESYNC_REQUIRED */
  maxRows: number;
  /** a cursor older than this: RESYNC_REQUIRED */
  maxAgeMs: number;
}

export function encodeCursor(tenantId: string, position: Position): string {
  return Buffer.from(`${VERSION}:${tenantId}:${position.txid}:${position.id}`, "utf8").toString("base64url");
}

export function invalidCursor(message: string): GraphQLError {
  return new GraphQLError(message, { extensions: { code: "INVALID_CURSOR", argumentName: "after" } });
}

export function resyncRequired(message: string): GraphQLError {
  return new GraphQLError(`${message} Read the current state with a query, then subscribe again without \`after\`.`, {
    extensions: { code: "RESYNC_REQUIRED", argumentName: "after" },
  });
}

/** The position of a client's cursor, or a typed GraphQL error (never a position of another tenant). */
export async function checkCursor(cursor: string, tenantId: string, log: TransitionRepository, limits: ReplayLimits): Promise<Position> {
  if (cursor.length > MAX_CURSOR_CHARS || !/^[A-Za-z0-9_-]+$/.test(cursor))
    throw invalidCursor("`after` is not a cursor issued by this API.");
  const parts = Buffer.from(cursor, "base64url").toString("utf8").split(":");
  if (parts.length !== 4 || parts[0] !== VERSION || !DIGITS.test(parts[2]!) || !DIGITS.test(parts[3]!)) {
    throw invalidCursor("`after` is not a cursor issued by this API.");
  }
  if (parts[1] !== tenantId) throw invalidCursor("`after` was not issued to your tenant.");
  const position = { txid: BigInt(parts[2]!), id: BigInt(parts[3]!) };
  const row = await log.findById(position.id);
  if (!row) {
    const oldest = await log.oldestId();
    if (oldest === null || position.id < oldest) throw resyncRequired("`after` is older than the kept update history.");
    throw invalidCursor("`after` names no update.");
  }
  if (row.tenantId !== tenantId || row.txid !== position.txid || !row.stable) throw invalidCursor("`after` names no update.");
  if (Date.now() - row.at.getTime() > limits.maxAgeMs) throw resyncRequired("`after` is older than updates are replayed for.");
  return position;
}

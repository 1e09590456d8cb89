// Opaque cursors over (createdAt, id): base64url of "<ISO time>|<id>". Pages are ordered newest first,
// so "after" a cursor means (createdAt, id) strictly smaller — one index range scan per page.
import { GraphQLError } from "graphql";

export interface CursorKey {
  at: Date;
  id: string;
}

export const MAX_PAGE_SIZE = 100;

export function encodeCursor(at: Date, id: string): string {
  return Buffer.from(`${at.toISOString()}|${id}`, "utf8").toString("base64url");
}

export function decodeCursor(cursor: string | null | undefined): CursorKey | null {
  if (cursor === null || cursor === undefined || cursor === "") return null;
  const text = Buffer.from(cursor, "base64url").toString("utf8");
  const bar = text.indexOf("|");
  const at = new Date(text.slice(0, bar));
  const id = text.slice(bar + 1);
  if (bar <= 0 || Number.isNaN(at.getTime()) || id.length === 0) {
    throw new GraphQLError("Invalid cursor: pass the endCursor of a previous page.", {
      extensions: { code: "BAD_USER_INPUT", argumentName: "after" },
    });
  }
  return { at, id };
}

export function pageSize(first: number | null | undefined, fallback = 20): number {
  const n = first ?? fallback;
  if (!Number.isInteger(n) || n < 1 || n > MAX_PAGE_SIZE) {
    throw new GraphQLError(`"first" must be between 1 and ${MAX_PAGE_SIZE} (got ${n}).`, {
      extensions: { code: "BAD_USER_INPUT", argumentName: "first" },
    });
  }
  return n;
}

/** Prisma `where` fragment for rows strictly after the cursor in (field desc, id desc) order. */
export function afterWhere(cursor: CursorKey | null, field: string): Record<string, unknown> {
  if (!cursor) return {};
  return { OR: [{ [field]: { lt: cursor.at } }, { [field]: cursor.at, id: { lt: cursor.id } }] };
}

/** Builds a connection from `limit + 1` fetched rows (the extra one only tells whether there is a next page). */
export function connection<T extends { id: string }>(rows: T[], limit: number, timeOf: (row: T) => Date) {
  const hasNextPage = rows.length > limit;
  const page = hasNextPage ? rows.slice(0, limit) : rows;
  const edges = page.map((node) => ({ cursor: encodeCursor(timeOf(node), node.id), node }));
  return { edges, pageInfo: { hasNextPage, endCursor: edges.at(-1)?.cursor ?? null } };
}

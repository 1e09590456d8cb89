// The one pagination scheme: keyset over (time desc, id desc). Repositories take the last row's key and fetch
// limit + 1 rows (the extra one only says whether there is a next page); encoding the key as an opaque cursor,
// and checking page sizes, is the API's business (services/gateway/src/graphql/pagination.ts).
export interface CursorKey {
  at: Date;
  id: string;
}

export const MAX_PAGE_SIZE = 100;

/** Prisma `where` fragment for rows strictly after the key in (field desc, id desc) order. */
export function afterWhere(cursor: CursorKey | null, field: string): Record<string, unknown> {
  if (!cursor) return {};
  return { OR: [{ [field]: { lt: cursor.at } }, { [field]: cursor.at, id: { lt: cursor.id } }] };
}

/** Order rows to match `ids` (DataLoader needs results in key order), undefined where missing. */
export function orderByIds<T extends { id: string }>(ids: readonly string[], rows: T[]): (T | undefined)[] {
  const byId = new Map(rows.map((row) => [row.id, row]));
  return ids.map((id) => byId.get(id));
}

/** Group rows by a key, in `keys` order (for one-to-many DataLoaders). */
export function groupByKey<T>(keys: readonly string[], rows: T[], keyOf: (row: T) => string): T[][] {
  const groups = new Map<string, T[]>(keys.map((key) => [key, []]));
  for (const row of rows) groups.get(keyOf(row))?.push(row);
  return keys.map((key) => groups.get(key) ?? []);
}

// Cursor pagination over (createdAt desc, id desc): `after` is the id of the last row of the previous page.
// Repositories fetch first+1 rows to know whether another page exists; cursor encoding is the API's business.
export interface PageArgs {
  first?: number;
  after?: string | null;
}

export interface Page<T> {
  items: T[];
  hasNextPage: boolean;
  endCursor: string | null;
}

export const MAX_PAGE_SIZE = 100;
export const DEFAULT_PAGE_SIZE = 20;

export function pageQuery(args: PageArgs): { take: number; skip?: number; cursor?: { id: string } } {
  const first = Math.min(Math.max(args.first ?? DEFAULT_PAGE_SIZE, 0), MAX_PAGE_SIZE);
  return args.after ? { take: first + 1, skip: 1, cursor: { id: args.after } } : { take: first + 1 };
}

export function toPage<T extends { id: string }>(rows: T[], args: PageArgs): Page<T> {
  const first = Math.min(Math.max(args.first ?? DEFAULT_PAGE_SIZE, 0), MAX_PAGE_SIZE);
  const items = rows.slice(0, first);
  return { items, hasNextPage: rows.length > first, endCursor: items.length ? items[items.length - 1]!.id : null };
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

// API keys found active are remembered in-process for a few seconds (API_KEY_CACHE_SECONDS, default 5): an app
// sends one per request, and the lookup was one database round trip of every request. The price is that a
// revoked key keeps working on a replica for at most that long (docs/security.md, "API key cache").
// Keyed by the key's hash, never the key itself; only keys found active are kept (an unknown or revoked key is
// looked up every time, so a made-up key cannot fill the cache and a new key works at once), and the map is
// bounded (oldest entry out first).
import { hashApiKey } from "../../../../lib/db/index.ts";
import type { AuthStore } from "./principal.ts";

type ApiKeyRow = NonNullable<Awaited<ReturnType<AuthStore["apiKeys"]["findActiveByKey"]>>>;

export interface ApiKeyCacheOptions {
  /** how long a key found active is trusted without a lookup (0: no cache) */
  ttlMs: number;
  maxEntries?: number;
  now?: () => number;
}

export function cachedAuthStore(store: AuthStore, options: ApiKeyCacheOptions): AuthStore {
  if (options.ttlMs <= 0) return store;
  const now = options.now ?? Date.now;
  const maxEntries = options.maxEntries ?? 1000;
  const entries = new Map<string, { key: ApiKeyRow; until: number }>();

  const findActiveByKey = async (plain: string): Promise<ApiKeyRow | null> => {
    const hash = hashApiKey(plain);
    const hit = entries.get(hash);
    if (hit && hit.until > now()) return hit.key;
    entries.delete(hash);
    const key = await store.apiKeys.findActiveByKey(plain);
    if (!key) return null;
    if (entries.size >= maxEntries) entries.delete(entries.keys().next().value!);
    entries.set(hash, { key, until: now() + options.ttlMs });
    return key;
  };
  // The remembered row's lastUsedAt moves with the write, or every request after the interval would write again.
  const recordUse = async (id: string, cutoff: Date, at: Date): Promise<void> => {
    await store.apiKeys.recordUse(id, cutoff, at);
    for (const entry of entries.values()) if (entry.key.id === id) entry.key = { ...entry.key, lastUsedAt: at };
  };
  return { ...store, apiKeys: { ...store.apiKeys, findActiveByKey, recordUse } };
}

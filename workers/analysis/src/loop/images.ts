// Loads the image an analysis names and encodes it once: the analysis copy (the display pixels as binary PGM, written
// by the gateway's ingest), or the stored 8-bit display PNG for images without one (ingested before analysis copies,
// or kept in the PACS) or whose copy is missing → engine.encode({ key, bytes }) (decode + preprocess on the engine's
// thread pool). Both hold the same pixels, so the tensor is the same either way; the key is the display PNG's content
// sha256 on both paths, so the engine's cache and micro-batcher share one encoder run among the tasks of an image. Loads are memoised in a small LRU (the four tasks of a
// study may arrive in different batches: no second read + decode); a failed load is forgotten so that a retry
// reads the store again.
import { NotFoundError, UnavailableError } from "../../../../lib/errors/index.ts";
import { parseStorageKey, type ImageStore } from "../../../../lib/images/index.ts";
import type { Engine } from "../inference/engine.ts";
import type { EncodedImage } from "../inference/types.ts";
import { LruCache } from "../inference/lru.ts";

export interface ImageRow {
  id: string;
  sha256: string;
  storageKey: string;
  derivedPngKey: string | null;
  /** absent or null: no analysis copy, the display PNG is decoded */
  analysisKey?: string | null;
}

export interface ImageLookup {
  findById(tenantId: string, id: string): Promise<ImageRow | null>;
}

export interface LoadedImage {
  encoded: EncodedImage;
  /** ms to read the PNG from the store, and to get the encoder's features (decode + preprocess + encoder run,
   *  or a cache hit); both 0 when this loader had the image */
  loadMs: number;
  encodeMs: number;
}

export function createImageLoader(deps: { images: ImageLookup; store: ImageStore; engine: Engine; cacheSize?: number }) {
  const pending = new LruCache<string, Promise<LoadedImage>>(deps.cacheSize ?? 32);

  async function load(tenantId: string, imageId: string, known?: ImageRow | null): Promise<LoadedImage> {
    const row = known === undefined ? await deps.images.findById(tenantId, imageId) : known;
    if (!row) throw new NotFoundError("Image", imageId);
    const key = row.derivedPngKey ?? row.storageKey;
    let sha = row.sha256;
    try {
      sha = parseStorageKey(key).sha256;
    } catch {
      // a store with other key shapes: fall back to the original's hash (still a content address)
    }
    const started = performance.now();
    // A missing analysis copy is no reason to fail or retry: the display PNG holds the same pixels.
    const bytes = (row.analysisKey ? await deps.store.get(row.analysisKey) : null) ?? (await deps.store.get(key));
    // The row exists, so the file should: a missing file is a storage problem (e.g. a mount), worth retrying.
    if (!bytes) throw new UnavailableError(`image ${imageId}: stored file ${key} is missing`, { details: { imageId, key } });
    const loadMs = performance.now() - started;
    const encoded = await deps.engine.encode({ key: sha, bytes });
    return { encoded, loadMs, encodeMs: performance.now() - started - loadMs };
  }

  return {
    /** `row`: the image row when the caller read it already (null: it does not exist), else it is looked up. */
    get(tenantId: string, imageId: string, row?: ImageRow | null): Promise<LoadedImage> {
      const id = `${tenantId}/${imageId}`;
      const cached = pending.get(id);
      if (cached) return cached.then((loaded) => ({ ...loaded, loadMs: 0, encodeMs: 0 }));
      const promise = load(tenantId, imageId, row);
      pending.set(id, promise);
      promise.catch(() => {
        if (pending.peek(id) === promise) pending.delete(id);
      });
      return promise;
    },
    clear: () => pending.clear(),
  };
}

export type ImageLoader = ReturnType<typeof createImageLoader>;

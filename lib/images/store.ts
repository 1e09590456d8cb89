import { createHash, randomBytes } from "node:crypto";
import { promises as fs } from "node:fs";
import path from "node:path";

/** Content-addressed blob storage: the key is derived from the SHA-256 of the bytes. */
export interface StoredObject {
  key: string;
  sha256: string;
  bytes: number;
  /** false when identical content was already stored (puts are idempotent) */
  created: boolean;
}

/** What a caller may already know about the bytes it puts. */
export interface KnownContent {
  /**
   * the digest when the caller already computed it (a decoder thread does, so that a 30 MB upload is not hashed
   * again on the event loop). It must be the SHA-256 of these bytes.
   */
  sha256?: string;
}

export interface ImageStore {
  /**
   * false: the ingest stores no analysis copy (ingest.ts) in this store. The PACS store keeps an image's pixels in
   * the PACS only; the worker then decodes the display PNG, as it does for images ingested before analysis copies.
   */
  analysisCopies?: boolean;
  put(bytes: Uint8Array, ext: string, known?: KnownContent): Promise<StoredObject>;
  /** The stored bytes, or null when there is no such key. */
  get(key: string): Promise<Buffer | null>;
  has(key: string): Promise<boolean>;
  /** true if something was removed */
  delete(key: string): Promise<boolean>;
}

const KEY_PATTERN = /^([0-9a-f]{2})\/([0-9a-f]{2})\/([0-9a-f]{64})\.([a-z0-9]{1,8})$/;
const EXT_PATTERN = /^[a-z0-9]{1,8}$/;
const TEMP_DIR = ".tmp";

export function sha256Hex(bytes: Uint8Array): string {
  return createHash("sha256").update(bytes).digest("hex");
}

/** "ab/cd/abcd…ef.png": two levels of fan-out keep directories small. */
export function storageKey(sha256: string, ext: string): string {
  if (!/^[0-9a-f]{64}$/.test(sha256)) throw new TypeError(`storageKey: not a SHA-256 hex digest: ${sha256}`);
  if (!EXT_PATTERN.test(ext)) throw new TypeError(`storageKey: extension must be 1-8 lowercase letters/digits, got "${ext}"`);
  return `${sha256.slice(0, 2)}/${sha256.slice(2, 4)}/${sha256}.${ext}`;
}

/** Validates a key (also against path traversal) and returns its SHA-256 part. */
export function parseStorageKey(key: string): { sha256: string; ext: string } {
  const m = KEY_PATTERN.exec(key);
  if (!m || m[3]!.slice(0, 2) !== m[1] || m[3]!.slice(2, 4) !== m[2])
    throw new TypeError(`Invalid image storage key: ${JSON.stringify(key)}`);
  return { sha256: m[3]!, ext: m[4]! };
}

function isErrno(err: unknown, ...codes: string[]): boolean {
  return typeof err === "object" && err !== null && codes.includes((err as NodeJS.ErrnoException).code ?? "");
}

async function fsyncDir(dir: string): Promise<void> {
  const handle = await fs.open(dir, "r");
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}

export interface LocalDiskImageStore extends ImageStore {
  readonly root: string;
  /** Absolute path of a key, for streaming responses. */
  pathOf(key: string): string;
  /** Removes temp files left by writers that crashed more than olderThanMs ago. */
  sweepTempFiles(olderThanMs?: number): Promise<number>;
}

/**
 * Local-disk store. A put writes a temp file under <root>/.tmp, fsyncs it, then links it into
 * place (falling back to rename where hard links are unavailable) and fsyncs the directory: a
 * crash leaves at worst a stray temp file, never a partial file under a key.
 */
export function createLocalDiskImageStore(options: { root: string }): LocalDiskImageStore {
  const root = path.resolve(options.root);
  const pathOf = (key: string): string => {
    parseStorageKey(key);
    return path.join(root, ...key.split("/"));
  };

  async function existingSize(file: string): Promise<number | null> {
    try {
      return (await fs.stat(file)).size;
    } catch (err) {
      if (isErrno(err, "ENOENT")) return null;
      throw err;
    }
  }

  async function put(bytes: Uint8Array, ext: string, known: KnownContent = {}): Promise<StoredObject> {
    const sha256 = known.sha256 ?? sha256Hex(bytes);
    const key = storageKey(sha256, ext);
    const finalPath = pathOf(key);
    const existing = await existingSize(finalPath);
    if (existing === bytes.length) return { key, sha256, bytes: bytes.length, created: false };

    const tempDir = path.join(root, TEMP_DIR);
    await fs.mkdir(tempDir, { recursive: true });
    await fs.mkdir(path.dirname(finalPath), { recursive: true });
    const tempPath = path.join(tempDir, `${sha256}.${process.pid}.${randomBytes(6).toString("hex")}.part`);
    let created = true;
    try {
      const handle = await fs.open(tempPath, "wx", 0o644);
      try {
        await handle.writeFile(bytes);
        await handle.sync();
      } finally {
        await handle.close();
      }
      if (existing === null) {
        try {
          // link() never overwrites: of two concurrent writers of the same content exactly one creates it.
          await fs.link(tempPath, finalPath);
        } catch (err) {
          if (isErrno(err, "EEXIST")) created = false;
          else if (isErrno(err, "EPERM", "ENOTSUP", "EOPNOTSUPP", "EXDEV", "EMLINK")) await fs.rename(tempPath, finalPath);
          else throw err;
        }
      } else {
        // A file of the wrong size sits under this key (damaged outside this store): replace it atomically.
        await fs.rename(tempPath, finalPath);
      }
      await fsyncDir(path.dirname(finalPath));
    } finally {
      await fs.rm(tempPath, { force: true });
    }
    return { key, sha256, bytes: bytes.length, created };
  }

  async function get(key: string): Promise<Buffer | null> {
    try {
      return await fs.readFile(pathOf(key));
    } catch (err) {
      if (isErrno(err, "ENOENT")) return null;
      throw err;
    }
  }

  async function has(key: string): Promise<boolean> {
    return (await existingSize(pathOf(key))) !== null;
  }

  async function remove(key: string): Promise<boolean> {
    try {
      await fs.unlink(pathOf(key));
      return true;
    } catch (err) {
      if (isErrno(err, "ENOENT")) return false;
      throw err;
    }
  }

  async function sweepTempFiles(olderThanMs = 60 * 60 * 1000): Promise<number> {
    const tempDir = path.join(root, TEMP_DIR);
    let names: string[];
    try {
      names = await fs.readdir(tempDir);
    } catch (err) {
      if (isErrno(err, "ENOENT")) return 0;
      throw err;
    }
    let removed = 0;
    const cutoff = Date.now() - olderThanMs;
    for (const name of names) {
      const file = path.join(tempDir, name);
      const stat = await fs.stat(file).catch(() => null);
      if (stat && stat.mtimeMs <= cutoff) {
        await fs.rm(file, { force: true });
        removed++;
      }
    }
    return removed;
  }

  return { root, pathOf, put, get, has, delete: remove, sweepTempFiles };
}

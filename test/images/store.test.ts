import { test } from "node:test";
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import fs from "node:fs";
import path from "node:path";
import { createHash } from "node:crypto";
import { createLocalDiskImageStore, parseStorageKey, storageKey } from "../../lib/images/index.ts";
import { listFiles, tempDir } from "./helpers.ts";

const sha = (b: Uint8Array): string => createHash("sha256").update(b).digest("hex");

test("put stores bytes under ab/cd/<sha256>.<ext> and get/has/delete work by key", async () => {
  const root = tempDir("store");
  const store = createLocalDiskImageStore({ root });
  const bytes = Buffer.from("chest x-ray bytes");
  const digest = sha(bytes);
  const put = await store.put(bytes, "png");
  assert.deepEqual(put, {
    key: `${digest.slice(0, 2)}/${digest.slice(2, 4)}/${digest}.png`,
    sha256: digest,
    bytes: bytes.length,
    created: true,
  });
  assert.deepEqual(listFiles(root), [put.key]);
  assert.equal(await store.has(put.key), true);
  assert.deepEqual(await store.get(put.key), bytes);
  assert.equal(await store.delete(put.key), true);
  assert.equal(await store.has(put.key), false);
  assert.equal(await store.get(put.key), null);
  assert.equal(await store.delete(put.key), false);
});

test("putting the same content twice is idempotent: one file, created only the first time", async () => {
  const root = tempDir("store");
  const store = createLocalDiskImageStore({ root });
  const bytes = Buffer.from("same content");
  const a = await store.put(bytes, "dcm");
  const before = fs.statSync(store.pathOf(a.key)).mtimeMs;
  const b = await store.put(bytes, "dcm");
  assert.equal(a.created, true);
  assert.equal(b.created, false);
  assert.equal(a.key, b.key);
  assert.equal(fs.statSync(store.pathOf(a.key)).mtimeMs, before, "not rewritten");
  assert.deepEqual(listFiles(root), [a.key]);
});

test("concurrent puts of identical content create it exactly once", async () => {
  const root = tempDir("store");
  const store = createLocalDiskImageStore({ root });
  const bytes = Buffer.alloc(2_000_000, 7);
  const results = await Promise.all(Array.from({ length: 8 }, () => store.put(bytes, "bin")));
  assert.equal(results.filter((r) => r.created).length, 1);
  assert.deepEqual(listFiles(root), [results[0]!.key]);
});

test("a damaged file under a key (wrong size) is replaced on the next put", async () => {
  const root = tempDir("store");
  const store = createLocalDiskImageStore({ root });
  const bytes = Buffer.from("the real content");
  const { key } = await store.put(bytes, "png");
  fs.writeFileSync(store.pathOf(key), "trunc");
  const again = await store.put(bytes, "png");
  assert.equal(again.created, true);
  assert.deepEqual(await store.get(key), bytes);
});

test("keys are validated: traversal and malformed keys are rejected", async () => {
  const store = createLocalDiskImageStore({ root: tempDir("store") });
  for (const bad of ["../etc/passwd", `ab/cd/${"a".repeat(64)}.png`, `aa/aa/${"a".repeat(64)}.PNG`, `aa/aa/${"a".repeat(63)}.png`, ""]) {
    await assert.rejects(() => store.get(bad), /Invalid image storage key/);
  }
  assert.throws(() => storageKey("a".repeat(64), "../x"));
  assert.deepEqual(parseStorageKey(`aa/bb/aabb${"0".repeat(60)}.dcm`), { sha256: `aabb${"0".repeat(60)}`, ext: "dcm" });
});

test("a writer killed mid-put never leaves a partial file under a key; leftover temp files are swept", async () => {
  const child = path.join(path.dirname(new URL(import.meta.url).pathname), "store-crash-child.ts");
  let sawMidWriteKill = false;
  // put() hashes first and writes last; kill at a fraction of the measured put time to land in the write.
  const fractions = [0.85, 0.7, 0.95, 0.6, 0.9];
  for (let round = 0; round < fractions.length && !sawMidWriteKill; round++) {
    const root = tempDir("store-crash");
    const proc = spawn(process.execPath, ["--import", "tsx", child, root, String(32 * 1024 * 1024)], {
      stdio: ["ignore", "pipe", "inherit"],
    });
    const done: string[] = [];
    const startedAt: number[] = [];
    let putMs = 0;
    await new Promise<void>((resolve, reject) => {
      let buffered = "";
      proc.stdout.on("data", (chunk: Buffer) => {
        buffered += chunk.toString();
        const lines = buffered.split("\n");
        buffered = lines.pop()!;
        for (const line of lines) {
          const [what, index, key] = line.split(" ");
          if (what === "start") startedAt[Number(index)] = performance.now();
          if (what === "done") {
            done.push(key!);
            putMs = Math.max(putMs, performance.now() - startedAt[Number(index)]!);
          }
          if (line === "start 2") setTimeout(() => proc.kill("SIGKILL"), putMs * fractions[round]!);
        }
      });
      proc.on("exit", () => resolve());
      proc.on("error", reject);
    });
    const files = listFiles(root);
    const keyed = files.filter((f) => !f.startsWith(".tmp"));
    const temps = files.filter((f) => f.startsWith(".tmp"));
    assert.ok(done.length >= 2);
    for (const key of done) assert.ok(keyed.includes(key), `completed put ${key} is present`);
    for (const key of keyed) {
      const { sha256 } = parseStorageKey(key);
      assert.equal(sha(fs.readFileSync(path.join(root, key))), sha256, `${key} is complete`);
    }
    if (temps.length > 0 && keyed.length === done.length) sawMidWriteKill = true;
    const store = createLocalDiskImageStore({ root });
    await store.sweepTempFiles(0);
    assert.deepEqual(
      listFiles(root).filter((f) => f.startsWith(".tmp")),
      [],
    );
    fs.rmSync(root, { recursive: true, force: true });
  }
  assert.ok(sawMidWriteKill, "at least one kill landed inside a put (temp file left, no key file)");
});

/**
 * Child process for the store crash test: writes large random blobs forever, announcing each put
 * before it starts and after it finishes. The parent SIGKILLs it mid-write.
 */
import { randomBytes } from "node:crypto";
import { createLocalDiskImageStore } from "../../lib/images/store.ts";

const store = createLocalDiskImageStore({ root: process.argv[2]! });
const size = Number(process.argv[3] ?? 32 * 1024 * 1024);
for (let i = 0; ; i++) {
  const blob = randomBytes(size);
  process.stdout.write(`start ${i}\n`);
  const { key } = await store.put(blob, "bin");
  process.stdout.write(`done ${i} ${key}\n`);
}

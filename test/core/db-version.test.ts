// The worker refuses to start on a PostgreSQL older than the one its SQL needs (RETURNING old.* came with 18),
// with a configuration error that names both versions, instead of failing its first job end.
import { test } from "node:test";
import assert from "node:assert/strict";
import { assertServerVersion, MIN_SERVER_VERSION_NUM } from "../../lib/db/client.ts";
import { createDb } from "../../lib/db/index.ts";
import { ConfigError } from "../../lib/errors/index.ts";
import { createTestDatabase, dropTestDatabase } from "../helpers/index.ts";
import { getTestStack } from "../helpers/test-stack.ts";

test("the test server is new enough, and a server older than the minimum fails with both versions named", async (t) => {
  const stack = await getTestStack();
  const { name, url } = await createTestDatabase(stack);
  const db = createDb(url, { poolMax: 1 });
  t.after(async () => {
    await db.close();
    await dropTestDatabase(name, stack);
  });
  const version = await assertServerVersion(db.prisma);
  assert.ok(version >= MIN_SERVER_VERSION_NUM, String(version));
  await assert.rejects(assertServerVersion(db.prisma, version + 10000), (error: unknown) => {
    assert.ok(error instanceof ConfigError);
    assert.match(error.message, new RegExp(`PostgreSQL ${Math.floor((version + 10000) / 10000)} or later.*${version}`));
    return true;
  });
});

// Issue 14, finding 10 (seeding): the demo logins and API key go into the embedded demo database only, never
// into a database named by DATABASE_URL unless SEED_DEMO_DATA=yes asks for it; --demo says what it lacks.
import { test } from "node:test";
import assert from "node:assert/strict";
import { createDb, createRepositories, DEMO_API_KEY, DEMO_OPERATOR, DEMO_USERS, PLATFORM_TENANT_SLUG } from "../../lib/db/index.ts";
import { ConfigError } from "../../lib/errors/index.ts";
import { createTestDatabase, dropTestDatabase } from "../helpers/index.ts";
import { decideDemoSeed, prepareDemoAccess } from "../../scripts/main/seed.ts";
import { loadMainConfig } from "../../scripts/main/config.ts";

const EXTERNAL = "postgresql://app:secret@db.hospital.example:5432/gkmvlp";

test("the seed decision: embedded database yes, external database no unless asked", () => {
  assert.equal(decideDemoSeed("auto", false).seed, true);
  assert.equal(decideDemoSeed("auto", true).seed, false);
  assert.equal(decideDemoSeed("yes", true).seed, true);
  assert.equal(decideDemoSeed("no", false).seed, false);
  assert.match(decideDemoSeed("auto", true).reason, /DATABASE_URL/);
});

test("npm start's config: DATABASE_URL makes the database external; --demo without seed or key is refused", () => {
  assert.equal(loadMainConfig({}, []).externalDatabase, false);
  assert.equal(loadMainConfig({}, []).seedMode, "auto");
  const external = loadMainConfig({ DATABASE_URL: EXTERNAL }, []);
  assert.equal(external.externalDatabase, true);
  assert.throws(
    () => loadMainConfig({ DATABASE_URL: EXTERNAL }, ["--demo"]),
    (error: unknown) => error instanceof ConfigError && /MAIN_API_KEY/.test(error.message),
  );
  assert.equal(loadMainConfig({ DATABASE_URL: EXTERNAL, MAIN_API_KEY: "gk_real_key" }, ["--demo"]).apiKey, "gk_real_key");
  assert.throws(() => loadMainConfig({ SEED_DEMO_DATA: "always" }, []), ConfigError);
});

test(
  "against a real database: nothing is seeded for an external DATABASE_URL, everything for the embedded one",
  { timeout: 120_000 },
  async (t) => {
    const { name, url } = await createTestDatabase();
    const db = createDb(url, { poolMax: 2 });
    t.after(async () => {
      await db.close();
      await dropTestDatabase(name);
    });
    const repos = createRepositories(db.prisma);

    const external = await prepareDemoAccess(repos, { mode: "auto", externalDatabase: true });
    assert.equal(external.seeded, null);
    assert.equal(external.apiKey, null);
    assert.equal(await db.prisma.user.count(), 0, "no demo logins in a real database");
    assert.equal(await db.prisma.apiKey.count(), 0, "no demo API key in a real database");
    assert.equal(await repos.users.verifyCredentials(DEMO_USERS[0]!.email, DEMO_USERS[0]!.password), null);
    assert.equal(await db.prisma.user.count({ where: { role: "OPERATOR" } }), 0, "no demo operator in a real database");

    const withKey = await prepareDemoAccess(repos, { mode: "auto", externalDatabase: true, apiKey: "gk_operator_key" });
    assert.equal(withKey.apiKey, "gk_operator_key");
    assert.equal(await db.prisma.user.count(), 0);

    const embedded = await prepareDemoAccess(repos, { mode: "auto", externalDatabase: false });
    assert.equal(embedded.apiKey, DEMO_API_KEY);
    // the four tenant logins and the demo platform operator, who has the platform's own tenant
    assert.equal(await db.prisma.user.count(), DEMO_USERS.length + 1);
    const operator = await db.prisma.user.findUniqueOrThrow({ where: { email: DEMO_OPERATOR.email }, include: { tenant: true } });
    assert.equal(operator.role, "OPERATOR");
    assert.equal(operator.tenant.slug, PLATFORM_TENANT_SLUG);
    assert.ok(
      embedded.seeded?.users.some((u) => u.email === DEMO_OPERATOR.email),
      "npm start prints the operator login",
    );
    assert.ok(await repos.apiKeys.findActiveByKey(DEMO_API_KEY));
    await prepareDemoAccess(repos, { mode: "auto", externalDatabase: false });
    assert.equal(await db.prisma.user.count(), DEMO_USERS.length + 1, "seeding again adds nothing");
  },
);

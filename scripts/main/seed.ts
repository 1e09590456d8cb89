// Demo credentials (four tenant logins and one platform-operator login with known passwords, and a known API
// key) belong in the embedded demo database only. `SEED_DEMO_DATA=auto` (the default) seeds them when `npm start` runs its own PostgreSQL
// and never when DATABASE_URL names an existing server; `yes` seeds anyway (a throw-away staging database),
// `no` never seeds. Without a seed, the demo studies run with MAIN_API_KEY, or are skipped.
import { seedDemo, seedDemoOperator, type DemoSeed, type Repositories } from "../../lib/db/index.ts";

export type SeedMode = "auto" | "yes" | "no";

export interface SeedDecision {
  seed: boolean;
  reason: string;
}

export function decideDemoSeed(mode: SeedMode, externalDatabase: boolean): SeedDecision {
  if (mode === "no") return { seed: false, reason: "SEED_DEMO_DATA=no" };
  if (mode === "yes") return { seed: true, reason: "SEED_DEMO_DATA=yes" };
  return externalDatabase
    ? {
        seed: false,
        reason:
          "DATABASE_URL names an existing database; demo users and key are only seeded into the embedded one (SEED_DEMO_DATA=yes overrides)",
      }
    : { seed: true, reason: "embedded demo database" };
}

export interface DemoAccess {
  /** the seeded demo tenant, users and key, when seeded */
  seeded: DemoSeed | null;
  /** the API key the demo studies run with, or null when they cannot run */
  apiKey: string | null;
  decision: SeedDecision;
}

export async function prepareDemoAccess(
  repos: Repositories,
  options: { mode: SeedMode; externalDatabase: boolean; apiKey?: string | undefined },
): Promise<DemoAccess> {
  const decision = decideDemoSeed(options.mode, options.externalDatabase);
  if (!decision.seed) return { seeded: null, apiKey: options.apiKey ?? null, decision };
  const seeded = await seedDemo(repos);
  // the demo's platform operator (its own tenant): same rule as the other demo logins
  seeded.users.push(await seedDemoOperator(repos));
  return { seeded, apiKey: options.apiKey ?? seeded.apiKey, decision };
}

// The main command's configuration (the only place it reads the environment besides the stack's own
// loader, which it calls with the same environment).
import path from "node:path";
import { env, loadConfig, z, type Env } from "../../lib/config/index.ts";
import type { SeedMode } from "./seed.ts";

const schema = z.object({
  GATEWAY_PORT: env.port(4000),
  WORKER_HTTP_PORT: env.port(4100),
  STORAGE_DIR: env.string().default(".local/images"),
  MAIN_LOG_DIR: env.string().default(".local/logs"),
  MODEL_BUNDLE_DIR: env.string().optional(),
  AUTH_TOKEN_SECRET: z.string().min(32, "must be at least 32 characters").optional(),
  DEMO_TIMEOUT_S: env.int(600, 10),
  LOG_LEVEL: env.enumOf(["debug", "info", "warn", "error"] as const, "info"),
  /** read only to know whether the stack runs its own PostgreSQL (lib/stack reads the URL itself) */
  DATABASE_URL: env.postgresUrl().optional(),
  /** demo logins + API key: auto = only into the embedded database (see main/seed.ts) */
  SEED_DEMO_DATA: env.enumOf(["auto", "yes", "no"] as const, "auto"),
  /** API key the demo studies run with when no demo key is seeded */
  MAIN_API_KEY: env.string().optional(),
});

export interface MainConfig {
  demo: boolean;
  port: number;
  workerPort: number;
  storageDir: string;
  logDir: string;
  bundleDir: string | undefined;
  tokenSecret: string | undefined;
  timeoutMs: number;
  logLevel: string;
  seedMode: SeedMode;
  externalDatabase: boolean;
  apiKey: string | undefined;
}

export function loadMainConfig(source: Env, argv: string[]): MainConfig {
  const unknown = argv.filter((a) => a !== "--demo");
  if (unknown.length) throw new Error(`unknown arguments: ${unknown.join(" ")} (only --demo is accepted)`);
  const c = loadConfig(
    "main",
    schema.superRefine((v, ctx) => {
      const seeds = v.SEED_DEMO_DATA === "yes" || (v.SEED_DEMO_DATA === "auto" && !v.DATABASE_URL);
      if (argv.includes("--demo") && !seeds && !v.MAIN_API_KEY) {
        ctx.addIssue({
          code: "custom",
          path: ["MAIN_API_KEY"],
          message: "--demo without seeded demo data needs an API key (or SEED_DEMO_DATA=yes for a throw-away database)",
        });
      }
    }),
    source,
  );
  return {
    demo: argv.includes("--demo"),
    port: c.GATEWAY_PORT,
    workerPort: c.WORKER_HTTP_PORT,
    storageDir: path.resolve(c.STORAGE_DIR),
    logDir: path.resolve(c.MAIN_LOG_DIR),
    bundleDir: c.MODEL_BUNDLE_DIR,
    tokenSecret: c.AUTH_TOKEN_SECRET,
    timeoutMs: c.DEMO_TIMEOUT_S * 1000,
    logLevel: c.LOG_LEVEL,
    seedMode: c.SEED_DEMO_DATA,
    externalDatabase: c.DATABASE_URL !== undefined,
    apiKey: c.MAIN_API_KEY,
  };
}

// Applies the checked-in migrations (prisma/migrations) with `prisma migrate deploy`, run as a child process
// so that prisma.config.ts (Wasm schema engine + adapter, offline) is used exactly as on the command line.
import { execFile } from "node:child_process";
import { existsSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import pg from "pg";

export const REPO_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), "..", "..");

function prismaBin(): string {
  const bin = join(REPO_ROOT, "node_modules", ".bin", "prisma");
  if (!existsSync(bin)) throw new Error(`prisma CLI not found at ${bin}: run npm install`);
  return bin;
}

function runPrisma(args: string[], databaseUrl: string, timeoutMs: number, stdoutOnly = false): Promise<string> {
  return new Promise((resolvePromise, reject) => {
    execFile(
      prismaBin(),
      args,
      {
        cwd: REPO_ROOT,
        timeout: timeoutMs,
        maxBuffer: 10 * 1024 * 1024,
        // only what Prisma needs; DATABASE_URL selects the target database
        env: { ...process.env, DATABASE_URL: databaseUrl, PRISMA_HIDE_UPDATE_MESSAGE: "1", CHECKPOINT_DISABLE: "1" },
      },
      (error, stdout, stderr) => {
        if (error) {
          reject(new Error(`prisma ${args.join(" ")} failed: ${error.message}\n${stdout}\n${stderr}`.trim()));
        } else {
          resolvePromise(stdoutOnly ? stdout : `${stdout}${stderr}`);
        }
      },
    );
  });
}

/** Create the database named in the URL if it does not exist (connects to the `postgres` maintenance db). */
export async function ensureDatabase(databaseUrl: string): Promise<void> {
  const url = new URL(databaseUrl);
  const name = decodeURIComponent(url.pathname.replace(/^\//, "")) || "postgres";
  url.pathname = "/postgres";
  const client = new pg.Client({ connectionString: url.toString() });
  client.on("error", () => undefined); // a server going away fails the query below, not the process
  await client.connect();
  try {
    const found = await client.query("SELECT 1 FROM pg_database WHERE datname = $1", [name]);
    if (found.rowCount === 0) await client.query(`CREATE DATABASE ${client.escapeIdentifier(name)}`);
  } finally {
    await client.end();
  }
}

/** `prisma migrate deploy` against databaseUrl (creating the database first). Returns Prisma's output. */
export async function migrateDatabase(databaseUrl: string, options: { timeoutMs?: number } = {}): Promise<string> {
  await ensureDatabase(databaseUrl);
  return runPrisma(["migrate", "deploy"], databaseUrl, options.timeoutMs ?? 120_000);
}

/** `prisma migrate status` output (throws when migrations are pending or failed). */
export async function migrationStatus(databaseUrl: string): Promise<string> {
  return runPrisma(["migrate", "status"], databaseUrl, 60_000);
}

/** The SQL that creates the schema of prisma/schema.prisma from nothing (`migrate diff --from-empty`).
 *  Used to check that the checked-in migrations match the schema file. Needs a reachable databaseUrl only
 *  because prisma.config.ts builds its adapter for every command. */
export async function schemaSqlFromEmpty(databaseUrl: string): Promise<string> {
  const sql = await runPrisma(
    ["migrate", "diff", "--from-empty", "--to-schema-datamodel", "prisma/schema.prisma", "--script"],
    databaseUrl,
    120_000,
    true,
  );
  if (!/CREATE TABLE/.test(sql)) throw new Error(`prisma migrate diff produced no schema SQL:\n${sql}`);
  return sql;
}

// One PostgreSQL + one Kafka per `node --test` run, shared by all test files (each runs in its own process).
// The first test process to need them starts test/helpers/supervisor.ts detached, keyed by the runner's pid
// (process.ppid when NODE_TEST_CONTEXT says we are a runner child, else our own pid); the others wait for its
// state file. The supervisor stops both servers when the runner exits. TEST_DATABASE_URL / TEST_KAFKA_BROKERS
// reuse servers that are already running instead.
import { spawn } from "node:child_process";
import { closeSync, existsSync, mkdirSync, openSync, readFileSync, readdirSync, rmSync } from "node:fs";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import pg from "pg";
import { REPO_ROOT, migrateDatabase } from "../../lib/db/migrate.ts";
import { isRunning } from "../../lib/stack/processes.ts";
import { stopKafka } from "../../lib/stack/kafka.ts";
import { stopPostgres } from "../../lib/stack/postgres.ts";
import type { TestStackState } from "./supervisor.ts";

export interface TestStack {
  /** URL of a database on the test server */
  serverUrl(database: string): string;
  brokers: string[];
  templateDb: string;
  timings?: TestStackState["timings"];
}

const STATE_DIR = join(REPO_ROOT, ".local", "test-stack");
const START_TIMEOUT_MS = 300_000;
let cached: Promise<TestStack> | undefined;

function runnerPid(): number {
  return process.env.NODE_TEST_CONTEXT?.startsWith("child") ? process.ppid : process.pid;
}

function urlFor(base: string, database: string): string {
  const url = new URL(base);
  url.pathname = `/${database}`;
  return url.toString();
}

/** Remove state and servers of earlier runs whose runner and supervisor are both gone (crashed runs). */
async function reapStaleRuns(): Promise<void> {
  if (!existsSync(STATE_DIR)) return;
  const runIds = new Set<number>();
  for (const entry of readdirSync(STATE_DIR)) {
    const match = /^run-(\d+)(\.json|\.lock|\.log)?$/.exec(entry);
    if (match) runIds.add(Number(match[1]));
  }
  for (const runId of runIds) {
    if (runId === runnerPid() || isRunning(runId)) continue;
    const file = join(STATE_DIR, `run-${runId}.json`);
    try {
      const state = JSON.parse(readFileSync(file, "utf8")) as TestStackState;
      if (isRunning(state.supervisorPid)) continue;
    } catch {
      /* no or unreadable state: nothing else to check */
    }
    const runDir = join(STATE_DIR, `run-${runId}`);
    await Promise.allSettled([stopKafka(join(runDir, "kafka"), 5000), stopPostgres(join(runDir, "postgres"), 5000)]);
    for (const suffix of ["", ".json", ".lock", ".log"]) rmSync(`${runDir}${suffix}`, { recursive: true, force: true });
  }
}

async function startOrJoin(): Promise<TestStack> {
  const runId = runnerPid();
  mkdirSync(STATE_DIR, { recursive: true });
  const stateFile = join(STATE_DIR, `run-${runId}.json`);
  const lockFile = join(STATE_DIR, `run-${runId}.lock`);
  let owner = false;
  try {
    closeSync(openSync(lockFile, "wx"));
    owner = true;
  } catch {
    /* another test process of this run is starting it */
  }
  if (owner) {
    await reapStaleRuns();
    const runDir = join(STATE_DIR, `run-${runId}`);
    const log = openSync(join(STATE_DIR, `run-${runId}.log`), "a");
    const child = spawn(
      process.execPath,
      ["--import", "tsx", join(REPO_ROOT, "test/helpers/supervisor.ts"), stateFile, runDir, String(runId)],
      {
        cwd: REPO_ROOT,
        detached: true,
        stdio: ["ignore", log, log],
        env: { ...process.env, NODE_TEST_CONTEXT: undefined, NODE_OPTIONS: undefined },
      },
    );
    child.unref();
    closeSync(log);
  }
  const deadline = Date.now() + START_TIMEOUT_MS;
  while (Date.now() < deadline) {
    if (existsSync(stateFile)) {
      const state = JSON.parse(readFileSync(stateFile, "utf8")) as TestStackState;
      if (state.status === "error") throw new Error(`test stack failed to start:\n${state.error}`);
      const base = `postgresql://postgres:postgres@127.0.0.1:${state.pgPort}/postgres`;
      return { serverUrl: (db) => urlFor(base, db), brokers: state.brokers, templateDb: state.templateDb, timings: state.timings };
    }
    await sleep(200);
  }
  throw new Error(`test stack not ready after ${START_TIMEOUT_MS} ms (see ${join(STATE_DIR, `run-${runId}.log`)})`);
}

/** Reuse servers named by TEST_DATABASE_URL / TEST_KAFKA_BROKERS; the template database is migrated once. */
async function useExisting(databaseUrl: string, brokers: string[]): Promise<TestStack> {
  const templateDb = "gk_test_template";
  const admin = new pg.Client({ connectionString: urlFor(databaseUrl, "postgres") });
  await admin.connect();
  try {
    // serialise concurrent test processes migrating the template
    await admin.query("SELECT pg_advisory_lock(727002)");
    await migrateDatabase(urlFor(databaseUrl, templateDb));
  } finally {
    await admin.query("SELECT pg_advisory_unlock(727002)").catch(() => undefined);
    await admin.end();
  }
  return { serverUrl: (db) => urlFor(databaseUrl, db), brokers, templateDb };
}

export function getTestStack(): Promise<TestStack> {
  if (!cached) {
    const dbUrl = process.env.TEST_DATABASE_URL;
    const brokers = process.env.TEST_KAFKA_BROKERS?.split(",")
      .map((b) => b.trim())
      .filter(Boolean);
    if (dbUrl && brokers?.length) cached = useExisting(dbUrl, brokers);
    else if (dbUrl || brokers?.length) cached = Promise.reject(new Error("set both TEST_DATABASE_URL and TEST_KAFKA_BROKERS, or neither"));
    else cached = startOrJoin();
  }
  return cached;
}

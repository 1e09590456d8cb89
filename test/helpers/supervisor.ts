// Test-stack supervisor: owns the ONE PostgreSQL + ONE Kafka of a `node --test` run. Started detached by the
// first test process (test/helpers/test-stack.ts); it starts both servers on free ports, migrates a template
// database, writes a state file the test processes read, and stops everything as soon as the watched process
// (the `node --test` runner) exits or it receives SIGTERM/SIGINT/SIGHUP.
// usage: node --import tsx test/helpers/supervisor.ts <stateFile> <runDir> <watchPid>
import { appendFileSync, renameSync, rmSync, writeFileSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { startPostgres, stopPostgres } from "../../lib/stack/postgres.ts";
import { startKafka, stopKafka } from "../../lib/stack/kafka.ts";
import { freePort, isRunning } from "../../lib/stack/processes.ts";
import { migrateDatabase, REPO_ROOT } from "../../lib/db/migrate.ts";
import { createKafka } from "../../lib/kafka/index.ts";

export const TEMPLATE_DB = "gk_test_template";

export interface TestStackState {
  status: "ready" | "error";
  error?: string;
  supervisorPid: number;
  watchPid: number;
  pgPort: number;
  brokers: string[];
  templateDb: string;
  timings: { postgresMs: number; kafkaPortMs: number; kafkaReadyMs: number; templateMs: number; totalMs: number };
}

const [stateFile, runDir, watchPidText] = process.argv.slice(2);
if (!stateFile || !runDir || !watchPidText) {
  console.error("usage: supervisor.ts <stateFile> <runDir> <watchPid>");
  process.exit(2);
}
const watchPid = Number(watchPidText);
const pgDir = join(runDir, "postgres");
const kafkaDir = join(runDir, "kafka");
let stopping = false;

function writeState(state: TestStackState): void {
  const tmp = `${stateFile}.tmp`;
  writeFileSync(tmp, JSON.stringify(state, null, 2));
  renameSync(tmp, stateFile!); // atomic: readers never see half a file
}

async function shutdown(code: number): Promise<never> {
  if (!stopping) {
    stopping = true;
    await Promise.allSettled([stopKafka(kafkaDir, 10_000), stopPostgres(pgDir, 10_000)]);
    rmSync(runDir!, { recursive: true, force: true });
    rmSync(stateFile!, { force: true });
    rmSync(stateFile!.replace(/\.json$/, ".lock"), { force: true });
    if (code === 0) rmSync(stateFile!.replace(/\.json$/, ".log"), { force: true });
  }
  process.exit(code);
}

for (const signal of ["SIGTERM", "SIGINT", "SIGHUP"] as const) process.on(signal, () => void shutdown(0));

async function main(): Promise<void> {
  const started = Date.now();
  const [pgPort, kafkaPort, controllerPort] = [await freePort(), await freePort(), await freePort()];
  const pgPromise = startPostgres({ dataDir: pgDir, port: pgPort, fast: true }).then(async (pg) => {
    const t = Date.now();
    await migrateDatabase(pg.url(TEMPLATE_DB));
    return { pg, templateMs: Date.now() - t };
  });
  const kafkaPromise = startKafka({
    dataDir: kafkaDir,
    port: kafkaPort,
    controllerPort,
    libsDir: resolve(REPO_ROOT, ".local/kafka/libs"),
    repoRoot: REPO_ROOT,
    heapMb: 512,
    numPartitions: 3,
  });
  const [pgResult, kafkaResult] = await Promise.all([pgPromise, kafkaPromise]);
  const client = createKafka({ brokers: kafkaResult.brokers, clientId: "test-supervisor", logLevel: "nothing" });
  await client.waitUntilReady(120_000);
  const timings = {
    postgresMs: pgResult.pg.startupMs,
    kafkaPortMs: kafkaResult.startupMs,
    kafkaReadyMs: Date.now() - started,
    templateMs: pgResult.templateMs,
    totalMs: Date.now() - started,
  };
  // kept across runs: start-up times of the test stack on this machine
  appendFileSync(join(dirname(stateFile!), "timings.log"), `${new Date().toISOString()} ${JSON.stringify(timings)}\n`);
  writeState({
    status: "ready",
    supervisorPid: process.pid,
    watchPid,
    pgPort,
    brokers: kafkaResult.brokers,
    templateDb: TEMPLATE_DB,
    timings,
  });
  while (isRunning(watchPid)) await sleep(300);
  await shutdown(0);
}

main().catch(async (error) => {
  try {
    writeState({
      status: "error",
      error: error instanceof Error ? (error.stack ?? error.message) : String(error),
      supervisorPid: process.pid,
      watchPid,
      pgPort: 0,
      brokers: [],
      templateDb: TEMPLATE_DB,
      timings: { postgresMs: 0, kafkaPortMs: 0, kafkaReadyMs: 0, templateMs: 0, totalMs: 0 },
    });
  } catch {
    /* nothing more to report */
  }
  await Promise.allSettled([stopKafka(kafkaDir, 5000), stopPostgres(pgDir, 5000)]);
  rmSync(runDir!, { recursive: true, force: true });
  // keep the error state file a while so that waiting test processes can read it, then remove it
  await sleep(10_000);
  rmSync(stateFile!, { force: true });
  process.exit(1);
});

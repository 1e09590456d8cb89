import { test } from "node:test";
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { chmodSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import pg from "pg";
import {
  freePort,
  isRunning,
  loadStackConfig,
  startPostgres,
  startKafka,
  stopKafka,
  kafkaStatus,
  postgresStatus,
  startStack,
  stopStack,
  stackStatus,
} from "../../lib/stack/index.ts";
import { orthancInstalled } from "../../lib/stack/orthanc.ts";
import { REPO_ROOT } from "../../lib/db/index.ts";
import { createKafka } from "../../lib/kafka/index.ts";
import { getTestStack, waitFor } from "../helpers/index.ts";

function tempDir(t: { after(fn: () => void): void }): string {
  const dir = mkdtempSync(join(REPO_ROOT, ".local", "stack-test-"));
  chmodSync(dir, 0o755); // the postgres OS user must be able to enter it
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

/** Gone or a zombie waiting to be reaped (its parent exited a moment ago). */
function processGone(pid: number): boolean {
  return !isRunning(pid);
}

test("embedded PostgreSQL starts, is reused while running, survives a stale pid file and stops cleanly", async (t) => {
  const dir = tempDir(t);
  const port = await freePort();
  const first = await startPostgres({ dataDir: dir, port, fast: true });
  t.after(() => first.stop());
  const again = await startPostgres({ dataDir: dir, port, fast: true });
  assert.equal(again.reused, true);
  assert.equal(again.pid, first.pid);
  await first.stop();
  assert.ok(processGone(first.pid));
  assert.deepEqual(postgresStatus(dir), { running: false });

  // a crash leaves postmaster.pid behind, naming a process that no longer exists
  writeFileSync(join(dir, "pgdata", "postmaster.pid"), `999999\n${dir}/pgdata\n`);
  const restarted = await startPostgres({ dataDir: dir, port, fast: true });
  assert.equal(restarted.reused, false);
  const client = new pg.Client({ connectionString: restarted.url() });
  await client.connect();
  assert.equal((await client.query("SELECT current_setting('fsync') AS fsync")).rows[0].fsync, "off");
  await client.end();
  await restarted.stop();
  assert.ok(processGone(restarted.pid));
});

test("a leftover Kafka broker without its pid file is found by its config path and stopped", async (t) => {
  const dir = tempDir(t);
  const [port, controllerPort] = [await freePort(), await freePort()];
  const options = { dataDir: dir, port, controllerPort, libsDir: join(REPO_ROOT, ".local/kafka/libs"), repoRoot: REPO_ROOT };
  const broker = await startKafka(options);
  t.after(() => stopKafka(dir));
  t.diagnostic(`kafka format + start until the port accepts: ${broker.startupMs} ms`);
  rmSync(join(dir, "kafka.pid")); // as if the process that started it had crashed
  assert.deepEqual(kafkaStatus(dir).pids, [broker.pid]);
  const reused = await startKafka(options);
  assert.equal(reused.reused, true);
  assert.equal(reused.pid, broker.pid);
  const t0 = Date.now();
  assert.equal(await stopKafka(dir), true);
  t.diagnostic(`kafka stop: ${Date.now() - t0} ms`);
  assert.ok(processGone(broker.pid));
  assert.equal(kafkaStatus(dir).running, false);
});

test("the stack CLI in the foreground stops its PostgreSQL on SIGINT (Ctrl-C)", async (t) => {
  const test = await getTestStack(); // an existing broker: the CLI then only starts PostgreSQL
  const dir = tempDir(t);
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    STACK_DIR: dir,
    PG_PORT: String(await freePort()),
    KAFKA_BROKERS: test.brokers.join(","),
    KAFKA_TOPIC_PREFIX: `cli${process.pid}.`,
    // the CLI starts a local Orthanc too: its own ports, so that parallel tests never meet on the defaults
    ORTHANC_HTTP_PORT: String(await freePort()),
    ORTHANC_DICOM_PORT: String(await freePort()),
  };
  delete env.DATABASE_URL;
  const child = spawn(process.execPath, ["--import", "tsx", "scripts/stack.ts", "start", "--foreground", "--no-migrate"], {
    cwd: REPO_ROOT,
    env,
    stdio: ["ignore", "pipe", "pipe"],
  });
  let stdout = "";
  let stderr = "";
  let exitCode: number | null | undefined;
  child.stdout.on("data", (chunk) => (stdout += chunk));
  child.stderr.on("data", (chunk) => (stderr += chunk));
  const exited = new Promise<number | null>((resolve) => child.on("exit", (code) => resolve((exitCode = code))));
  t.after(() => stopStack(loadStackConfig(env)));
  const printed = await waitFor(
    "stack settings printed",
    () => {
      if (exitCode !== undefined) throw new Error(`stack CLI exited with ${exitCode}:\n${stderr}`);
      return stdout.trim().endsWith("}") ? JSON.parse(stdout) : undefined;
    },
    120_000,
  );
  assert.match(printed.DATABASE_URL, /^postgresql:\/\/.*\/gkmvlp$/);
  assert.equal(printed.kafka, "external");
  const status = stackStatus(loadStackConfig(env));
  assert.ok("running" in status.postgres && status.postgres.running);
  const pgPid = (status.postgres as { pid: number }).pid;

  const admin = await createKafka({ brokers: test.brokers, clientId: "stack-test", logLevel: "nothing" }).admin();
  const topics = await admin.listTopics();
  await admin.deleteTopics(Object.values(printed.topics as Record<string, string>));
  await admin.disconnect();
  assert.ok(topics.includes(`cli${process.pid}.analysis.requested`), "topics created by the project");

  child.kill("SIGINT");
  assert.equal(await exited, 130);
  await waitFor("PostgreSQL stopped with the CLI", () => processGone(pgPid), 10_000);
});

test(
  "with pacs the stack starts a local Orthanc (its DICOMweb answering), hands out its URL and credentials, and stopStack stops it",
  { skip: !orthancInstalled() && "Orthanc is not installed (npm run setup)" },
  async (t) => {
    const test = await getTestStack();
    const dir = tempDir(t);
    const env = {
      STACK_DIR: dir,
      DATABASE_URL: test.serverUrl(`pacs_${process.pid}`),
      KAFKA_BROKERS: test.brokers.join(","),
      KAFKA_TOPIC_PREFIX: `pacs${process.pid}.`,
      ORTHANC_HTTP_PORT: String(await freePort()),
      ORTHANC_DICOM_PORT: String(await freePort()),
    };
    const config = loadStackConfig(env);
    const stack = await startStack(config, { pacs: true });
    t.after(async () => {
      await stopStack(config);
      const client = new pg.Client({ connectionString: test.serverUrl("postgres") });
      await client.connect();
      await client.query(`DROP DATABASE IF EXISTS pacs_${process.pid} WITH (FORCE)`);
      await client.end();
    });
    assert.ok(stack.pacs?.local, "a local Orthanc");
    assert.equal(stack.pacs.url, `http://127.0.0.1:${env.ORTHANC_HTTP_PORT}`);
    const auth = `Basic ${Buffer.from(`${stack.pacs.username}:${stack.pacs.password}`).toString("base64")}`;
    const studies = await fetch(`${stack.pacs.url}/dicom-web/studies`, {
      headers: { authorization: auth, accept: "application/dicom+json" },
    });
    assert.ok(studies.status === 200 || studies.status === 204, `QIDO answered ${studies.status}`);
    assert.equal((await fetch(`${stack.pacs.url}/system`)).status, 401, "no access without the credentials");
    const pid = stack.pacs.local.pid;
    assert.deepEqual(await stopStack(config), { postgres: false, kafka: false, orthanc: true });
    assert.ok(processGone(pid));

    // ORTHANC_URL names a PACS: nothing is started, and it is handed out as given
    const external = loadStackConfig({
      ...env,
      ORTHANC_URL: "https://pacs.example.org/orthanc/",
      ORTHANC_USERNAME: "u",
      ORTHANC_PASSWORD: "p",
    });
    const withExternal = await startStack(external, { pacs: true });
    assert.deepEqual(withExternal.pacs, { url: "https://pacs.example.org/orthanc", username: "u", password: "p" });
    assert.throws(() => loadStackConfig({ ORTHANC_URL: "file:///etc/passwd" }), /ORTHANC_URL/);
  },
);

test("startStack with external servers starts nothing and only prepares database and topics", async (t) => {
  const test = await getTestStack();
  const dir = tempDir(t);
  const config = loadStackConfig({
    STACK_DIR: dir,
    DATABASE_URL: test.serverUrl(`ext_${process.pid}`),
    KAFKA_BROKERS: test.brokers.join(","),
    KAFKA_TOPIC_PREFIX: `ext${process.pid}.`,
  });
  const stack = await startStack(config);
  t.after(async () => {
    const client = new pg.Client({ connectionString: test.serverUrl("postgres") });
    await client.connect();
    await client.query(`DROP DATABASE IF EXISTS ext_${process.pid} WITH (FORCE)`);
    await client.end();
  });
  assert.equal(stack.postgres, undefined);
  assert.equal(stack.kafka, undefined);
  assert.deepEqual(stack.kafkaBrokers, test.brokers);
  const client = new pg.Client({ connectionString: stack.databaseUrl });
  await client.connect(); // the database was created
  await client.end();
  await stack.stop();
  assert.deepEqual(stackStatus(config), { postgres: { external: true }, kafka: { external: true } });
  const admin = await createKafka({ brokers: test.brokers, clientId: "stack-test", logLevel: "nothing" }).admin();
  await admin.deleteTopics(Object.values(stack.topics));
  await admin.disconnect();
});

test("Ctrl-C while the stack CLI is still starting leaves no server or initdb behind", async (t) => {
  const test = await getTestStack();
  const dir = tempDir(t);
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    STACK_DIR: dir,
    PG_PORT: String(await freePort()),
    KAFKA_BROKERS: test.brokers.join(","),
    KAFKA_TOPIC_PREFIX: `int${process.pid}.`,
  };
  delete env.DATABASE_URL;
  const child = spawn(process.execPath, ["--import", "tsx", "scripts/stack.ts", "start", "--no-migrate"], {
    cwd: REPO_ROOT,
    env,
    stdio: ["ignore", "pipe", "pipe"],
  });
  let stderr = "";
  child.stderr.on("data", (chunk) => (stderr += chunk));
  const exited = new Promise<number | null>((resolve) => child.on("exit", (code) => resolve(code)));
  t.after(() => stopStack(loadStackConfig(env)));
  await waitFor("initdb started", () => stderr.includes("initialising PostgreSQL cluster"), 60_000);
  child.kill("SIGINT");
  assert.equal(await exited, 130);
  assert.match(stderr, /start-up interrupted; stopped what had started/);
  const leftovers = await waitFor(
    "no process using the stack folder",
    () => {
      const pids = readdirSync("/proc").filter((p) => /^\d+$/.test(p) && isRunning(Number(p)));
      const using = pids.filter((p) => {
        try {
          return readFileSync(`/proc/${p}/cmdline`, "utf8").includes(dir);
        } catch {
          return false;
        }
      });
      return using.length === 0 ? using : undefined;
    },
    10_000,
  );
  assert.deepEqual(leftovers, []);
});

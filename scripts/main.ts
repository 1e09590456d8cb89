// The main job on embedded defaults: starts PostgreSQL and Kafka, migrates, seeds the demo tenant,
// starts the gateway (which serves the console) and a worker, registers the demo studies and analyses
// them through the public API. Without --demo it then keeps serving until Ctrl-C; with --demo it prints
// a table and a one-line JSON summary, and stops everything it started.
import { randomBytes } from "node:crypto";
import { existsSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { createDb, createRepositories } from "../lib/db/index.ts";
import { topicNames } from "../lib/events/index.ts";
import { installShutdownHandlers, loadStackConfig, startStack, stopStack } from "../lib/stack/index.ts";
import { superviseGroup, type SupervisedGroup, type SupervisedProcess } from "../lib/stack/supervisor.ts";
import { loadMainConfig } from "./main/config.ts";
import { runDicomDemo } from "./main/demo-dicom.ts";
import { formatTable, runDemoStudies } from "./main/demo-studies.ts";
import { serviceSpec, startService, waitReady } from "./main/processes.ts";
import { prepareDemoAccess } from "./main/seed.ts";

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
const log = (line: string) => process.stderr.write(`[main] ${line}\n`);

async function main(): Promise<void> {
  const config = loadMainConfig(process.env, process.argv.slice(2));
  const stackConfig = loadStackConfig(process.env);
  log("starting PostgreSQL, Kafka and the local PACS…");
  // The servers run detached: a Ctrl-C while they start must still stop them.
  const abort = new AbortController();
  const removeEarlyHandlers = installShutdownHandlers(async () => {
    abort.abort();
    await stopStack(stackConfig);
  }, log);
  const stack = await startStack(stackConfig, { migrate: true, pacs: true, signal: abort.signal });
  removeEarlyHandlers();
  // The gateway and the worker run under a supervisor (lib/stack/supervisor.ts): a crashed one is started again
  // with back-off; a crash loop stops everything and exits 1. Every way out (Ctrl-C, SIGTERM, giving up, a failed
  // start, --demo's end) stops the children and then the servers this run started, crashed children or not.
  let group: SupervisedGroup | undefined;
  let stopping: Promise<void> | undefined;
  const stopAll = () =>
    (stopping ??= (async () => {
      log("stopping gateway and worker, then the stack…");
      // Intake first (the gateway), then the worker drains and commits, then the servers go.
      if (group) await group.stop();
      else await stack.stop();
    })());
  installShutdownHandlers(stopAll, log);

  try {
    const db = createDb(stack.databaseUrl, { name: "main" });
    const demo = await prepareDemoAccess(createRepositories(db.prisma, { topics: topicNames(stackConfig.topicPrefix) }), {
      mode: config.seedMode,
      externalDatabase: config.externalDatabase,
      apiKey: config.apiKey,
    });
    await db.close();
    log(demo.decision.seed ? `demo users and API key seeded (${demo.decision.reason})` : `no demo data seeded: ${demo.decision.reason}`);

    if (existsSync(path.join(root, "services/console/build.ts"))) {
      log("building the console…");
      const build = startService({ name: "console-build", entry: "services/console/build.ts", env: {}, logDir: config.logDir, cwd: root });
      await new Promise((resolve) => build.child.once("exit", resolve));
      if (build.child.exitCode !== 0) throw new Error(`console build failed (see ${config.logDir}/console-build.log)`);
    }

    const shared = {
      DATABASE_URL: stack.databaseUrl,
      KAFKA_BROKERS: stack.kafkaBrokers.join(","),
      STORAGE_DIR: config.storageDir,
      LOG_LEVEL: config.logLevel,
      // the PACS: where signed-off reports go as DICOM SR (the local Orthanc, or ORTHANC_URL's), and, when it is the
      // local Orthanc, where gateway and worker keep display images (IMAGE_STORE=pacs, shared through DICOMweb)
      ...(stack.pacs
        ? {
            ORTHANC_URL: stack.pacs.url,
            ...(stack.pacs.username ? { ORTHANC_USERNAME: stack.pacs.username } : {}),
            ...(stack.pacs.password ? { ORTHANC_PASSWORD: stack.pacs.password } : {}),
            ...(stack.pacs.local ? { IMAGE_STORE: "pacs" } : {}),
          }
        : {}),
    };
    if (stack.pacs?.local) log("images are stored in the local Orthanc (IMAGE_STORE=pacs)");
    const baseUrl = `http://127.0.0.1:${config.port}`;
    group = superviseGroup({
      services: [
        serviceSpec({
          name: "worker",
          entry: "workers/analysis/src/main.ts",
          env: {
            ...shared,
            WORKER_HTTP_PORT: String(config.workerPort),
            ...(config.bundleDir ? { MODEL_BUNDLE_DIR: config.bundleDir } : {}),
          },
          logDir: config.logDir,
          cwd: root,
          // model loading happens before the worker answers: a longer grace than the gateway's
          liveness: { url: `http://127.0.0.1:${config.workerPort}/healthz`, graceMs: 120_000 },
        }),
        serviceSpec({
          name: "gateway",
          entry: "services/gateway/src/main.ts",
          // one secret for every restart, so tokens issued before a crash stay valid
          env: {
            ...shared,
            GATEWAY_PORT: String(config.port),
            AUTH_TOKEN_SECRET: config.tokenSecret ?? randomBytes(32).toString("hex"),
            // DICOM in: one gateway here, so it follows the PACS's /changes; only mapped AE titles are ingested
            ...(stack.pacs ? { PACS_INGEST: "true" } : {}),
          },
          logDir: config.logDir,
          cwd: root,
          liveness: { url: `${baseUrl}/healthz`, graceMs: 60_000 },
        }),
      ],
      log: (line) => log(line.replace(/^\[supervisor\] /, "")),
      cleanup: () => stack.stop(),
      // Ctrl-C / SIGTERM are handled above (stopAll), which stops the group
      handleSignals: false,
    });
    const [worker, gateway] = group.processes as [SupervisedProcess, SupervisedProcess];
    const watch = (p: SupervisedProcess) => ({
      name: p.name,
      failed: () => (p.gaveUp() ? "kept crashing (see the supervisor's lines above)" : undefined),
    });
    await Promise.all([
      waitReady(`${baseUrl}/readyz`, watch(gateway), 120_000),
      waitReady(`http://127.0.0.1:${config.workerPort}/readyz`, watch(worker), 180_000),
    ]);
    log(`gateway ready at ${baseUrl}/graphql, worker ready`);

    if (!demo.apiKey) {
      // only without --demo (the config refuses --demo without credentials): serve, without demo studies
      log("demo studies skipped: no demo API key seeded and no MAIN_API_KEY given");
      process.stdout.write(
        `\nConsole:  ${baseUrl}/console/\nGraphQL:  ${baseUrl}/graphql\nLogs: ${config.logDir}. Ctrl-C stops everything.\n`,
      );
      return;
    }
    const runKey = config.demo ? `demo-${Date.now()}` : "main";
    const { outcomes, summary } = await runDemoStudies({
      baseUrl,
      credentials: { apiKey: demo.apiKey },
      root: path.join(root, "demo/studies"),
      runKey,
      timeoutMs: config.timeoutMs,
      log,
    });
    process.stdout.write(`${formatTable(outcomes)}\n`);
    const admin = demo.seeded?.users.find((u) => u.role === "ADMIN") ?? null;
    const dicom = await runDicomDemo({
      baseUrl,
      admin: admin ? { email: admin.email, password: admin.password } : null,
      pacs: stack.pacs,
      file: path.join(root, "demo/studies/real/siim_cr_chest_pa_mono2.dcm"),
      workDir: path.join(root, ".local/demo-dicom"),
      timeoutMs: config.timeoutMs,
      log,
    }).catch((error: unknown) => {
      log(`DICOM round trip failed: ${error instanceof Error ? error.message : String(error)}`);
      return { via_dicom: 0, sr_stored: 0, dicom_failed: true };
    });

    if (config.demo) {
      await stopAll();
      process.stdout.write(`${JSON.stringify({ ...summary, ...dicom })}\n`);
      // a skipped round trip (no local PACS or dcmtk) is said in the line; one that ran must have stored its SR
      const dicomOk = "dicom_skipped" in dicom || (dicom.via_dicom >= 1 && dicom.sr_stored >= 1);
      process.exit(summary.failed === 0 && summary.succeeded === summary.analyses && dicomOk ? 0 : 1);
    }
    const users = demo.seeded ? demo.seeded.users.map((u) => `${u.email} / ${u.password} (${u.role})`).join("\n    ") : null;
    process.stdout.write(
      `\nConsole:  ${baseUrl}/console/\nGraphQL:  ${baseUrl}/graphql` +
        (demo.seeded ? `  (header x-api-key: ${demo.seeded.apiKey})\nDemo logins:\n    ${users}` : "") +
        `\nLogs: ${config.logDir}. Ctrl-C stops everything.\n`,
    );
  } catch (error) {
    log(`failed: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}`);
    await stopAll();
    process.exit(1);
  }
}

void main();

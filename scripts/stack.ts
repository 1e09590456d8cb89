// Local stack CLI:  node --import tsx scripts/stack.ts start|stop|status [--foreground] [--no-migrate]
//   start       start PostgreSQL (embedded) and Kafka (KRaft) detached, create the database, migrate, create
//               topics, print the connection settings, and return. With --foreground it stays attached
//               and Ctrl-C / SIGTERM stops both servers.
//   stop        stop the servers recorded under STACK_DIR (default .local/stack)
//   status      show what is running
// Settings come from the environment (see lib/stack/config.ts): PG_PORT, KAFKA_PORT, DATABASE_URL, ...;
// KAFKA_CLUSTER_SIZE=3 starts three KRaft nodes (replication 3, min ISR 2) instead of one broker.
import { loadStackConfig, startStack, stopStack, stackStatus, installShutdownHandlers, killChildProcesses } from "../lib/stack/index.ts";
import { ConfigError } from "../lib/errors/index.ts";

async function main(): Promise<void> {
  const [command = "status", ...flags] = process.argv.slice(2);
  const config = loadStackConfig(process.env);
  const log = (line: string) => console.error(`[stack] ${line}`);
  switch (command) {
    case "start": {
      // the servers are detached from this terminal's process group: Ctrl-C during start-up must stop them here
      const abort = new AbortController();
      let starting: Promise<unknown> = Promise.resolve();
      const removeStartupHandlers = installShutdownHandlers(async () => {
        abort.abort();
        // startStack stops what it had started when aborted; don't wait long for a migration to finish
        await Promise.race([starting.catch(() => undefined), new Promise((resolve) => setTimeout(resolve, 10_000))]);
        await stopStack(config);
        killChildProcesses(); // initdb or the Kafka storage formatter, if still running
        log("start-up interrupted; stopped what had started");
      }, log);
      const startPromise = startStack(config, { migrate: !flags.includes("--no-migrate"), pacs: true, log, signal: abort.signal });
      starting = startPromise;
      const stack = await startPromise.catch(async (error) => {
        if (abort.signal.aborted) await new Promise(() => undefined); // the signal handler exits the process
        throw error;
      });
      if (abort.signal.aborted) await new Promise(() => undefined); // interrupted at the last moment: the handler stops it
      removeStartupHandlers();
      console.log(
        JSON.stringify(
          {
            DATABASE_URL: stack.databaseUrl,
            KAFKA_BROKERS: stack.kafkaBrokers.join(","),
            topics: stack.topics,
            postgres: stack.postgres ? { pid: stack.postgres.pid, reused: stack.postgres.reused } : "external",
            kafka: stack.kafkaCluster
              ? {
                  nodes: stack.kafkaCluster.nodes.map((n) => ({ id: n.id, port: n.options.port, dir: n.dataDir })),
                  reused: stack.kafkaCluster.reused,
                }
              : stack.kafka
                ? { pid: stack.kafka.pid, reused: stack.kafka.reused }
                : "external",
            pacs: stack.pacs
              ? {
                  ORTHANC_URL: stack.pacs.url,
                  aeTitle: stack.pacs.aeTitle,
                  dicomPort: stack.pacs.dicomPort,
                  local: Boolean(stack.pacs.local),
                }
              : "none (Orthanc not installed)",
            timings: stack.timings,
          },
          null,
          2,
        ),
      );
      if (flags.includes("--foreground")) {
        log("running in the foreground; Ctrl-C stops PostgreSQL and Kafka");
        installShutdownHandlers(async () => {
          await stack.stop({ all: true });
          log("stopped");
        }, log);
        setInterval(() => undefined, 1 << 30);
      }
      return;
    }
    case "stop": {
      const stopped = await stopStack(config);
      log(`stopped: postgres=${stopped.postgres} kafka=${stopped.kafka} orthanc=${stopped.orthanc}`);
      return;
    }
    case "status": {
      console.log(JSON.stringify(stackStatus(config), null, 2));
      return;
    }
    default:
      console.error("usage: scripts/stack.ts start [--foreground] [--no-migrate] | stop | status");
      process.exitCode = 2;
  }
}

main().catch((error) => {
  console.error(error instanceof ConfigError ? error.message : error);
  process.exit(1);
});

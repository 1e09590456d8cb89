// The local stack: PostgreSQL (embedded unless DATABASE_URL is given) and Kafka (a local KRaft broker, or a
// 3-node cluster with KAFKA_CLUSTER_SIZE=3, unless KAFKA_BROKERS is given), and with `pacs` a local Orthanc PACS
// (unless ORTHANC_URL names one), started in parallel, waited for, with the database and the topics created.
// Servers run detached (own process groups, pid files under STACK_DIR), so `stack start` can return and
// `stack stop` finds them; a handle's stop() stops only what that call started.
import { join } from "node:path";
import { startPostgres, stopPostgres, postgresStatus, postgresUrl, type PostgresHandle } from "./postgres.ts";
import { startKafka, stopKafka, kafkaStatus, type KafkaBrokerHandle } from "./kafka.ts";
import { startKafkaCluster, stopKafkaCluster, kafkaClusterStatus, type KafkaClusterHandle } from "./kafka-cluster.ts";
import { orthancInstalled, startOrthanc, stopOrthanc, type OrthancHandle } from "./orthanc.ts";
import { createKafka } from "../kafka/index.ts";
import { ensureDatabase, migrateDatabase } from "../db/migrate.ts";
import { topicNames, type TopicNames } from "../events/index.ts";
import type { StackConfig } from "./config.ts";

export { loadStackConfig, stackEnvSchema, type StackConfig } from "./config.ts";
export { startPostgres, stopPostgres, postgresStatus, postgresUrl, type PostgresHandle, type PostgresOptions } from "./postgres.ts";
export { startKafka, stopKafka, kafkaStatus, ensureKafkaInstalled, type KafkaBrokerHandle, type KafkaBrokerOptions } from "./kafka.ts";
export {
  startKafkaCluster,
  stopKafkaCluster,
  kafkaClusterStatus,
  clusterNodeDir,
  type KafkaClusterHandle,
  type KafkaClusterOptions,
  type KafkaNode,
} from "./kafka-cluster.ts";
export { freePort, portOpen, isRunning, killChildProcesses } from "./processes.ts";
export { installShutdownHandlers } from "./shutdown.ts";

/** Where the platform stores and reads DICOM: the local Orthanc, or the PACS that ORTHANC_URL names. */
export interface PacsHandle {
  /** Orthanc's root URL (its DICOMweb at `${url}/dicom-web`) */
  url: string;
  username?: string;
  password?: string;
  /** the local Orthanc's AE title and DICOM port (C-STORE), absent for an external PACS */
  aeTitle?: string;
  dicomPort?: number;
  local?: OrthancHandle;
}

export interface StackHandle {
  databaseUrl: string;
  kafkaBrokers: string[];
  topics: TopicNames;
  /** undefined when an external server is used */
  postgres?: PostgresHandle;
  kafka?: KafkaBrokerHandle;
  /** KAFKA_CLUSTER_SIZE > 1: the same brokers as `kafka`, with per-node control */
  kafkaCluster?: KafkaClusterHandle;
  /** with StartStackOptions.pacs: the PACS (null when Orthanc is not installed and no ORTHANC_URL is given) */
  pacs?: PacsHandle | null;
  timings: { postgresMs: number; kafkaPortMs: number; kafkaReadyMs: number; migrateMs?: number; totalMs: number };
  /** stop the servers this call started (reused or external ones are left alone unless all = true) */
  stop(options?: { all?: boolean }): Promise<void>;
}

export interface StartStackOptions {
  /** run `prisma migrate deploy` on the database (default false) */
  migrate?: boolean;
  /** test mode: PostgreSQL without fsync */
  fast?: boolean;
  /** extra PostgreSQL server settings (a server already running keeps its own) */
  postgresSettings?: Record<string, string>;
  /** also a PACS: the local Orthanc (when installed) unless ORTHANC_URL names one */
  pacs?: boolean;
  log?: (line: string) => void;
  /** abort start-up (Ctrl-C): nothing new is spawned after it fires, and what had started is stopped */
  signal?: AbortSignal;
}

function dirs(config: StackConfig) {
  return {
    postgres: join(config.dir, "postgres"),
    kafka: join(config.dir, config.kafkaClusterSize > 1 ? "kafka-cluster" : "kafka"),
    orthanc: join(config.dir, "orthanc"),
  };
}

/** node i of a cluster listens on KAFKA_PORT + 2i and KAFKA_CONTROLLER_PORT + 2i (the defaults interleave) */
export function clusterPorts(config: StackConfig): { port: number; controllerPort: number }[] {
  return Array.from({ length: config.kafkaClusterSize }, (_, i) => ({
    port: config.kafkaPort + 2 * i,
    controllerPort: config.kafkaControllerPort + 2 * i,
  }));
}

export async function startStack(config: StackConfig, options: StartStackOptions = {}): Promise<StackHandle> {
  const started = Date.now();
  const log = options.log ?? (() => undefined);
  const d = dirs(config);
  let postgres: PostgresHandle | undefined;
  let kafka: KafkaBrokerHandle | undefined;
  let kafkaCluster: KafkaClusterHandle | undefined;
  let orthanc: OrthancHandle | undefined;
  const stopStarted = async (all = false) => {
    await Promise.all([
      kafka && (all || !kafka.reused) ? kafka.stop() : undefined,
      postgres && (all || !postgres.reused) ? postgres.stop() : undefined,
      orthanc && (all || !orthanc.reused) ? orthanc.stop() : undefined,
    ]);
  };
  try {
    const pgPromise = config.externalDatabaseUrl
      ? Promise.resolve(undefined)
      : startPostgres({
          dataDir: d.postgres,
          port: config.pgPort,
          fast: options.fast,
          ...(options.postgresSettings ? { settings: options.postgresSettings } : {}),
          startTimeoutMs: config.startTimeoutMs,
          log,
          signal: options.signal,
        });
    const kafkaOptions = {
      dataDir: d.kafka,
      libsDir: config.kafkaLibsDir,
      repoRoot: config.repoRoot,
      heapMb: config.kafkaHeapMb,
      numPartitions: config.topicPartitions,
      startTimeoutMs: config.startTimeoutMs,
      log,
      signal: options.signal,
    };
    const kafkaPromise: Promise<KafkaBrokerHandle | KafkaClusterHandle | undefined> = config.externalBrokers
      ? Promise.resolve(undefined)
      : config.kafkaClusterSize > 1
        ? startKafkaCluster({ ...kafkaOptions, nodes: clusterPorts(config) })
        : startKafka({ ...kafkaOptions, port: config.kafkaPort, controllerPort: config.kafkaControllerPort });
    const localPacs = options.pacs && !config.externalPacs;
    if (localPacs && !orthancInstalled()) log("Orthanc is not installed (npm run setup): no PACS; DICOM SR deliveries stay unsent");
    const orthancPromise =
      localPacs && orthancInstalled()
        ? startOrthanc({
            dataDir: d.orthanc,
            httpPort: config.orthanc.httpPort,
            dicomPort: config.orthanc.dicomPort,
            aeTitle: config.orthanc.aeTitle,
            startTimeoutMs: config.startTimeoutMs,
            ...(options.signal ? { signal: options.signal } : {}),
          })
        : Promise.resolve(undefined);
    const [pgResult, kafkaResult, orthancResult] = await Promise.allSettled([pgPromise, kafkaPromise, orthancPromise]);
    if (orthancResult.status === "fulfilled") orthanc = orthancResult.value;
    if (pgResult.status === "fulfilled") postgres = pgResult.value;
    if (kafkaResult.status === "fulfilled") {
      const value = kafkaResult.value;
      kafka = value;
      if (value && "nodes" in value) kafkaCluster = value;
    }
    if (pgResult.status === "rejected") throw pgResult.reason;
    if (kafkaResult.status === "rejected") throw kafkaResult.reason;
    if (orthancResult.status === "rejected") throw orthancResult.reason;
    const postgresMs = postgres?.startupMs ?? 0;
    const kafkaPortMs = kafka?.startupMs ?? 0;

    options.signal?.throwIfAborted();
    const databaseUrl = config.externalDatabaseUrl ?? postgresUrl(config.pgPort, config.database);
    const kafkaBrokers = config.externalBrokers ?? kafka!.brokers;
    await ensureDatabase(databaseUrl);

    let migrateMs: number | undefined;
    if (options.migrate) {
      const t = Date.now();
      await migrateDatabase(databaseUrl);
      migrateMs = Date.now() - t;
    }

    const topics = topicNames(config.topicPrefix);
    const client = createKafka({ brokers: kafkaBrokers, clientId: "stack", logLevel: "nothing" });
    await client.waitUntilReady(config.startTimeoutMs);
    const admin = await client.admin();
    try {
      if (kafkaCluster) {
        // topics take their replication from the brokers registered when they are created: wait for all of them
        const wanted = kafkaCluster.nodes.length;
        const deadline = Date.now() + config.startTimeoutMs;
        while ((await admin.brokerCount()) < wanted) {
          if (Date.now() > deadline)
            throw new Error(`only some of the ${wanted} Kafka nodes registered within ${config.startTimeoutMs} ms`);
          await new Promise((resolve) => setTimeout(resolve, 250));
        }
      }
      await admin.ensureTopics([topics.requested, topics.completed, topics.deadLetter], {
        numPartitions: config.topicPartitions,
        // in cluster mode, name it: metadata may lag a node's registration (the factor would come out short)
        ...(config.kafkaClusterSize > 1 ? { replicationFactor: Math.min(3, config.kafkaClusterSize) } : {}),
      });
    } finally {
      await admin.disconnect();
    }
    const kafkaReadyMs = Date.now() - started;
    return {
      databaseUrl,
      kafkaBrokers,
      topics,
      postgres,
      kafka,
      kafkaCluster,
      ...(options.pacs
        ? {
            pacs: config.externalPacs
              ? { ...config.externalPacs }
              : orthanc
                ? {
                    url: orthanc.url,
                    username: orthanc.credentials.username,
                    password: orthanc.credentials.password,
                    aeTitle: orthanc.aeTitle,
                    dicomPort: orthanc.dicomPort,
                    local: orthanc,
                  }
                : null,
          }
        : {}),
      timings: { postgresMs, kafkaPortMs, kafkaReadyMs, migrateMs, totalMs: Date.now() - started },
      stop: (o = {}) => stopStarted(o.all ?? false),
    };
  } catch (error) {
    await stopStarted().catch(() => undefined);
    throw error;
  }
}

/** Stop the embedded servers recorded under config.dir (whoever started them). */
export async function stopStack(config: StackConfig): Promise<{ postgres: boolean; kafka: boolean; orthanc: boolean }> {
  const d = dirs(config);
  const [kafka, postgres, orthanc] = await Promise.all([
    config.kafkaClusterSize > 1 ? stopKafkaCluster(d.kafka) : stopKafka(d.kafka),
    stopPostgres(d.postgres),
    stopOrthanc(d.orthanc),
  ]);
  return { postgres, kafka, orthanc };
}

export function stackStatus(config: StackConfig) {
  const d = dirs(config);
  return {
    postgres: config.externalDatabaseUrl ? { external: true as const } : { ...postgresStatus(d.postgres), port: config.pgPort },
    kafka: config.externalBrokers
      ? { external: true as const }
      : config.kafkaClusterSize > 1
        ? { ...kafkaClusterStatus(d.kafka), ports: clusterPorts(config).map((p) => p.port) }
        : { ...kafkaStatus(d.kafka), port: config.kafkaPort },
  };
}

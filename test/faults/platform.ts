// The fault suite's own platform: PostgreSQL + Kafka (one broker or three KRaft nodes) through lib/stack on the
// suite's ports and folder, the demo tenant, and the gateway and the worker as separate processes (bench's
// service starter: own process groups, pids recorded). Every part can be killed and started again in place.
import { randomBytes } from "node:crypto";
import { rmSync } from "node:fs";
import path from "node:path";
import { createDb, createRepositories, seedDemo } from "../../lib/db/index.ts";
import { createKafka } from "../../lib/kafka/index.ts";
import {
  loadStackConfig,
  startKafka,
  startPostgres,
  startStack,
  stopKafka,
  stopPostgres,
  stopStack,
  type StackHandle,
} from "../../lib/stack/index.ts";
import { startService, waitForHttp, type Service } from "../../bench/lib/services.ts";
import type { FaultsConfig } from "./config.ts";

export interface FaultPlatform {
  stack: StackHandle;
  apiKey: string;
  gatewayUrl: string;
  worker(): Service;
  /** SIGKILL the worker's process group; resolves once it is gone */
  killWorker(): Promise<void>;
  startWorker(): Promise<void>;
  stopGateway(): Promise<void>;
  /** SIGKILL the gateway's process group; resolves once it is gone */
  killGateway(): Promise<void>;
  startGateway(): Promise<void>;
  /** stop (controlled shutdown) and start Kafka node `id` (1 in single-broker mode) */
  stopBroker(id: number): Promise<void>;
  startBroker(id: number): Promise<void>;
  stopPostgres(): Promise<void>;
  /** PostgreSQL's immediate shutdown: no checkpoint, crash recovery at the next start */
  crashPostgres(): Promise<void>;
  startPostgres(): Promise<void>;
  /** the node that coordinates the worker's consumer group now (the group's offsets partition leader) */
  workerGroupCoordinator(): Promise<number>;
  stop(): Promise<void>;
}

const WORKER_GROUP_ID = "faults-workers";
/** the stack's offsets.topic.num.partitions (lib/stack/kafka.ts) */
const OFFSETS_PARTITIONS = 4;

/** Kafka's choice of a group's offsets partition: abs(Java String.hashCode(groupId)) mod the partition count */
export function offsetsPartitionOf(groupId: string, partitions = OFFSETS_PARTITIONS): number {
  let hash = 0;
  for (let i = 0; i < groupId.length; i++) hash = (Math.imul(hash, 31) + groupId.charCodeAt(i)) | 0;
  const abs = hash === -2147483648 ? 0 : Math.abs(hash);
  return abs % partitions;
}

/** `baseEnv`: the suite's environment, handed to the gateway and the worker under the settings made here */
export async function startFaultPlatform(
  config: FaultsConfig,
  baseEnv: Record<string, string>,
  log: (line: string) => void,
): Promise<FaultPlatform> {
  const stackDir = path.join(config.dir, "stack");
  const topicPrefix = "faults.";
  const stackConfig = loadStackConfig({
    STACK_DIR: stackDir,
    PG_PORT: String(config.basePort),
    KAFKA_PORT: String(config.basePort + 10),
    KAFKA_CONTROLLER_PORT: String(config.basePort + 11),
    KAFKA_CLUSTER_SIZE: String(config.clusterSize),
    PG_DATABASE: "faults",
    KAFKA_TOPIC_PREFIX: topicPrefix,
  });
  // servers of an earlier run that died are ours (own folder and ports): stop them and start clean
  await stopStack(stackConfig).catch(() => undefined);
  rmSync(config.dir, { recursive: true, force: true });
  // durable PostgreSQL (fsync and synchronous commit on, as in production): with the test stacks' fast settings an
  // immediate shutdown loses commits already acknowledged (seen: a job's results, acknowledged and their Kafka
  // offset committed, were gone after the crash, leaving its analyses RUNNING for good)
  const stack = await startStack(stackConfig, { migrate: true, fast: false, log: (l) => log(`stack: ${l}`) });

  const db = createDb(stack.databaseUrl, { poolMax: 2 });
  const apiKey = `gk_faults_${randomBytes(12).toString("hex")}`;
  try {
    await seedDemo(createRepositories(db.prisma, { topics: stack.topics }), { apiKey });
  } finally {
    await db.close();
  }

  const common = {
    ...baseEnv,
    DATABASE_URL: stack.databaseUrl,
    KAFKA_BROKERS: stack.kafkaBrokers.join(","),
    STORAGE_DIR: path.join(config.dir, "images"),
    LOG_LEVEL: "warn",
  };
  const gatewayPort = config.basePort + 1;
  const workerPort = config.basePort + 2;
  const gatewayUrl = `http://127.0.0.1:${gatewayPort}`;
  const gatewayEnv = {
    ...common,
    GATEWAY_HOST: "127.0.0.1",
    GATEWAY_PORT: String(gatewayPort),
    KAFKA_TOPIC_PREFIX: topicPrefix,
    AUTH_TOKEN_SECRET: randomBytes(24).toString("hex"),
  };
  const workerEnv = {
    ...common,
    WORKER_GROUP_ID: WORKER_GROUP_ID,
    TOPIC_ANALYSIS_REQUESTED: stack.topics.requested,
    TOPIC_ANALYSIS_COMPLETED: stack.topics.completed,
    TOPIC_ANALYSIS_DEAD_LETTER: stack.topics.deadLetter,
    WORKER_HTTP_HOST: "127.0.0.1",
    WORKER_HTTP_PORT: String(workerPort),
    // a killed worker's partitions move to its successor after this long
    KAFKA_SESSION_TIMEOUT_MS: "10000",
  };
  let worker: Service | undefined;
  let gateway: Service | undefined;
  let workerStarts = 0;
  let gatewayStarts = 0;
  const startWorker = async () => {
    worker = startService(`worker-${++workerStarts}`, "workers/analysis/src/main.ts", workerEnv, config.dir);
    await waitForHttp(`http://127.0.0.1:${workerPort}/readyz`, 180_000, worker);
  };
  const startGateway = async () => {
    gateway = startService(`gateway-${++gatewayStarts}`, "services/gateway/src/main.ts", gatewayEnv, config.dir);
    await waitForHttp(`${gatewayUrl}/readyz`, 120_000, gateway);
  };
  const pgDir = path.join(stackDir, "postgres");
  const node = (id: number) => {
    if (stack.kafkaCluster) return stack.kafkaCluster.nodes.find((n) => n.id === id)!.options;
    return {
      dataDir: path.join(stackDir, "kafka"),
      port: stackConfig.kafkaPort,
      controllerPort: stackConfig.kafkaControllerPort,
      libsDir: stackConfig.kafkaLibsDir,
      repoRoot: stackConfig.repoRoot,
      heapMb: stackConfig.kafkaHeapMb,
      numPartitions: stackConfig.topicPartitions,
    };
  };
  const stopAll = async () => {
    log("stopping the gateway, the worker, Kafka and PostgreSQL");
    await gateway?.stop().catch(() => undefined);
    await worker?.stop().catch(() => undefined);
    await stack.stop({ all: true }).catch(() => undefined);
    await stopStack(stackConfig).catch(() => undefined);
  };
  try {
    await Promise.all([startGateway(), startWorker()]);
  } catch (error) {
    await stopAll();
    throw error;
  }
  return {
    stack,
    apiKey,
    gatewayUrl,
    worker: () => worker!,
    async killWorker() {
      const w = worker!;
      process.kill(-w.pid, "SIGKILL");
      await w.exited;
    },
    startWorker,
    stopGateway: () => gateway!.stop(),
    async killGateway() {
      const g = gateway!;
      process.kill(-g.pid, "SIGKILL");
      await g.exited;
    },
    startGateway,
    stopBroker: async (id) => {
      await stopKafka(node(id).dataDir);
    },
    startBroker: async (id) => {
      await startKafka(node(id));
    },
    stopPostgres: async () => {
      await stopPostgres(pgDir);
    },
    crashPostgres: async () => {
      await stopPostgres(pgDir, 15_000, { immediate: true });
    },
    startPostgres: async () => {
      await startPostgres({ dataDir: pgDir, port: stackConfig.pgPort, fast: false });
    },
    async workerGroupCoordinator() {
      const kafka = createKafka({ brokers: stack.kafkaBrokers, clientId: "faults-probe", logLevel: "nothing" });
      const admin = await kafka.admin();
      try {
        const { partitions } = await admin.describeTopic("__consumer_offsets");
        const leader = partitions.find((p) => p.partition === offsetsPartitionOf(WORKER_GROUP_ID))?.leader;
        if (leader === undefined || leader < 0) throw new Error("the worker group's offsets partition has no leader");
        return leader;
      } finally {
        await admin.disconnect();
      }
    },
    stop: stopAll,
  };
}

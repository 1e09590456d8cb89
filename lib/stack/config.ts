// Configuration of the local stack (what to start, where, on which ports), from an env object.
import { resolve, isAbsolute } from "node:path";
import { z } from "zod";
import { env, loadConfig, type Env } from "../config/index.ts";
import { REPO_ROOT } from "../db/migrate.ts";

export const stackEnvSchema = z.object({
  /** use this PostgreSQL instead of starting the embedded one */
  DATABASE_URL: env.postgresUrl().optional(),
  /** use these brokers instead of starting the local KRaft broker */
  KAFKA_BROKERS: env.list().optional(),
  /** where the embedded servers keep data, logs and pid files (relative to the repository root) */
  STACK_DIR: z.string().default(".local/stack"),
  /** database created on the embedded server */
  PG_DATABASE: z
    .string()
    .regex(/^[a-z_][a-z0-9_]*$/, "lower-case letters, digits and _")
    .default("gkmvlp"),
  PG_PORT: env.port(54329),
  KAFKA_PORT: env.port(19092),
  KAFKA_CONTROLLER_PORT: env.port(19093),
  /** 1: one broker (development). 3: three KRaft nodes as in production (topics with 3 replicas, min ISR 2); node i
   *  (0, 1, 2) listens on KAFKA_PORT + 2i and KAFKA_CONTROLLER_PORT + 2i */
  KAFKA_CLUSTER_SIZE: z.enum(["1", "3"], { message: "1 or 3" }).default("1").transform(Number),
  /** heap per broker JVM; default 512 for one broker, 256 each in a 3-node cluster */
  KAFKA_HEAP_MB: z.coerce.number().int().min(128).optional(),
  KAFKA_LIBS_DIR: z.string().default(".local/kafka/libs"),
  KAFKA_TOPIC_PREFIX: z
    .string()
    .regex(/^[A-Za-z0-9._-]*$/, "letters, digits, . _ -")
    .default(""),
  KAFKA_TOPIC_PARTITIONS: env.int(3, 1),
  /** use this PACS (Orthanc root URL, or any server whose DICOMweb lives at <url>/dicom-web) instead of the local Orthanc */
  ORTHANC_URL: z
    .string()
    .url()
    .refine((value) => URL.canParse(value) && /^https?:$/.test(new URL(value).protocol), "must be an http:// or https:// URL")
    .optional(),
  ORTHANC_USERNAME: z.string().optional(),
  ORTHANC_PASSWORD: z.string().optional(),
  /** the local Orthanc's ports (loopback) and AE title */
  ORTHANC_HTTP_PORT: env.port(18042),
  ORTHANC_DICOM_PORT: env.port(14242),
  ORTHANC_AET: z
    .string()
    .regex(/^[A-Z0-9_ -]{1,16}$/, "1-16 upper-case letters, digits, space, _ or -")
    .default("GKMVLP"),
  /** seconds to wait for each server to become ready */
  STACK_START_TIMEOUT_S: env.int(180, 5),
});

export interface StackConfig {
  externalDatabaseUrl?: string;
  externalBrokers?: string[];
  dir: string;
  database: string;
  pgPort: number;
  kafkaPort: number;
  kafkaControllerPort: number;
  kafkaClusterSize: number;
  kafkaHeapMb: number;
  kafkaLibsDir: string;
  topicPrefix: string;
  topicPartitions: number;
  startTimeoutMs: number;
  repoRoot: string;
  /** an existing PACS given by ORTHANC_URL (then no local Orthanc is started) */
  externalPacs?: { url: string; username?: string; password?: string };
  orthanc: { httpPort: number; dicomPort: number; aeTitle: string };
}

const fromRoot = (path: string) => (isAbsolute(path) ? path : resolve(REPO_ROOT, path));

export function loadStackConfig(source: Env): StackConfig {
  const c = loadConfig("stack", stackEnvSchema, source);
  return {
    externalDatabaseUrl: c.DATABASE_URL,
    externalBrokers: c.KAFKA_BROKERS,
    dir: fromRoot(c.STACK_DIR),
    database: c.PG_DATABASE,
    pgPort: c.PG_PORT,
    kafkaPort: c.KAFKA_PORT,
    kafkaControllerPort: c.KAFKA_CONTROLLER_PORT,
    kafkaClusterSize: c.KAFKA_CLUSTER_SIZE,
    kafkaHeapMb: c.KAFKA_HEAP_MB ?? (c.KAFKA_CLUSTER_SIZE > 1 ? 256 : 512),
    kafkaLibsDir: fromRoot(c.KAFKA_LIBS_DIR),
    topicPrefix: c.KAFKA_TOPIC_PREFIX,
    topicPartitions: c.KAFKA_TOPIC_PARTITIONS,
    startTimeoutMs: c.STACK_START_TIMEOUT_S * 1000,
    repoRoot: REPO_ROOT,
    ...(c.ORTHANC_URL
      ? {
          externalPacs: {
            url: c.ORTHANC_URL.replace(/\/$/, ""),
            ...(c.ORTHANC_USERNAME ? { username: c.ORTHANC_USERNAME } : {}),
            ...(c.ORTHANC_PASSWORD ? { password: c.ORTHANC_PASSWORD } : {}),
          },
        }
      : {}),
    orthanc: { httpPort: c.ORTHANC_HTTP_PORT, dicomPort: c.ORTHANC_DICOM_PORT, aeTitle: c.ORTHANC_AET },
  };
}

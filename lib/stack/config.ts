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
  KAFKA_HEAP_MB: env.int(512, 128),
  KAFKA_LIBS_DIR: z.string().default(".local/kafka/libs"),
  KAFKA_TOPIC_PREFIX: z
    .string()
    .regex(/^[A-Za-z0-9._-]*$/, "letters, digits, . _ -")
    .default(""),
  KAFKA_TOPIC_PARTITIONS: env.int(3, 1),
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
  kafkaHeapMb: number;
  kafkaLibsDir: string;
  topicPrefix: string;
  topicPartitions: number;
  startTimeoutMs: number;
  repoRoot: string;
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
    kafkaHeapMb: c.KAFKA_HEAP_MB,
    kafkaLibsDir: fromRoot(c.KAFKA_LIBS_DIR),
    topicPrefix: c.KAFKA_TOPIC_PREFIX,
    topicPartitions: c.KAFKA_TOPIC_PARTITIONS,
    startTimeoutMs: c.STACK_START_TIMEOUT_S * 1000,
    repoRoot: REPO_ROOT,
  };
}

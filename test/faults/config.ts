// The fault suite's configuration: command-line options and the environment, validated in one place
// (the only module of the suite that reads them; main.ts passes process.argv and process.env).
import path from "node:path";
import { env, loadConfig, z, type Env } from "../../lib/config/index.ts";
import { REPO_ROOT } from "../../lib/db/migrate.ts";

const schema = z.object({
  /** 1 or 3 Kafka nodes (--cluster) */
  FAULTS_CLUSTER: z.enum(["1", "3"], { message: "1 or 3" }).default("1").transform(Number),
  /** analyses to request, 4 per study (--analyses); rounded up to whole studies */
  FAULTS_ANALYSES: env.int(500, 4),
  /** where the suite's own PostgreSQL, Kafka, images and logs live (wiped at start) */
  FAULTS_DIR: z.string().default(".local/faults"),
  /** first of the suite's ports (PostgreSQL; Kafka nodes from +10) */
  FAULTS_BASE_PORT: env.port(55400),
  /** how long every analysis may take to become terminal after the last fault */
  FAULTS_SETTLE_TIMEOUT_S: env.int(600, 10),
  /** how long one fault may take to recover from */
  FAULTS_RECOVERY_TIMEOUT_S: env.int(180, 10),
  /** studies registered and requested at once */
  FAULTS_REQUEST_CONCURRENCY: env.int(4, 1),
});

export interface FaultsConfig {
  clusterSize: number;
  studies: number;
  dir: string;
  basePort: number;
  settleTimeoutMs: number;
  recoveryTimeoutMs: number;
  requestConcurrency: number;
}

/** --cluster N and --analyses N override FAULTS_CLUSTER and FAULTS_ANALYSES. */
export function loadFaultsConfig(argv: string[], source: Env): FaultsConfig {
  const merged: Env = { ...source };
  for (let i = 0; i < argv.length; i++) {
    const flag = argv[i];
    const value = argv[i + 1];
    if (flag === "--cluster" && value !== undefined) {
      merged.FAULTS_CLUSTER = value;
      i++;
    } else if (flag === "--analyses" && value !== undefined) {
      merged.FAULTS_ANALYSES = value;
      i++;
    } else merged[`FAULTS_UNKNOWN_OPTION_${i}`] = flag;
  }
  const unknown = Object.keys(merged).filter((k) => k.startsWith("FAULTS_UNKNOWN_OPTION_"));
  if (unknown.length) throw new Error(`unknown option(s): ${unknown.map((k) => merged[k]).join(" ")} (use --cluster 1|3, --analyses N)`);
  const c = loadConfig("faults", schema, merged);
  return {
    clusterSize: c.FAULTS_CLUSTER,
    studies: Math.ceil(c.FAULTS_ANALYSES / 4),
    dir: path.resolve(REPO_ROOT, c.FAULTS_DIR),
    basePort: c.FAULTS_BASE_PORT,
    settleTimeoutMs: c.FAULTS_SETTLE_TIMEOUT_S * 1000,
    recoveryTimeoutMs: c.FAULTS_RECOVERY_TIMEOUT_S * 1000,
    requestConcurrency: c.FAULTS_REQUEST_CONCURRENCY,
  };
}

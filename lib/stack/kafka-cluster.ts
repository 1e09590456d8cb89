// A local KRaft cluster of N combined controller+broker nodes (production-like replication: 3 nodes give topics
// 3 replicas with min.insync.replicas 2, so one broker can be lost without losing an acknowledged write). Each
// node is an ordinary lib/stack/kafka.ts broker in its own folder (<dataDir>/node-<id>) on its own two ports;
// all nodes are formatted with one cluster id and share a static quorum of every node as voter.
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { newClusterId, startKafka, stopKafka, kafkaStatus, type KafkaBrokerHandle, type KafkaBrokerOptions } from "./kafka.ts";

export interface KafkaClusterOptions
  extends Omit<KafkaBrokerOptions, "port" | "controllerPort" | "nodeId" | "quorumVoters" | "replicationFactor" | "clusterId"> {
  /** one entry per node: its client port and its controller port */
  nodes: { port: number; controllerPort: number }[];
}

export interface KafkaNode {
  id: number;
  dataDir: string;
  /** what starts this node again (after stopNode, or after it was killed) */
  options: KafkaBrokerOptions;
}

export interface KafkaClusterHandle extends KafkaBrokerHandle {
  nodes: KafkaNode[];
  /** stop one node (controlled shutdown); the others keep serving */
  stopNode(id: number): Promise<void>;
  /** start a stopped node again with its data (it rejoins and catches up) */
  startNode(id: number): Promise<KafkaBrokerHandle>;
}

export function clusterNodeDir(dataDir: string, id: number): string {
  return join(dataDir, `node-${id}`);
}

/** The cluster id already on disk (a node formatted by an earlier start), so new nodes join the same cluster. */
function existingClusterId(dirs: string[]): string | undefined {
  for (const dir of dirs) {
    const meta = join(dir, "data", "meta.properties");
    if (!existsSync(meta)) continue;
    const match = /^cluster\.id=(.+)$/m.exec(readFileSync(meta, "utf8"));
    if (match) return match[1]!.trim();
  }
  return undefined;
}

export function clusterNodes(options: KafkaClusterOptions): KafkaNode[] {
  const voters = options.nodes.map((n, i) => `${i + 1}@127.0.0.1:${n.controllerPort}`).join(",");
  const dirs = options.nodes.map((_, i) => clusterNodeDir(options.dataDir, i + 1));
  const clusterId = existingClusterId(dirs) ?? newClusterId();
  return options.nodes.map((n, i) => ({
    id: i + 1,
    dataDir: dirs[i]!,
    options: {
      ...options,
      dataDir: dirs[i]!,
      port: n.port,
      controllerPort: n.controllerPort,
      nodeId: i + 1,
      quorumVoters: voters,
      replicationFactor: Math.min(3, options.nodes.length),
      clusterId,
    },
  }));
}

export async function startKafkaCluster(options: KafkaClusterOptions): Promise<KafkaClusterHandle> {
  const started = Date.now();
  const nodes = clusterNodes(options);
  // all at once: a node's client port opens only after the quorum (a majority of nodes) has elected a leader
  const results = await Promise.allSettled(nodes.map((node) => startKafka(node.options)));
  const failed = results.find((r): r is PromiseRejectedResult => r.status === "rejected");
  if (failed) {
    await stopKafkaCluster(options.dataDir);
    throw failed.reason;
  }
  const handles = results.map((r) => (r as PromiseFulfilledResult<KafkaBrokerHandle>).value);
  const byId = (id: number) => {
    const node = nodes.find((n) => n.id === id);
    if (!node) throw new Error(`no Kafka node ${id} (cluster of ${nodes.length})`);
    return node;
  };
  return {
    brokers: handles.flatMap((h) => h.brokers),
    pid: handles[0]!.pid,
    reused: handles.every((h) => h.reused),
    startupMs: Date.now() - started,
    nodes,
    stop: async () => {
      await stopKafkaCluster(options.dataDir);
    },
    stopNode: async (id) => {
      await stopKafka(byId(id).dataDir);
    },
    startNode: (id) => startKafka(byId(id).options),
  };
}

/** Stop every node found under dataDir (node-1, node-2, …); true when any was running. */
export async function stopKafkaCluster(dataDir: string, graceMs?: number): Promise<boolean> {
  const stopped = await Promise.all(nodeDirs(dataDir).map((dir) => stopKafka(dir, graceMs)));
  return stopped.some(Boolean);
}

export function kafkaClusterStatus(dataDir: string): { running: boolean; pids: number[] } {
  const pids = nodeDirs(dataDir).flatMap((dir) => kafkaStatus(dir).pids);
  return { running: pids.length > 0, pids };
}

function nodeDirs(dataDir: string): string[] {
  const dirs: string[] = [];
  for (let id = 1; existsSync(clusterNodeDir(dataDir, id)); id++) dirs.push(clusterNodeDir(dataDir, id));
  return dirs;
}

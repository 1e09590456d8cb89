// The faults, in order, each injected once the platform has finished a given share of the analyses, and its
// recovery time: seconds from the fault to the platform processing again (an analysis reaching a terminal state
// after the component is back; for the gateway, the reconnected subscriber receiving an update again). After
// each fault a probe study is requested, so there is always work whose completion shows the recovery.
import { setTimeout as sleep } from "node:timers/promises";
import { terminalCount } from "./checks.ts";
import type { FaultPlatform } from "./platform.ts";
import type { Subscriber } from "./subscriber.ts";

interface Fault {
  name: string;
  /** share of all analyses terminal before it is injected */
  at: number;
  /** injects the fault and brings the component back (or not, for a broker lost for good) */
  inject(): Promise<void>;
  /** "work": an analysis finished after inject() returned; "subscriber": an update reached the subscriber */
  recovered: "work" | "subscriber";
}

export function faultPlan(platform: FaultPlatform, clusterSize: number, log?: (line: string) => void): Fault[] {
  const killWorker = async () => {
    await platform.killWorker();
    await platform.startWorker();
  };
  // In three-node mode the broker hit is the one coordinating the worker's consumer group: the harder case (a
  // kafkajs consumer kept committing to the old coordinator and stalled for minutes; lib/kafka's stall watchdog)
  const target = async (single: number) => (clusterSize > 1 ? platform.workerGroupCoordinator() : single);
  const restartBroker = async () => {
    const id = await target(1);
    log?.(`restarting Kafka node ${id}${clusterSize > 1 ? " (the worker group's coordinator)" : ""}`);
    await platform.stopBroker(id);
    await platform.startBroker(id);
  };
  const plan: Fault[] = [
    { name: "worker_sigkill_1", at: 0.08, inject: killWorker, recovered: "work" },
    {
      name: clusterSize > 1 ? "kafka_broker_restart" : "kafka_restart",
      at: 0.2,
      inject: restartBroker,
      recovered: "work",
    },
    { name: "worker_sigkill_2", at: 0.32, inject: killWorker, recovered: "work" },
    {
      name: "postgres_restart",
      at: 0.45,
      inject: async () => {
        await platform.stopPostgres();
        await platform.startPostgres();
      },
      recovered: "work",
    },
    {
      // immediate shutdown: connections cut without notice, crash recovery at the start
      name: "postgres_crash",
      at: 0.51,
      inject: async () => {
        await platform.crashPostgres();
        await platform.startPostgres();
      },
      recovered: "work",
    },
    {
      name: "gateway_restart",
      at: 0.58,
      inject: async () => {
        await platform.stopGateway();
        await platform.startGateway();
      },
      recovered: "subscriber",
    },
    {
      // no graceful close: the subscriber's socket just dies
      name: "gateway_sigkill",
      at: 0.64,
      inject: async () => {
        await platform.killGateway();
        await platform.startGateway();
      },
      recovered: "subscriber",
    },
    { name: "worker_sigkill_3", at: 0.7, inject: killWorker, recovered: "work" },
  ];
  if (clusterSize > 1)
    plan.push({
      name: "kafka_broker_lost",
      at: 0.8,
      inject: async () => {
        const id = await target(3);
        log?.(`stopping Kafka node ${id} for good (the worker group's coordinator)`);
        await platform.stopBroker(id);
      },
      recovered: "work",
    });
  return plan;
}

async function waitUntil<T>(check: () => Promise<T | undefined>, timeoutMs: number): Promise<T | undefined> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    const value = await check();
    if (value !== undefined) return value;
    await sleep(200);
  }
  return undefined;
}

/** Runs the plan; returns the recovery seconds per fault (null: no recovery seen within the timeout). */
export async function runFaults(options: {
  plan: Fault[];
  platform: FaultPlatform;
  subscriber: Subscriber;
  total: number;
  /** requests one more study through GraphQL (retrying until the platform takes it): work to recover on */
  probe: (name: string) => Promise<void>;
  recoveryTimeoutMs: number;
  log: (line: string) => void;
}): Promise<Record<string, number | null>> {
  const { platform, subscriber, total, log } = options;
  const databaseUrl = platform.stack.databaseUrl;
  const recovery: Record<string, number | null> = {};
  for (const fault of options.plan) {
    const reached = await waitUntil(async () => {
      const n = await terminalCount(databaseUrl);
      return n !== undefined && n >= fault.at * total ? n : undefined;
    }, options.recoveryTimeoutMs * 3);
    if (reached === undefined) {
      log(`${fault.name}: the platform never reached ${Math.round(fault.at * 100)}% terminal; fault skipped`);
      recovery[fault.name] = null;
      continue;
    }
    const t0 = Date.now();
    log(`${fault.name}: injecting at ${reached}/${total} terminal`);
    await fault.inject();
    const back = Date.now();
    // without a backlog nothing would show that the platform processes again: a probe study gives it work
    const probe = options.probe(fault.name).catch((error: Error) => log(`${fault.name}: probe request failed: ${error.message}`));
    const baseline = await waitUntil(() => terminalCount(databaseUrl), options.recoveryTimeoutMs);
    const seen =
      fault.recovered === "subscriber"
        ? await waitUntil(async () => (subscriber.lastEventAt() > back ? subscriber.lastEventAt() : undefined), options.recoveryTimeoutMs)
        : await waitUntil(async () => {
            const n = await terminalCount(databaseUrl);
            return n !== undefined && baseline !== undefined && n > baseline ? Date.now() : undefined;
          }, options.recoveryTimeoutMs);
    await probe;
    recovery[fault.name] = seen === undefined ? null : Math.round((seen - t0) / 100) / 10;
    log(
      `${fault.name}: component back after ${((back - t0) / 1000).toFixed(1)} s, processing again after ${recovery[fault.name] ?? "never"} s`,
    );
  }
  return recovery;
}

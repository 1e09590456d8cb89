// npm run test:faults [-- --cluster 3] [-- --analyses N]: starts its own platform, requests N analyses through
// GraphQL while it kills and restarts the worker, Kafka, PostgreSQL and the gateway (a subscriber connected
// throughout), then checks in PostgreSQL and through GraphQL that every analysis ended once, with its result,
// and that the subscriber heard of every end. Last line: one JSON object; exit 1 when anything was lost,
// duplicated, stuck or missed.
import { setTimeout as sleep } from "node:timers/promises";
import { loadFaultsConfig } from "./config.ts";
import { verdict, terminalCount } from "./checks.ts";
import { faultPlan, runFaults } from "./faults.ts";
import { requestStudies } from "./load.ts";
import { startFaultPlatform } from "./platform.ts";
import { startSubscriber } from "./subscriber.ts";

const log = (line: string) => process.stderr.write(`[faults ${new Date().toISOString().slice(11, 19)}] ${line}\n`);

async function main(): Promise<number> {
  const started = Date.now();
  const config = loadFaultsConfig(process.argv.slice(2), process.env);
  const total = config.studies * 4;
  log(`starting the platform (${config.clusterSize} Kafka node${config.clusterSize > 1 ? "s" : ""}), ${total} analyses planned`);
  const baseEnv = Object.fromEntries(Object.entries(process.env).filter((e): e is [string, string] => e[1] !== undefined));
  const platform = await startFaultPlatform(config, baseEnv, log);
  try {
    const subscriber = startSubscriber(platform.gatewayUrl, platform.apiKey, log);
    await sleep(1000); // the subscription is registered before the first request
    const requested = new Map<string, string[]>();
    let loadError: Error | undefined;
    const runKey = `f${Date.now().toString(36)}`;
    const request = (key: string, studies: number, concurrency: number) =>
      requestStudies({
        gatewayUrl: platform.gatewayUrl,
        apiKey: platform.apiKey,
        studies,
        concurrency,
        runKey: key,
        onRequested: (s) => requested.set(s.studyId, s.analysisIds),
      });
    const probe = (fault: string) => request(`${runKey}-${fault}`, 1, 1);
    const load = request(runKey, config.studies, config.requestConcurrency).catch((error: Error) => {
      loadError = error;
    });
    const recovery = await runFaults({
      plan: faultPlan(platform, config.clusterSize, log),
      platform,
      subscriber,
      total,
      probe,
      recoveryTimeoutMs: config.recoveryTimeoutMs,
      log,
    });
    await load;
    if (loadError) log(`requesting stopped early: ${loadError.message}`);
    const requestedIds = [...requested.values()].flat();
    log(`${requestedIds.length} analyses requested; waiting for all of them to end`);
    const deadline = Date.now() + config.settleTimeoutMs;
    while (Date.now() < deadline && ((await terminalCount(platform.stack.databaseUrl)) ?? 0) < requestedIds.length) await sleep(500);
    // the last updates are on their way to the subscriber
    const heard = () => requestedIds.every((id) => subscriber.terminal.has(id));
    for (const until = Date.now() + 15_000; Date.now() < until && !heard(); ) await sleep(250);
    const result = await verdict({
      databaseUrl: platform.stack.databaseUrl,
      gatewayUrl: platform.gatewayUrl,
      apiKey: platform.apiKey,
      requested,
      received: subscriber.terminal,
    });
    const mode = subscriber.mode();
    await subscriber.stop();
    if (Object.keys(result.examples).length) log(`examples: ${JSON.stringify(result.examples)}`);
    const { examples: _examples, ...figures } = result;
    const summary = {
      ...figures,
      requested_target: total,
      cluster: config.clusterSize,
      subscription: mode,
      subscriber_connections: subscriber.connections(),
      recovery_s: recovery,
      duration_s: Math.round((Date.now() - started) / 1000),
    };
    const bad =
      result.lost + result.duplicated + result.stuck + result.missed_events > 0 || loadError !== undefined || result.analyses < total;
    await platform.stop();
    process.stdout.write(`${JSON.stringify(summary)}\n`);
    return bad ? 1 : 0;
  } catch (error) {
    await platform.stop();
    throw error;
  }
}

main().then(
  (code) => process.exit(code),
  (error) => {
    log(`failed: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}`);
    process.exit(2);
  },
);

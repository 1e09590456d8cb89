// Entry point: `node --import tsx services/gateway/src/main.ts` with DATABASE_URL, KAFKA_BROKERS and
// AUTH_TOKEN_SECRET set (the stack scripts set them for the embedded PostgreSQL and Kafka). Migrations are
// applied by the stack script; this process only serves. Ctrl-C / SIGTERM shut down in order.
import { createDb } from "../../../lib/db/client.ts";
import { createKafka } from "../../../lib/kafka/index.ts";
import { createConfiguredImageStore } from "../../../lib/images/pacs-store.ts";
import { ConfigError } from "../../../lib/errors/index.ts";
import { loadGatewayConfig } from "./config.ts";
import { loadGraphql } from "./graphql/mode.ts";
import { createLogger } from "./logger.ts";

async function main(): Promise<void> {
  const config = loadGatewayConfig(process.env);
  // graphql's mode is fixed by its first import: before gateway.ts (Apollo, our resolvers) is loaded
  loadGraphql(config.graphql.developmentChecks, process.env);
  const { createGateway } = await import("./gateway.ts");
  const logger = createLogger("gateway", config.logLevel);
  // connection errors (PostgreSQL restarting) are logged and survived; /readyz says 503 until a query works again
  const db = createDb(config.databaseUrl, { name: "gateway", onError: (event) => logger.warn("database connection error", { ...event }) });
  const kafka = createKafka({
    brokers: config.kafka.brokers,
    clientId: `${config.kafka.clientId}-${config.instanceId}`,
    log: (level, message, extra) => logger[level === "nothing" ? "debug" : level](`kafka: ${message}`, extra),
  });
  await kafka.waitUntilReady(60_000);
  const admin = await kafka.admin();
  try {
    await admin.ensureTopics([config.topics.requested, config.topics.completed, config.topics.deadLetter]);
  } finally {
    await admin.disconnect();
  }
  const gateway = createGateway({
    config,
    db,
    kafka,
    imageStore: createConfiguredImageStore({
      kind: config.imageStore,
      storageDir: config.storageDir,
      pacs: config.deliveries.pacs,
      orthanc: config.deliveries.sourcePacs,
      limits: {
        maxBytes: config.upload.maxBytes,
        maxWidth: config.upload.maxWidth,
        maxHeight: config.upload.maxHeight,
        maxPixels: config.upload.maxPixels,
      },
    }),
    logger,
  });

  let stopping = false;
  const shutdown = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    logger.info("shutting down", { signal });
    const force = setTimeout(() => {
      logger.error("shutdown took too long, exiting");
      process.exit(1);
    }, config.shutdownGraceMs + 15_000);
    force.unref();
    await gateway.stop();
    await db.close();
    process.exit(0);
  };
  process.on("SIGINT", () => void shutdown("SIGINT"));
  process.on("SIGTERM", () => void shutdown("SIGTERM"));

  await gateway.start();
  // One line on stdout that scripts can wait for.
  process.stdout.write(
    `${JSON.stringify({ gateway: gateway.url, graphql: `${gateway.url}/graphql`, console: `${gateway.url}/console/` })}\n`,
  );
}

main().catch((error: unknown) => {
  if (error instanceof ConfigError) console.error(error.message);
  else console.error("gateway failed to start:", error);
  process.exit(1);
});

// The worker logs through the shared structured logger.
export * from "../../../lib/logger/index.ts";

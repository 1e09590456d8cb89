// Shapes shared by the worker loop's modules. The Kafka message is described here (not imported from kafkajs)
// so that everything but worker.ts stays independent of the broker client behind lib/kafka.
import type { AppError } from "../../../../lib/errors/index.ts";
import type { Logger } from "../logger.ts";

export interface ConsumedMessage {
  topic: string;
  partition: number;
  offset: string;
  key: string | null;
  value: Buffer | null;
  headers?: Record<string, string>;
}

export type Outcome =
  /** result stored and analysis SUCCEEDED */
  | "succeeded"
  /** nothing to do: already processed, terminal, or cancelled meanwhile */
  | "skipped"
  /** analysis FAILED + dead letter */
  | "failed"
  /** dead letter only: malformed event or no such analysis */
  | "dead-lettered";

export interface DeadLetterSink {
  /** Publish the consumed message with its error to the dead-letter topic (awaits the broker's ack). */
  publish(message: ConsumedMessage, error: AppError, attempts: number): Promise<void>;
}

export type { Logger };

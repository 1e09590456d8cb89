// What an attack module provides, and what it gets to work with.
import type { AdversarialConfig } from "../config.ts";
import type { Answer, HeaderMap } from "../http.ts";
import type { Observation } from "../classify.ts";
import type { World } from "../world.ts";

export type Family = "auth" | "tenancy" | "graphql" | "uploads" | "flood";

export interface AttackContext {
  cfg: AdversarialConfig;
  baseUrl: string;
  world: World;
  tokenSecret: string;
  gql(query: string, variables?: Record<string, unknown>, headers?: HeaderMap): Promise<Answer>;
  /** POST /upload with raw bytes */
  upload(bytes: Uint8Array, contentType: string, headers: HeaderMap): Promise<Answer>;
  /** the attack's time window in ms (repeated attacks loop for it) */
  windowMs: number;
}

export interface Attack {
  name: string;
  family: Family;
  /** the runner calls run() again and again from this many concurrent loops for the whole window */
  repeat?: number;
  /** left out in trimmed mode (CI) */
  fullOnly?: boolean;
  /** builds what the attack sends (hostile files) before the bystander starts: it shares this process */
  prepare?(): void;
  run(ctx: AttackContext): Promise<Observation[]>;
}

/** an observation from an answer and the predicate it should meet */
export const seen = (what: string, answer: Answer, refused: boolean): Observation => ({ what, answer, refused });

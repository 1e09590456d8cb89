// The per-operation context every resolver receives.
import type { Principal } from "../auth/principal.ts";
import type { QueryCounter } from "../../../../lib/db/query-counter.ts";
import type { Logger } from "../logger.ts";
import type { GatewayConfig } from "../config.ts";
import type { Loaders } from "./loaders.ts";
import type { GatewayServices } from "./services.ts";

export interface GatewayContext {
  /** null only for unauthenticated operations (which may only call `login`). */
  principal: Principal | null;
  /** Loaders are scoped to the principal's tenant; null when unauthenticated. */
  loaders: Loaders | null;
  config: GatewayConfig;
  logger: Logger;
  services: GatewayServices;
  requestId: string;
  queries: QueryCounter;
  /** the caller's address (the socket's, or X-Forwarded-For's last hop when GATEWAY_TRUST_PROXY=true) */
  clientAddress: string | null;
  /** absolute base of the /fhir/r4 endpoint (FHIR_BASE_URL, or this replica's own address): FHIR fullUrls start with it */
  fhirBaseUrl: string;
}

/** The principal of an operation that the policy already admitted (root fields are checked first). */
export function caller(ctx: GatewayContext): Principal & {} {
  if (!ctx.principal) throw new Error("resolver reached without a principal (policy wrapper missing)");
  return ctx.principal;
}

export function loadersOf(ctx: GatewayContext): Loaders {
  if (!ctx.loaders) throw new Error("resolver reached without loaders (policy wrapper missing)");
  return ctx.loaders;
}

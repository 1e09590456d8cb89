// Deliveries at the API: the tenant's delivery settings (ADMIN) and sendToPacs (RADIOLOGIST, ADMIN). Roles are
// checked by the policy table; the tenant by every repository call. Endpoints a tenant may set are validated
// here before anything is stored; the PACS itself comes from the gateway's config and is never taken from input.
import { isIP } from "node:net";
import { AppError, NotFoundError, ValidationError } from "../../../../../lib/errors/index.ts";
import type { DeliverySettingsValues } from "../../../../../lib/db/index.ts";
import { createEgressPolicy, endpointOfUrl, type EgressPolicy } from "../../../../../lib/deliveries/egress.ts";
import type { DeliverySettingsInput, MutationResolvers, QueryResolvers } from "../../generated/resolvers.ts";
import { caller, type GatewayContext } from "../context.ts";
import { withUserErrors } from "../errors.ts";

const MAX_HD = 64;
const HOSTNAME = /^(?=.{1,253}$)[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*$/;

/** "" and null clear a field; anything else is trimmed and length-checked. */
function optional(value: string | null | undefined, field: string, max: number): string | null {
  const trimmed = value?.trim() ?? "";
  if (trimmed.length > max) throw new ValidationError(`${field} is longer than ${max} characters.`, { field });
  return trimmed || null;
}

export function validateDeliverySettings(input: DeliverySettingsInput): DeliverySettingsValues {
  const hl7Host = optional(input.hl7Host, "input.hl7Host", 253);
  const hl7Port = input.hl7Port ?? null;
  if (hl7Host && !HOSTNAME.test(hl7Host) && isIP(hl7Host) === 0) {
    throw new ValidationError("hl7Host must be a host name or an IP address.", { field: "input.hl7Host" });
  }
  if (hl7Port !== null && (!Number.isInteger(hl7Port) || hl7Port < 1 || hl7Port > 65535)) {
    throw new ValidationError("hl7Port must be between 1 and 65535.", { field: "input.hl7Port" });
  }
  if ((hl7Host === null) !== (hl7Port === null)) {
    throw new ValidationError("hl7Host and hl7Port go together: set both, or clear both.", {
      field: hl7Host ? "input.hl7Port" : "input.hl7Host",
    });
  }
  const fhirBaseUrl = optional(input.fhirBaseUrl, "input.fhirBaseUrl", 2000);
  if (fhirBaseUrl) {
    let url: URL;
    try {
      url = new URL(fhirBaseUrl);
    } catch {
      throw new ValidationError("fhirBaseUrl is not a URL.", { field: "input.fhirBaseUrl" });
    }
    if (url.protocol !== "http:" && url.protocol !== "https:") {
      throw new ValidationError("fhirBaseUrl must be an http:// or https:// URL.", { field: "input.fhirBaseUrl" });
    }
    // the URL is shown back in Study.deliveries: credentials must not travel inside it
    if (url.username || url.password || url.hash) {
      throw new ValidationError("fhirBaseUrl must not carry credentials or a fragment.", { field: "input.fhirBaseUrl" });
    }
  }
  return {
    srMode: input.srMode,
    hl7Host,
    hl7Port,
    hl7ReceivingApplication: optional(input.hl7ReceivingApplication, "input.hl7ReceivingApplication", MAX_HD),
    hl7ReceivingFacility: optional(input.hl7ReceivingFacility, "input.hl7ReceivingFacility", MAX_HD),
    fhirBaseUrl: fhirBaseUrl ? fhirBaseUrl.replace(/\/+$/, "") : null,
  };
}

/** Endpoints outside the operator's allow-list are refused before anything is stored. */
async function checkEgress(policy: EgressPolicy, values: DeliverySettingsValues): Promise<void> {
  const endpoints: { field: string; host: string; port: number }[] = [];
  if (values.hl7Host && values.hl7Port) endpoints.push({ field: "input.hl7Host", host: values.hl7Host, port: values.hl7Port });
  if (values.fhirBaseUrl) endpoints.push({ field: "input.fhirBaseUrl", ...endpointOfUrl(values.fhirBaseUrl) });
  for (const e of endpoints) {
    const decision = await policy.check(e.host, e.port);
    if (!decision.allowed) throw new AppError("EGRESS_NOT_ALLOWED", `${decision.reason}.`, 422, false, { field: e.field });
  }
}

export const deliveryQueries: Pick<QueryResolvers<GatewayContext>, "deliverySettings"> = {
  deliverySettings: (_p, _a, ctx) => ctx.services.repos.deliveries.settings(caller(ctx).tenantId),
};

export const deliveryMutations: Pick<MutationResolvers<GatewayContext>, "updateDeliverySettings" | "sendToPacs"> = {
  updateDeliverySettings: (_p, { input }, ctx) =>
    withUserErrors({ settings: null }, async () => {
      const who = caller(ctx);
      const values = validateDeliverySettings(input);
      await checkEgress(createEgressPolicy(ctx.config.deliveries.egress), values);
      await ctx.services.repos.deliveries.saveSettings(who.tenantId, values, who.actor);
      return { settings: values, errors: [] };
    }),

  sendToPacs: (_p, { studyId }, ctx) =>
    withUserErrors({ delivery: null }, async () => {
      const who = caller(ctx);
      const state = await ctx.services.repos.deliverySources.status(who.tenantId, studyId);
      if (state === "NOT_FOUND") throw new NotFoundError("Study", studyId, { field: "studyId" });
      if (state === "NOT_ANALYSED") {
        throw new AppError("NOT_ANALYSED", "The study has no successful classification yet: nothing to send.", 409, false, {
          field: "studyId",
        });
      }
      if (!ctx.config.deliveries.pacs) {
        throw new AppError("NOT_CONFIGURED", "No PACS is configured for this platform.", 409, false, { field: "studyId" });
      }
      const delivery = await ctx.services.repos.deliveries.enqueueManualSr({
        tenantId: who.tenantId,
        studyId,
        actor: who.actor,
        requestId: ctx.requestId,
      });
      ctx.services.wakeDeliveries();
      return { delivery, errors: [] };
    }),
};

// One function per kind: build what goes out from the study's results and send it once. Errors are AppErrors whose
// `retriable` flag the dispatcher follows: transport trouble (timeouts, refused connections, 5xx, no ACK) is
// retried; an answer that says "no" (4xx, HL7 AE/AR, a PACS that refuses the instance) fails the delivery for good.
import { AppError } from "../errors/index.ts";
import type { Delivery, DeliverySource } from "../db/index.ts";
import { buildGroundedSr } from "../interop/dicom-sr/index.ts";
import { createDicomWebClient, DicomWebError } from "../interop/dicomweb/client.ts";
import { exchangeMllp, readAck } from "../interop/hl7/mllp.ts";
import { buildOruR01 } from "../interop/hl7/oru.ts";
import { buildFhirBundle } from "../interop/fhir/bundle.ts";
import { fhirInputOf, oruOf, srInputOf, type SourceIdentity } from "./content.ts";
import { endpointOfUrl, type EgressPolicy } from "./egress.ts";

export class DeliveryError extends AppError {
  constructor(code: string, message: string, retriable: boolean, cause?: unknown) {
    super(code, message, retriable ? 503 : 502, retriable, { cause });
  }
}

export interface PacsConfig {
  /** DICOMweb base URL, e.g. http://127.0.0.1:8042/dicom-web */
  dicomWebUrl: string;
  credentials: { username: string; password: string } | null;
}

export interface SenderConfig {
  pacs: PacsConfig | null;
  hl7: { sendingApplication: string; sendingFacility: string };
  timeoutMs: number;
  /** where tenant-set endpoints may point; checked again at each send (a name may resolve elsewhere by now) */
  egress: EgressPolicy;
  /**
   * DICOM in: reads an ingested instance's original UIDs back from the PACS it came from, so that its SR joins the
   * original study (absent: the SR uses the platform's UIDs)
   */
  sourceIdentity?: ((orthancInstanceId: string) => Promise<SourceIdentity | null>) | null;
}

export interface SendOutcome {
  sentId: string;
  sentSeriesUid?: string | null;
  supersedesId?: string | null;
}

export interface SendContext {
  delivery: Delivery;
  source: DeliverySource;
  /** the latest earlier SENT delivery of the same kind (an SR names it as predecessor) */
  predecessor: Delivery | null;
  settings: { hl7ReceivingApplication: string | null; hl7ReceivingFacility: string | null };
  config: SenderConfig;
  signal: AbortSignal;
  now: Date;
}

async function checkEgress(ctx: SendContext, host: string, port: number): Promise<void> {
  const decision = await ctx.config.egress.check(host, port);
  if (!decision.allowed) throw new DeliveryError("EGRESS_NOT_ALLOWED", decision.reason ?? "endpoint not allowed", false);
}

/** fetch failures that say nothing about the content: the server may accept it next time */
function transport(error: unknown, what: string): never {
  if (error instanceof AppError) throw error;
  throw new DeliveryError("UNAVAILABLE", `${what}: ${error instanceof Error ? error.message : String(error)}`, true, error);
}

/** A study that came from the PACS: its source instance's own identity, read back from that PACS now. */
async function originalIdentity(ctx: SendContext): Promise<SourceIdentity | null> {
  const id = ctx.source.pacsInstanceId;
  if (!id || !ctx.config.sourceIdentity) return null;
  let identity: SourceIdentity | null;
  try {
    identity = await ctx.config.sourceIdentity(id);
  } catch (error) {
    throw new DeliveryError("UNAVAILABLE", `source PACS unreachable: ${(error as Error).message}`, true, error);
  }
  if (!identity) {
    throw new DeliveryError(
      "SOURCE_INSTANCE_GONE",
      "The instance this study was received as is no longer in the PACS (or has no UIDs): the SR could not join its study.",
      false,
    );
  }
  return identity;
}

export async function sendSr(ctx: SendContext): Promise<SendOutcome> {
  if (!ctx.config.pacs) throw new DeliveryError("PACS_NOT_CONFIGURED", "No PACS is configured (ORTHANC_URL or PACS_DICOMWEB_URL).", false);
  const prior =
    ctx.predecessor?.sentId && ctx.predecessor.sentSeriesUid
      ? { sopInstanceUid: ctx.predecessor.sentId, seriesInstanceUid: ctx.predecessor.sentSeriesUid }
      : null;
  const built = buildGroundedSr(srInputOf(ctx.source, ctx.delivery, prior, ctx.now, await originalIdentity(ctx)));
  const client = createDicomWebClient({
    baseUrl: ctx.config.pacs.dicomWebUrl,
    credentials: ctx.config.pacs.credentials,
    timeoutMs: ctx.config.timeoutMs,
  });
  try {
    await client.store([built.bytes]);
  } catch (error) {
    if (error instanceof DicomWebError) {
      const retriable = error.status >= 500 || error.status === 408 || error.status === 429;
      throw new DeliveryError(retriable ? "UNAVAILABLE" : "PACS_REFUSED", error.message, retriable, error);
    }
    transport(error, "PACS unreachable");
  }
  return {
    sentId: built.sopInstanceUid,
    sentSeriesUid: built.seriesInstanceUid,
    supersedesId: prior ? (ctx.predecessor?.id ?? null) : null,
  };
}

export async function sendHl7(ctx: SendContext): Promise<SendOutcome> {
  const target = /^mllp:\/\/(.+):(\d+)$/.exec(ctx.delivery.target);
  if (!target) throw new DeliveryError("HL7_NOT_CONFIGURED", "The delivery has no MLLP target.", false);
  await checkEgress(ctx, target[1]!, Number(target[2]));
  const oru = oruOf(
    ctx.source,
    ctx.delivery,
    {
      ...ctx.config.hl7,
      receivingApplication: ctx.settings.hl7ReceivingApplication ?? "",
      receivingFacility: ctx.settings.hl7ReceivingFacility ?? "",
    },
    ctx.now,
    await originalIdentity(ctx),
  );
  let reply: string;
  try {
    reply = await exchangeMllp({ host: target[1]!, port: Number(target[2]) }, buildOruR01(oru), ctx.config.timeoutMs);
  } catch (error) {
    // no ACK: refused, dropped or silent peer
    throw new DeliveryError("UNAVAILABLE", error instanceof Error ? error.message : "MLLP exchange failed", true, error);
  }
  let ack: ReturnType<typeof readAck>;
  try {
    ack = readAck(reply);
  } catch (error) {
    throw new DeliveryError("UNAVAILABLE", "MLLP reply without a valid MSA", true, error);
  }
  if (ack.code === "AA" || ack.code === "CA") return { sentId: oru.controlId, supersedesId: ctx.predecessor?.id ?? null };
  // AE/AR (and CE/CR): the receiver read the message and said no; the text is what the RIS reported
  throw new DeliveryError(`HL7_${ack.code}`, `HL7 receiver answered ${ack.code}${ack.text ? `: ${ack.text}` : ""}`, false);
}

/**
 * A FHIR `transaction` Bundle with one PUT per resource (`{type}/{id}`): the ids are the platform's, so a resend or
 * a later status change (final, amended, cancelled) updates the same resources instead of creating copies.
 */
export async function sendFhir(ctx: SendContext): Promise<SendOutcome> {
  const base = ctx.delivery.target.replace(/\/+$/, "");
  const endpoint = endpointOfUrl(base);
  await checkEgress(ctx, endpoint.host, endpoint.port);
  // a DICOM-in study: the hospital's own identifiers, read from the PACS now (never stored), as the SR and ORU do
  const collection = buildFhirBundle(fhirInputOf(ctx.source, base, await originalIdentity(ctx)));
  const transaction = {
    resourceType: "Bundle",
    type: "transaction",
    entry: collection.entry.map((e) => ({
      fullUrl: e.fullUrl,
      resource: e.resource,
      request: { method: "PUT", url: `${e.resource.resourceType}/${e.resource.id}` },
    })),
  };
  let res: Response;
  try {
    res = await fetch(base, {
      method: "POST",
      headers: { "content-type": "application/fhir+json", accept: "application/fhir+json" },
      body: JSON.stringify(transaction),
      redirect: "error",
      signal: AbortSignal.any([ctx.signal, AbortSignal.timeout(ctx.config.timeoutMs)]),
    });
  } catch (error) {
    transport(error, "FHIR server unreachable");
  }
  // only the status matters: the body is dropped unread, so a hostile server cannot make us buffer an endless answer
  await res.body?.cancel().catch(() => undefined);
  if (res.status >= 500 || res.status === 408 || res.status === 429) {
    throw new DeliveryError("UNAVAILABLE", `FHIR server answered ${res.status}`, true);
  }
  if (!res.ok) throw new DeliveryError("FHIR_REJECTED", `FHIR server answered ${res.status}`, false);
  const report = collection.entry.find((e) => e.resource.resourceType === "DiagnosticReport");
  return { sentId: `DiagnosticReport/${report?.resource.id ?? ctx.source.study.id}`, supersedesId: ctx.predecessor?.id ?? null };
}

export const SENDERS = { SR: sendSr, HL7: sendHl7, FHIR: sendFhir } as const;

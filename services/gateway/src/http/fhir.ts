// GET /fhir/r4/…: the read-only FHIR R4 endpoint. Order of work: limits (URL length, method, Accept) → caller
// (401/403) → route and parameters (400/404) → the caller's rate limit (429) → database reads → audit. Resources
// are built by lib/interop/fhir from the same rows as Study.fhirBundle (fhir/input.ts), so ids agree. Logs carry
// the path only: a search's query string may hold a patient id.
import type { IncomingMessage, ServerResponse } from "node:http";
import { randomUUID } from "node:crypto";
import type { FhirReadRepository } from "../../../../lib/db/repositories/fhir.ts";
import type { Repositories } from "../../../../lib/db/index.ts";
import { buildFhirBundle } from "../../../../lib/interop/fhir/bundle.ts";
import type { FhirResource } from "../../../../lib/interop/fhir/types.ts";
import { decide } from "../auth/policy.ts";
import { InvalidCredentials, type Principal } from "../auth/principal.ts";
import { capabilityStatement } from "../fhir/capability.ts";
import { fhirStudyInput } from "../fhir/input.ts";
import { FhirHttpError, sendFhir, sendOutcome } from "../fhir/outcome.ts";
import { acceptsFhirJson, checkReadParameters, FHIR_LIMITS, parseReportSearch, parseRoute, type ReadType } from "../fhir/params.ts";
import type { Logger } from "../logger.ts";
import type { Admission } from "./rate-limit.ts";

export const FHIR_PREFIX = "/fhir/r4";

export interface FhirDeps {
  audit: Repositories["audit"];
  repo: FhirReadRepository;
  /** absolute base of this endpoint (fullUrls and links) */
  baseUrl: () => string;
  /** the caller from the request's credentials; throws InvalidCredentials for bad ones */
  principalOf: (req: IncomingMessage) => Promise<Principal | null>;
  /** the per-caller rate limit shared with GraphQL */
  admit: (principal: Principal | null) => Promise<Admission>;
  logger: Logger;
}

export async function handleFhir(req: IncomingMessage, res: ServerResponse, url: URL, deps: FhirDeps): Promise<void> {
  try {
    await serve(req, res, url, deps);
  } catch (error) {
    if (error instanceof FhirHttpError) return sendOutcome(res, error);
    const errorId = randomUUID();
    deps.logger.error("FHIR request failed", { errorId, method: req.method, path: url.pathname, error });
    if (!res.headersSent) sendOutcome(res, new FhirHttpError(500, "exception", `Internal error (reference ${errorId}).`));
    else res.destroy();
  }
}

async function callerOf(req: IncomingMessage, deps: FhirDeps): Promise<Principal> {
  let principal: Principal | null;
  try {
    principal = await deps.principalOf(req);
  } catch (error) {
    if (error instanceof InvalidCredentials) throw new FhirHttpError(401, "login", error.message, { "www-authenticate": "Bearer" });
    throw error;
  }
  const decision = decide("HTTP.fhir", principal?.role ?? null);
  if (decision === "unauthenticated" || !principal)
    throw new FhirHttpError(401, "login", "Authentication required: send `Authorization: Bearer <token>` or `x-api-key`.", {
      "www-authenticate": "Bearer",
    });
  if (decision === "forbidden") throw new FhirHttpError(403, "forbidden", `Your role (${principal.role}) may not read FHIR resources.`);
  return principal;
}

async function serve(req: IncomingMessage, res: ServerResponse, url: URL, deps: FhirDeps): Promise<void> {
  if ((req.url ?? "").length > FHIR_LIMITS.maxUrlLength)
    throw new FhirHttpError(414, "too-costly", `Request URLs are limited to ${FHIR_LIMITS.maxUrlLength} characters.`);
  if (req.method !== "GET") throw new FhirHttpError(405, "not-supported", "This FHIR endpoint is read-only: GET only.", { allow: "GET" });
  const accept = req.headers.accept;
  if (!acceptsFhirJson(Array.isArray(accept) ? accept.join(",") : accept))
    throw new FhirHttpError(406, "not-supported", "Only application/fhir+json (or application/json) is served.");
  const rest = url.pathname.slice(FHIR_PREFIX.length);
  // the CapabilityStatement describes the server, not patient data: clients read it before they authenticate
  if (rest === "/metadata") {
    checkReadParameters(url);
    return withAdmission(deps, null, async () => sendFhir(res, 200, capabilityStatement(deps.baseUrl())));
  }
  const principal = await callerOf(req, deps);
  const route = parseRoute(rest);
  if (route.kind === "metadata") return sendFhir(res, 200, capabilityStatement(deps.baseUrl()));
  if (route.kind === "read") {
    checkReadParameters(url);
    return withAdmission(deps, principal, async () => {
      const { resource, studyId } = await readResource(deps, principal, route.type, route.id);
      await deps.audit.record({
        tenantId: principal.tenantId,
        actor: principal.actor,
        action: "fhir.read",
        targetType: route.type,
        targetId: route.id,
        details: { studyId },
      });
      sendFhir(res, 200, resource);
    });
  }
  const patientSystem = `urn:gkmvlp:tenant:${principal.tenantId}:patient`;
  const parsed = parseReportSearch(url, patientSystem);
  return withAdmission(deps, principal, async () => {
    const { search } = parsed;
    const found = parsed.impossible ? { total: 0, studyIds: [] } : await deps.repo.searchReports(principal.tenantId, search);
    const base = deps.baseUrl();
    const rows = await deps.repo.studyRows(principal.tenantId, found.studyIds);
    const entry = rows.flatMap((row) => {
      const report = buildFhirBundle(fhirStudyInput(row, base)).entry.find((e) => e.resource.resourceType === "DiagnosticReport");
      return report ? [{ ...report, search: { mode: "match" } }] : [];
    });
    const link = (relation: string, offset: number) => {
      const query = new URLSearchParams([...parsed.given, ["_count", String(search.count)], ["_offset", String(offset)]]);
      return { relation, url: `${base}/DiagnosticReport?${query.toString()}` };
    };
    const links = [link("self", search.offset)];
    if (search.offset + search.count < found.total && search.offset + search.count <= FHIR_LIMITS.maxOffset)
      links.push(link("next", search.offset + search.count));
    if (search.offset > 0) links.push(link("previous", Math.max(0, search.offset - search.count)));
    await deps.audit.record({
      tenantId: principal.tenantId,
      actor: principal.actor,
      action: "fhir.search",
      targetType: "DiagnosticReport",
      // parameter names only: their values (accession, patient id) are identifiers of a patient
      details: { parameters: parsed.given.map(([name]) => name), total: found.total, studyIds: rows.map((r) => r.study.id) },
    });
    // FHIR forbids empty arrays: a page without matches has no entry element
    sendFhir(res, 200, { resourceType: "Bundle", type: "searchset", total: found.total, link: links, ...(entry.length ? { entry } : {}) });
  });
}

async function withAdmission(deps: FhirDeps, principal: Principal | null, work: () => Promise<void>): Promise<void> {
  const admission = await deps.admit(principal);
  if (!admission.ok) {
    const retry = String(Math.max(1, Math.ceil(admission.retryAfterMs / 1000)));
    throw new FhirHttpError(admission.status, admission.status === 429 ? "throttled" : "exception", admission.message, {
      "retry-after": retry,
    });
  }
  try {
    await work();
  } finally {
    admission.release();
  }
}

/** The resource `type/id` of the caller's tenant, built from its study's rows; anything else is 404. */
async function readResource(deps: FhirDeps, principal: Principal, type: ReadType, id: string) {
  let studyIds: string[];
  if (type === "Device") {
    const model = /^model-([0-9a-f]{1,32})$/.exec(id);
    // a model may have been replaced on some studies: the newest few that used it are tried
    studyIds = model ? await deps.repo.studiesWithModel(principal.tenantId, model[1]!, 5) : [];
  } else if (type === "Observation") {
    const finding = /^(.+)-f-\d+$/.exec(id);
    studyIds = finding ? [finding[1]!] : [];
  } else {
    studyIds = [id];
  }
  const base = deps.baseUrl();
  for (const row of await deps.repo.studyRows(principal.tenantId, studyIds)) {
    const hit = buildFhirBundle(fhirStudyInput(row, base)).entry.find((e) => e.resource.resourceType === type && e.resource.id === id);
    if (hit) return { resource: hit.resource as FhirResource, studyId: row.study.id };
  }
  throw new FhirHttpError(404, "not-found", `${type}/${id} is not known.`);
}

// Parsing of /fhir/r4 requests, before any database work: the route, content negotiation and the small set of
// search parameters DiagnosticReport supports. Everything is bounded (URL length, parameter count, value length)
// and strict: a parameter we do not support is a 400, not silently ignored, so a client never mistakes an
// unfiltered page for a filtered one.
import type { FhirReportSearch, FhirReportStatus } from "../../../../lib/db/repositories/fhir.ts";
import { REPORT_STATUS_REVIEW } from "../../../../lib/db/repositories/fhir.ts";
import { FhirHttpError } from "./outcome.ts";

export const FHIR_LIMITS = {
  maxUrlLength: 2048,
  maxParameters: 10,
  maxValueLength: 128,
  defaultCount: 20,
  maxCount: 50,
  maxOffset: 10_000,
};
export const READ_TYPES = ["DiagnosticReport", "Observation", "ImagingStudy", "Device"] as const;
export type ReadType = (typeof READ_TYPES)[number];
export const SEARCH_PARAMETERS = ["identifier", "subject:identifier", "status", "_count", "_offset", "_format"] as const;

export type FhirRoute = { kind: "metadata" } | { kind: "read"; type: ReadType; id: string } | { kind: "search"; type: "DiagnosticReport" };

const FHIR_ID = /^[A-Za-z0-9.-]{1,64}$/;
const JSON_FORMATS = new Set(["json", "application/json", "application/fhir+json"]);
const ACCEPTABLE = new Set(["application/fhir+json", "application/json", "application/*", "*/*"]);

/** `rest` is the path after /fhir/r4 ("" or "/…"). */
export function parseRoute(rest: string): FhirRoute {
  const parts = rest.split("/").filter((p) => p !== "");
  if (parts.length === 1 && parts[0] === "metadata") return { kind: "metadata" };
  const [type, id, ...more] = parts;
  if (!type) throw new FhirHttpError(404, "not-found", "No resource type given: see GET /fhir/r4/metadata.");
  if (!(READ_TYPES as readonly string[]).includes(type))
    throw new FhirHttpError(404, "not-supported", `Resource type ${type} is not served here: see GET /fhir/r4/metadata.`);
  if (id === undefined) {
    if (type !== "DiagnosticReport")
      throw new FhirHttpError(400, "not-supported", `Search is supported on DiagnosticReport only, not on ${type}.`);
    return { kind: "search", type };
  }
  if (more.length > 0)
    throw new FhirHttpError(400, "not-supported", "Only read (/{type}/{id}) is supported: no history, versions or operations.");
  let decoded: string;
  try {
    decoded = decodeURIComponent(id);
  } catch {
    throw new FhirHttpError(400, "invalid", "The resource id is not valid percent-encoding.");
  }
  if (!FHIR_ID.test(decoded)) throw new FhirHttpError(400, "invalid", "A FHIR id is 1 to 64 characters of A-Z, a-z, 0-9, '-' and '.'.");
  return { kind: "read", type: type as ReadType, id: decoded };
}

/** Whether the Accept header admits FHIR JSON (absent: yes). Only JSON is served. */
export function acceptsFhirJson(accept: string | undefined): boolean {
  if (accept === undefined || accept.trim() === "") return true;
  return accept.split(",").some((part) => {
    const [type, ...params] = part.split(";").map((s) => s.trim().toLowerCase());
    const refused = params.some((p) => /^q=0(\.0*)?$/.test(p));
    return !refused && type !== undefined && ACCEPTABLE.has(type);
  });
}

/** Checks the parameters common to every route (count, repeats, lengths, _format). */
function checkedParameters(url: URL, allowed: readonly string[]): Map<string, string> {
  const params = new Map<string, string>();
  if ([...url.searchParams.keys()].length > FHIR_LIMITS.maxParameters)
    throw new FhirHttpError(400, "too-costly", `At most ${FHIR_LIMITS.maxParameters} parameters.`);
  for (const [name, value] of url.searchParams) {
    if (!allowed.includes(name))
      throw new FhirHttpError(
        400,
        "not-supported",
        `Unknown or unsupported parameter: ${name.slice(0, 40)}. Supported: ${allowed.join(", ")}.`,
      );
    if (params.has(name)) throw new FhirHttpError(400, "not-supported", `Parameter ${name} may be given once.`);
    if (value.length === 0 || value.length > FHIR_LIMITS.maxValueLength)
      throw new FhirHttpError(400, "invalid", `Parameter ${name} must have 1 to ${FHIR_LIMITS.maxValueLength} characters.`);
    params.set(name, value);
  }
  const format = params.get("_format");
  if (format !== undefined && !JSON_FORMATS.has(format.toLowerCase()))
    throw new FhirHttpError(406, "not-supported", "Only JSON is served (_format=json or application/fhir+json).");
  return params;
}

export function checkReadParameters(url: URL): void {
  checkedParameters(url, ["_format"]);
}

/** A token `[system]|value` or `value` (no comma lists, no escapes: a value with ',' or '|' cannot be searched). */
function token(name: string, raw: string): { system: string | null; value: string } {
  if (raw.includes(",")) throw new FhirHttpError(400, "not-supported", `Parameter ${name} takes one value (no comma lists).`);
  const bar = raw.indexOf("|");
  if (bar < 0) return { system: null, value: raw };
  const value = raw.slice(bar + 1);
  if (value === "" || value.includes("|")) throw new FhirHttpError(400, "invalid", `Parameter ${name} must be value or system|value.`);
  return { system: raw.slice(0, bar), value };
}

function integer(name: string, raw: string, min: number, max: number): number {
  if (!/^\d{1,9}$/.test(raw)) throw new FhirHttpError(400, "invalid", `Parameter ${name} must be a whole number.`);
  const n = Number(raw);
  if (n < min || n > max) throw new FhirHttpError(400, "invalid", `Parameter ${name} must be between ${min} and ${max}.`);
  return n;
}

export interface ParsedSearch {
  search: FhirReportSearch;
  /** a system was named that no resource of this tenant carries: the answer is empty without a query */
  impossible: boolean;
  /** the parameters as given (names and values), for paging links */
  given: [string, string][];
}

/** DiagnosticReport search parameters; `patientSystem` is the tenant's patient identifier system. */
export function parseReportSearch(url: URL, patientSystem: string): ParsedSearch {
  const params = checkedParameters(url, SEARCH_PARAMETERS);
  let impossible = false;
  const search: FhirReportSearch = { count: FHIR_LIMITS.defaultCount, offset: 0 };
  const identifier = params.get("identifier");
  if (identifier !== undefined) {
    const t = token("identifier", identifier);
    // the accession identifier carries a type (ACSN), not a system: "value" or "|value" match it
    if (t.system !== null && t.system !== "") impossible = true;
    search.accession = t.value;
  }
  const subject = params.get("subject:identifier");
  if (subject !== undefined) {
    const t = token("subject:identifier", subject);
    if (t.system !== null && t.system !== patientSystem) impossible = true;
    search.patientMrn = t.value;
  }
  const status = params.get("status");
  if (status !== undefined) {
    const codes = status.split(",");
    for (const code of codes)
      if (!(code in REPORT_STATUS_REVIEW))
        throw new FhirHttpError(
          400,
          "invalid",
          `Unknown status: ${code.slice(0, 20)}. Use ${Object.keys(REPORT_STATUS_REVIEW).join(", ")}.`,
        );
    search.statuses = codes as FhirReportStatus[];
  }
  const count = params.get("_count");
  // FHIR lets a server return fewer than asked: above the cap, the cap
  if (count !== undefined) search.count = Math.min(integer("_count", count, 1, 1_000_000), FHIR_LIMITS.maxCount);
  const offset = params.get("_offset");
  if (offset !== undefined) search.offset = integer("_offset", offset, 0, FHIR_LIMITS.maxOffset);
  return { search, impossible, given: [...params].filter(([name]) => name !== "_count" && name !== "_offset") };
}

// FHIR responses: every answer of /fhir/r4 is application/fhir+json, errors are OperationOutcomes with the HTTP
// status FHIR's RESTful API gives them (http://hl7.org/fhir/R4/http.html).
import type { ServerResponse } from "node:http";

export const FHIR_JSON = "application/fhir+json";

/** OperationOutcome.issue.code values used here (http://hl7.org/fhir/R4/valueset-issue-type.html) */
export type IssueType = "invalid" | "not-supported" | "not-found" | "forbidden" | "login" | "throttled" | "too-costly" | "exception";

export class FhirHttpError extends Error {
  constructor(
    readonly status: number,
    readonly issue: IssueType,
    message: string,
    readonly headers: Record<string, string> = {},
  ) {
    super(message);
    this.name = "FhirHttpError";
  }
}

export function operationOutcome(issue: IssueType, diagnostics: string, severity: "error" | "fatal" = "error") {
  return { resourceType: "OperationOutcome", issue: [{ severity, code: issue, diagnostics }] };
}

export function sendFhir(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  const text = JSON.stringify(body);
  res.writeHead(status, {
    "content-type": `${FHIR_JSON}; charset=utf-8`,
    "content-length": Buffer.byteLength(text),
    // patient data: no shared cache may keep it
    "cache-control": "no-store",
    ...headers,
  });
  res.end(text);
}

export function sendOutcome(res: ServerResponse, error: FhirHttpError): void {
  sendFhir(res, error.status, operationOutcome(error.issue, error.message), error.headers);
}

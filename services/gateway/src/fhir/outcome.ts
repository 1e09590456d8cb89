// FHIR responses: every answer of /fhir/r4 is application/fhir+json, errors are OperationOutcomes with the HTTP
// status FHIR's RESTful API gives them (http://hl7.org/fhir/R4/http.html).
import type { ServerResponse } from "node:http";
import { AppError } from "../../../../lib/errors/index.ts";

export const FHIR_JSON = "application/fhir+json";

/** OperationOutcome.issue.code values used here (http://hl7.org/fhir/R4/valueset-issue-type.html) */
export type IssueType = "invalid" | "not-supported" | "not-found" | "forbidden" | "login" | "throttled" | "too-costly" | "exception";

/** An expected refusal of /fhir/r4: an AppError (code FHIR_<ISSUE>, retriable for 429/503) with its FHIR issue type. */
export class FhirHttpError extends AppError {
  constructor(
    readonly status: number,
    readonly issue: IssueType,
    message: string,
    readonly headers: Record<string, string> = {},
  ) {
    super(`FHIR_${issue.replace("-", "_").toUpperCase()}`, message, status, status === 429 || status === 503);
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

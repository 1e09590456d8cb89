// GET /fhir/r4/metadata: the CapabilityStatement, listing exactly what this endpoint does (read of four resource
// types, DiagnosticReport search with its parameters, JSON only), so a client library can discover it.
import { FHIR_LIMITS } from "./params.ts";

/** changes only when the endpoint's capabilities do */
const STATEMENT_DATE = "2026-12-03";

const read = (type: string, documentation: string) => ({ type, interaction: [{ code: "read" }], documentation });

export function capabilityStatement(baseUrl: string) {
  return {
    resourceType: "CapabilityStatement",
    status: "active",
    date: STATEMENT_DATE,
    publisher: "GK-MVLP chest X-ray platform",
    kind: "instance",
    software: { name: "gkmvlp-gateway" },
    implementation: { description: "Read-only FHIR R4 view of the platform's AI results (not for clinical use)", url: baseUrl },
    fhirVersion: "4.0.1",
    format: ["json"],
    rest: [
      {
        mode: "server",
        documentation:
          "Read-only. Authentication as for GraphQL: `Authorization: Bearer <session token>` or `x-api-key`. Every read is tenant-scoped (another tenant's id is 404) and audited.",
        security: {
          description: "Bearer session tokens (people) and API keys (apps); roles ADMIN, RADIOLOGIST, CLINICIAN, AUDITOR may read.",
        },
        resource: [
          {
            ...read("DiagnosticReport", "One per analysed study (id = study id); status follows the radiologist's review."),
            interaction: [{ code: "read" }, { code: "search-type" }],
            searchParam: [
              { name: "identifier", type: "token", documentation: "Accession number: `value` or `|value`; one value." },
              {
                name: "subject:identifier",
                type: "token",
                documentation: "The tenant's patient id: `value` or `urn:gkmvlp:tenant:{tenant}:patient|value`; one value.",
              },
              { name: "status", type: "token", documentation: "preliminary, final, amended, cancelled; comma-separated for any of them." },
              {
                name: "_count",
                type: "number",
                documentation: `Page size, default ${FHIR_LIMITS.defaultCount}, at most ${FHIR_LIMITS.maxCount} (larger values are reduced).`,
              },
              {
                name: "_offset",
                type: "number",
                documentation: `Entries to skip (0 to ${FHIR_LIMITS.maxOffset}); follow the Bundle's next link.`,
              },
            ],
          },
          read("Observation", "One per classification finding; id = {study id}-f-{n}."),
          read("ImagingStudy", "The analysed study (id = study id)."),
          read("Device", "The model that produced the results; id = model-{first 32 hex of the bundle sha256}."),
        ],
      },
    ],
  };
}

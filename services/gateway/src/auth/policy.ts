// Who may call what: one table for every root field (queries, mutations, subscriptions) and the HTTP
// routes beside GraphQL. Object-level access (tenant) is enforced in the repository calls, not here.
// OPERATOR is the platform operator (above tenants): models, fleet and its own audit trail, never patient data.
// Model changes admit tenant ADMINs here so that they get FORBIDDEN as data from the resolver (they are the
// ones who used to be allowed); every other role is refused here.
import type { Role } from "../graphql/models.ts";

const ALL: readonly Role[] = ["OPERATOR", "ADMIN", "RADIOLOGIST", "CLINICIAN", "AUDITOR", "WORKER"];
/** People and apps that work with patient data. */
const CLINICAL: readonly Role[] = ["ADMIN", "RADIOLOGIST", "CLINICIAN"];
/** Clinical readers plus auditors (who may read what they audit). */
const CLINICAL_READ: readonly Role[] = ["ADMIN", "RADIOLOGIST", "CLINICIAN", "AUDITOR"];
const OPERATIONS: readonly Role[] = ["OPERATOR", "ADMIN", "RADIOLOGIST", "CLINICIAN", "AUDITOR", "WORKER"];

/** `null` = no authentication needed. */
export const POLICY: Record<string, readonly Role[] | null> = {
  "Query.viewer": ALL,
  "Query.patient": CLINICAL_READ,
  "Query.patients": CLINICAL_READ,
  "Query.study": CLINICAL_READ,
  "Query.studies": CLINICAL_READ,
  "Query.analysis": CLINICAL_READ,
  "Query.labels": ALL,
  "Query.regions": ALL,
  "Query.models": OPERATIONS,
  "Query.workers": OPERATIONS,
  "Query.queue": OPERATIONS,
  "Query.auditEvents": ["OPERATOR", "ADMIN", "AUDITOR"],
  "Mutation.login": null,
  "Mutation.logout": ALL,
  "Mutation.revokeSessions": ["OPERATOR", "ADMIN"],
  "Mutation.changePassword": ["OPERATOR", "ADMIN", "RADIOLOGIST", "CLINICIAN", "AUDITOR"],
  "Mutation.setUserRole": ["ADMIN"],
  "Mutation.createPatient": CLINICAL,
  "Mutation.createStudy": CLINICAL,
  "Mutation.attachImage": CLINICAL,
  "Mutation.requestAnalyses": CLINICAL,
  "Mutation.askQuestion": CLINICAL,
  "Mutation.retryAnalysis": CLINICAL,
  "Mutation.cancelAnalysis": CLINICAL,
  "Mutation.reviewReport": ["ADMIN", "RADIOLOGIST"],
  "Query.deliverySettings": ["ADMIN"],
  "Query.pacsIngestLog": ["ADMIN"],
  "Query.pacsSources": ["ADMIN"],
  "Mutation.setPacsSource": ["ADMIN"],
  "Mutation.removePacsSource": ["ADMIN"],
  "Query.unmappedPacsInstances": ["OPERATOR"],
  "Mutation.updateDeliverySettings": ["ADMIN"],
  "Mutation.sendToPacs": ["ADMIN", "RADIOLOGIST"],
  "Mutation.activateModel": ["OPERATOR", "ADMIN"],
  "Mutation.retireModel": ["OPERATOR", "ADMIN"],
  "Subscription.studyAnalysisUpdates": CLINICAL_READ,
  "Subscription.tenantAnalysisUpdates": CLINICAL_READ,
  "HTTP.upload": CLINICAL,
  "HTTP.image": CLINICAL_READ,
  /** DICOM in by STOW-RS (/dicomweb/studies): who may upload may store; the handler also requires an API key */
  "HTTP.stow": CLINICAL,
  /** the read-only FHIR R4 endpoint (/fhir/r4): who may read studies may read them as FHIR */
  "HTTP.fhir": CLINICAL_READ,
};

/** Root fields reachable without credentials; anything else in an unauthenticated operation is refused. */
export const PUBLIC_ROOT_FIELDS = new Set(
  Object.entries(POLICY)
    .filter(([, roles]) => roles === null)
    .map(([name]) => name),
);

export type PolicyDecision = "allow" | "unauthenticated" | "forbidden";

export function decide(field: string, role: Role | null): PolicyDecision {
  if (!(field in POLICY)) return role ? "forbidden" : "unauthenticated"; // unknown fields are closed by default
  const roles = POLICY[field];
  if (roles === null || roles === undefined) return "allow";
  if (!role) return "unauthenticated";
  return roles.includes(role) ? "allow" : "forbidden";
}

// What the FHIR builder needs from a study, already read from the repositories. Plain data: the builder is
// a pure function so the GraphQL field, the REST endpoint and a push share one mapping.
export type FhirReviewAction = "ACCEPT" | "AMEND" | "REJECT";
export type FhirReliability = "OK" | "CAUTION" | "ABSTAIN";

export interface FhirFindingInput {
  label: string;
  probability: number;
  threshold: number;
  positive: boolean;
  calibrated: boolean;
  validatedOnRealData: boolean;
  regions: readonly { region: string; weight: number }[];
}

export interface FhirStudyInput {
  /** base of the FHIR endpoint, e.g. https://gateway.example/fhir; fullUrls are `${baseUrl}/${type}/${id}` */
  baseUrl: string;
  tenantId: string;
  study: { id: string; studyInstanceUid: string | null; accessionNumber: string | null; modality: string; startedAt: Date };
  patientExternalId: string;
  image: { id: string; seriesInstanceUid: string | null; sopInstanceUid: string | null; sopClassUid: string | null };
  findings: readonly FhirFindingInput[];
  reliability: FhirReliability | null;
  report: { impression: string; text: string; sentences: readonly { text: string; regions: readonly string[] }[] } | null;
  /** the latest review of the report, if any */
  review: FhirReviewAction | null;
  model: { name: string; version: string; bundleHash: string };
  issuedAt: Date;
}

export type FhirResource = { resourceType: string; id: string } & Record<string, unknown>;
export type FhirBundle = { resourceType: "Bundle"; type: "collection"; entry: { fullUrl: string; resource: FhirResource }[] } & Record<
  string,
  unknown
>;

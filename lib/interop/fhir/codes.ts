// Codes used in the FHIR (and HL7 v2) output. Only concepts we are sure of are mapped; a label without a
// SNOMED CT code is sent with the platform's own code system and its text, never a guessed code.
export const SNOMED = "http://snomed.info/sct";
export const LOINC = "http://loinc.org";
export const UCUM = "http://unitsofmeasure.org";
export const DICOM_DCM = "http://dicom.nema.org/resources/ontology/DCM";
export const V2_0074 = "http://terminology.hl7.org/CodeSystem/v2-0074";
export const INTERPRETATION = "http://terminology.hl7.org/CodeSystem/v3-ObservationInterpretation";
export const LOCAL_FINDING_SYSTEM = "urn:gkmvlp:finding";
/** LOINC "Diagnostic imaging study" (the report as a whole) */
export const REPORT_LOINC = { code: "18748-4", display: "Diagnostic imaging study" };
/** DICOM SOP class of the source image when the platform wrapped an upload (Secondary Capture) */
export const SECONDARY_CAPTURE_SOP_CLASS = "1.2.840.10008.5.1.4.1.1.7";

/** CheXpert label → SNOMED CT clinical finding. Labels absent here have no code we are sure of. */
export const FINDING_SNOMED: Readonly<Record<string, { code: string; display: string }>> = {
  Cardiomegaly: { code: "8186001", display: "Cardiomegaly" },
  Edema: { code: "19242006", display: "Pulmonary edema" },
  Consolidation: { code: "95436008", display: "Lung consolidation" },
  Pneumonia: { code: "233604007", display: "Pneumonia" },
  Atelectasis: { code: "46621007", display: "Atelectasis" },
  Pneumothorax: { code: "36118008", display: "Pneumothorax" },
  "Pleural Effusion": { code: "60046008", display: "Pleural effusion" },
  Fracture: { code: "125605004", display: "Fracture of bone" },
};

/** Labels knowingly left without a SNOMED CT code (documented in docs/interop.md). */
export const FINDINGS_WITHOUT_SNOMED = [
  "No Finding",
  "Enlarged Cardiomediastinum",
  "Lung Opacity",
  "Lung Lesion",
  "Pleural Other",
  "Support Devices",
] as const;

/** Grounding region → SNOMED CT body structure, for the regions whose code we are sure of. */
export const REGION_SNOMED: Readonly<Record<string, { code: string; display: string }>> = {
  "right lung": { code: "3341006", display: "Right lung structure" },
  "left lung": { code: "44029006", display: "Left lung structure" },
  heart: { code: "80891009", display: "Heart structure" },
};

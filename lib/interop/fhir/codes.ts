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

export { FINDING_SNOMED, FINDINGS_WITHOUT_SNOMED, REGION_SNOMED } from "../codes.ts";

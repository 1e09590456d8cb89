// The clinical concepts the platform's outputs are coded with, in one table shared by the FHIR, DICOM SR and
// HL7 v2 builders. Only concepts whose SNOMED CT code matches what the model means are mapped; any other label
// or region is sent with the platform's own code and its text (docs/interop.md lists them), never a guessed code.
export interface SnomedConcept {
  code: string;
  display: string;
}

/** CheXpert label → SNOMED CT clinical finding. */
export const FINDING_SNOMED: Readonly<Record<string, SnomedConcept>> = {
  Cardiomegaly: { code: "8186001", display: "Cardiomegaly" },
  Edema: { code: "19242006", display: "Pulmonary edema" },
  Consolidation: { code: "95436008", display: "Lung consolidation" },
  Pneumonia: { code: "233604007", display: "Pneumonia" },
  Atelectasis: { code: "46621007", display: "Atelectasis" },
  Pneumothorax: { code: "36118008", display: "Pneumothorax" },
  "Pleural Effusion": { code: "60046008", display: "Pleural effusion" },
  Fracture: { code: "125605004", display: "Fracture of bone" },
};

/** Labels knowingly left without a SNOMED CT code. */
export const FINDINGS_WITHOUT_SNOMED = [
  "No Finding",
  "Enlarged Cardiomediastinum",
  "Lung Opacity",
  "Lung Lesion",
  "Pleural Other",
  "Support Devices",
] as const;

/** Grounding region → SNOMED CT body structure. */
export const REGION_SNOMED: Readonly<Record<string, SnomedConcept>> = {
  "right lung": { code: "3341006", display: "Right lung structure" },
  "left lung": { code: "44029006", display: "Left lung structure" },
  heart: { code: "80891009", display: "Heart structure" },
  trachea: { code: "44567001", display: "Tracheal structure" },
  mediastinum: { code: "72410000", display: "Mediastinal structure" },
  spine: { code: "421060004", display: "Vertebral column structure" },
};

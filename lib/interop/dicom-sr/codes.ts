// Coded concepts used in the SR. Findings and regions carry SNOMED CT codes where one exists for the concept as the
// model means it; the others use this platform's private scheme (99GKMVLP, PS3.16 8.2 private coding scheme),
// listed in docs/interop.md.
import { FINDING_SNOMED, REGION_SNOMED, type SnomedConcept } from "../codes.ts";

export interface Code {
  value: string;
  scheme: string;
  meaning: string;
}

export const PRIVATE_SCHEME = "99GKMVLP";

const sct = (value: string, meaning: string): Code => ({ value, scheme: "SCT", meaning });
const dcm = (value: string, meaning: string): Code => ({ value, scheme: "DCM", meaning });
const priv = (value: string, meaning: string): Code => ({ value, scheme: PRIVATE_SCHEME, meaning });

const fromSnomed = (table: Readonly<Record<string, SnomedConcept>>): Record<string, Code> =>
  Object.fromEntries(Object.entries(table).map(([key, concept]) => [key, sct(concept.code, concept.display)]));

export const FINDING_CODES: Record<string, Code> = fromSnomed(FINDING_SNOMED);
export const REGION_CODES: Record<string, Code> = fromSnomed(REGION_SNOMED);

// Labels without a checked-in standard code fall back to a private code named after the label.
export function findingCode(label: string): Code {
  return FINDING_CODES[label] ?? priv(`F-${label.toUpperCase().replace(/[^A-Z0-9]+/g, "-")}`.slice(0, 16), label);
}

export function regionCode(region: string): Code {
  return REGION_CODES[region] ?? priv(`R-${region.toUpperCase().replace(/[^A-Z0-9]+/g, "-")}`.slice(0, 16), region);
}

export const CONCEPTS = {
  imagingMeasurementReport: dcm("126000", "Imaging Measurement Report"),
  procedureReported: dcm("121058", "Procedure reported"),
  chestXray: sct("399208008", "Plain chest X-ray"),
  observerType: dcm("121005", "Observer Type"),
  device: dcm("121007", "Device"),
  deviceObserverUid: dcm("121012", "Device Observer UID"),
  deviceObserverName: dcm("121013", "Device Observer Name"),
  deviceObserverManufacturer: dcm("121014", "Device Observer Manufacturer"),
  deviceObserverModelName: dcm("121015", "Device Observer Model Name"),
  imageLibrary: dcm("111028", "Image Library"),
  imageLibraryGroup: dcm("126200", "Image Library Group"),
  imagingMeasurements: dcm("126010", "Imaging Measurements"),
  measurementGroup: dcm("125007", "Measurement Group"),
  trackingIdentifier: dcm("112039", "Tracking Identifier"),
  trackingUid: dcm("112040", "Tracking Unique Identifier"),
  finding: dcm("121071", "Finding"),
  findingSite: sct("363698007", "Finding Site"),
  imageRegion: dcm("111030", "Image Region"),
  algorithmName: dcm("111001", "Algorithm Name"),
  algorithmVersion: dcm("111003", "Algorithm Version"),
  algorithmParameters: dcm("111002", "Algorithm Parameters"),
  comment: dcm("121106", "Comment"),
  probability: priv("PROBABILITY", "Finding probability"),
  reportSentence: priv("SENTENCE", "Report sentence"),
  reportText: priv("REPORT", "Generated report"),
  noUnits: { value: "1", scheme: "UCUM", meaning: "no units" } as Code,
} as const;

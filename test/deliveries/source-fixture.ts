// The original identity of one film received by DICOM in, as the source PACS holds it: shared by the tests of
// the SR, FHIR and HL7 contents built from it and of the lookup that reads it.
import type { SourceIdentity } from "../../lib/deliveries/content.ts";

export const ORIGINAL: SourceIdentity = {
  studyInstanceUid: "1.2.3.1",
  seriesInstanceUid: "1.2.3.2",
  sopInstanceUid: "1.2.3.3",
  sopClassUid: "1.2.840.10008.5.1.4.1.1.1",
  patientId: "HOSP-42",
  patientName: "Doe^Jane",
  accession: "A-77",
  studyDate: new Date("2026-11-30T00:00:00Z"),
};

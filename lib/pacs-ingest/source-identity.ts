// Reads an ingested instance's own identity back from the PACS it came from, for the SR that goes back there
// (lib/deliveries: the SR joins the original study even when the platform keeps the study under pseudonymous UIDs).
import type { SourceIdentity } from "../deliveries/content.ts";
import type { OrthancRest } from "./orthanc-rest.ts";

const UID = /^[0-9]+(\.[0-9]+)*$/;

function dicomDate(value: string): Date | null {
  const m = /^(\d{4})(\d{2})(\d{2})$/.exec(value);
  if (!m) return null;
  const d = new Date(Date.UTC(Number(m[1]), Number(m[2]) - 1, Number(m[3])));
  return Number.isNaN(d.getTime()) ? null : d;
}

/** null when the instance is gone from the PACS or lacks its UIDs; throws OrthancUnavailable when the PACS is down. */
export function createSourceIdentityLookup(orthanc: Pick<OrthancRest, "tags">) {
  return async (orthancInstanceId: string): Promise<SourceIdentity | null> => {
    const tags = await orthanc.tags(orthancInstanceId);
    if (!tags) return null;
    const str = (name: string) => (typeof tags[name] === "string" ? (tags[name] as string).trim() : "");
    const uid = (name: string) => (UID.test(str(name)) && str(name).length <= 64 ? str(name) : null);
    const study = uid("StudyInstanceUID");
    const series = uid("SeriesInstanceUID");
    const sop = uid("SOPInstanceUID");
    if (!study || !series || !sop) return null;
    return {
      studyInstanceUid: study,
      seriesInstanceUid: series,
      sopInstanceUid: sop,
      sopClassUid: uid("SOPClassUID"),
      patientId: str("PatientID").slice(0, 64) || null,
      patientName: str("PatientName").slice(0, 64) || null,
      accession: str("AccessionNumber").slice(0, 16) || null,
      studyDate: dicomDate(str("StudyDate")),
    };
  };
}

export type SourceIdentityLookup = ReturnType<typeof createSourceIdentityLookup>;

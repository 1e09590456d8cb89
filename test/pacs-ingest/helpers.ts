// Building and sending test instances: copies of the frontal chest CR fixture with new UIDs and changed attributes
// (dcmtk's dcmodify), sent to Orthanc with dcmtk's storescu under a chosen calling AE title.
import { execFileSync } from "node:child_process";
import { copyFileSync } from "node:fs";
import { join } from "node:path";
import type { OrthancHandle } from "../../lib/stack/orthanc.ts";

const FIXTURE = join(import.meta.dirname, "../fixtures/images/siim_cr_chest_pa_mono2.dcm");

/** A copy of the frontal chest fixture in `dir` with new study/series/instance UIDs and `modify` applied. */
export function variant(dir: string, name: string, modify: string[]): string {
  const path = join(dir, `${name}.dcm`);
  copyFileSync(FIXTURE, path);
  execFileSync("dcmodify", ["-nb", "-gst", "-gse", "-gin", ...modify.flatMap((m) => ["-m", m]), path]);
  return path;
}

export function storescu(orthanc: OrthancHandle, callingAet: string, files: string[]): void {
  // -xy: propose JPEG baseline (the fixture is JPEG-compressed), which Orthanc accepts as is
  execFileSync("storescu", ["-xy", "-aet", callingAet, "-aec", orthanc.aeTitle, "127.0.0.1", String(orthanc.dicomPort), ...files]);
}

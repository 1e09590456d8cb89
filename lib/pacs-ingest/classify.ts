// Which instances the platform analyses: frontal CR/DX chest radiographs. Decided from Orthanc's tags before the
// file is fetched, so a lateral, a non-chest or a non-image instance costs no download and no decode.

export type SkipReason =
  | "UNKNOWN_SOURCE"
  | "TOO_LARGE"
  | "NOT_IMAGE"
  | "MODALITY_NOT_SUPPORTED"
  | "NOT_CHEST"
  | "LATERAL"
  | "UNDECODABLE"
  | "GONE"
  | "FAILED";

const NON_IMAGE_MODALITIES = new Set(["SR", "PR", "KO", "DOC", "REG", "SEG", "RTSTRUCT"]);
const RADIOGRAPHY = new Set(["CR", "DX"]);
const LATERAL = new Set(["LL", "RL", "LATERAL", "LAT"]);

function tag(tags: Record<string, unknown>, name: string): string {
  const value = tags[name];
  return typeof value === "string" ? value.trim().toUpperCase() : "";
}

/** null: analyse it; otherwise why it is skipped. */
export function classifyInstance(tags: Record<string, unknown>): SkipReason | null {
  const modality = tag(tags, "Modality");
  // no Rows: no image (an SR or other document object under an unexpected modality)
  if (NON_IMAGE_MODALITIES.has(modality) || !tag(tags, "Rows")) return "NOT_IMAGE";
  if (!RADIOGRAPHY.has(modality)) return "MODALITY_NOT_SUPPORTED";
  const bodyPart = tag(tags, "BodyPartExamined");
  if (bodyPart && bodyPart !== "CHEST") return "NOT_CHEST";
  if (LATERAL.has(tag(tags, "ViewPosition"))) return "LATERAL";
  return null;
}

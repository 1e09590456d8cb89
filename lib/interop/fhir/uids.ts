import { createHash } from "node:crypto";

/**
 * A stable DICOM UID under the 2.25 root (ISO/IEC 9834-8: a 128-bit number as decimal) derived from a
 * platform id, for studies that arrived without one (HTTP uploads). Same input, same UID, so repeated
 * exports of one study agree.
 */
export function derivedUid(kind: string, id: string): string {
  const digest = createHash("sha256").update(`${kind}:${id}`).digest().subarray(0, 16);
  return `2.25.${BigInt(`0x${digest.toString("hex")}`).toString(10)}`;
}

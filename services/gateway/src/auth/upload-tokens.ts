// Upload ids: `POST /upload` stores the bytes (content-addressed) and returns an id that carries what the
// image row needs, signed with the gateway's secret and bound to the uploader's tenant. attachImage trusts
// only a valid signature for the caller's own tenant, so an id cannot be forged or reused across tenants,
// and any replica can attach an upload received by another (no shared upload table needed).
import { createHmac, timingSafeEqual } from "node:crypto";

export interface UploadClaims {
  tid: string;
  sha256: string;
  format: "PNG" | "JPEG" | "DICOM";
  width: number;
  height: number;
  bytes: number;
  bitsStored: number;
  photometric: string | null;
  originalKey: string;
  displayKey: string;
  /** the analysis copy's key; absent in ids issued before analysis copies, null when the store keeps none */
  analysisKey?: string | null;
  viewPosition: string | null;
  studyInstanceUid: string | null;
  seriesInstanceUid: string | null;
  sopInstanceUid: string | null;
  /** expires at, seconds */
  exp: number;
}

const PREFIX = "up1";

function mac(data: string, secret: string): string {
  return createHmac("sha256", secret).update(`upload:${data}`).digest("base64url");
}

export function issueUploadId(claims: Omit<UploadClaims, "exp">, secret: string, ttlSeconds: number, now = Date.now()) {
  const body: UploadClaims = { ...claims, exp: Math.floor(now / 1000) + ttlSeconds };
  const data = `${PREFIX}.${Buffer.from(JSON.stringify(body)).toString("base64url")}`;
  return `${data}.${mac(data, secret)}`;
}

export function verifyUploadId(id: string, secret: string, now = Date.now()): UploadClaims | null {
  const parts = id.split(".");
  if (parts.length !== 3 || parts[0] !== PREFIX) return null;
  const expected = Buffer.from(mac(`${parts[0]}.${parts[1]}`, secret));
  const given = Buffer.from(parts[2]!);
  if (expected.length !== given.length || !timingSafeEqual(expected, given)) return null;
  try {
    const claims = JSON.parse(Buffer.from(parts[1]!, "base64url").toString("utf8")) as UploadClaims;
    return claims.exp * 1000 > now ? claims : null;
  } catch {
    return null;
  }
}

// Bearer tokens for people: `v2.<payload>.<signature>`, payload = base64url JSON, signature = HMAC-SHA256
// over "v2.<payload>" with the gateway's token secret. The signature proves the claims; the session the token
// names (`sid`, a Session row) and the user row are re-read on each request, so logout, revocation, a disabled
// user or a changed role take effect at once on every replica. v1 tokens (no session) are no longer accepted.
import { createHmac, timingSafeEqual } from "node:crypto";

export interface TokenClaims {
  /** user id */
  sub: string;
  /** tenant id */
  tid: string;
  /** session id (Session row): revoked at logout or by an admin */
  sid: string;
  /** issued at, seconds */
  iat: number;
  /** expires at, seconds */
  exp: number;
}

const VERSION = "v2";

function sign(data: string, secret: string): string {
  return createHmac("sha256", secret).update(data).digest("base64url");
}

export function issueToken(claims: Omit<TokenClaims, "iat" | "exp">, secret: string, ttlSeconds: number, now = Date.now()): string {
  const iat = Math.floor(now / 1000);
  const body: TokenClaims = { ...claims, iat, exp: iat + ttlSeconds };
  const payload = Buffer.from(JSON.stringify(body)).toString("base64url");
  const data = `${VERSION}.${payload}`;
  return `${data}.${sign(data, secret)}`;
}

/** Returns the claims of a valid, unexpired token, or null for anything else (never throws). */
export function verifyToken(token: string, secret: string, now = Date.now()): TokenClaims | null {
  const parts = token.split(".");
  if (parts.length !== 3 || parts[0] !== VERSION) return null;
  const [version, payload, signature] = parts as [string, string, string];
  const expected = Buffer.from(sign(`${version}.${payload}`, secret));
  const given = Buffer.from(signature);
  if (expected.length !== given.length || !timingSafeEqual(expected, given)) return null;
  try {
    const claims = JSON.parse(Buffer.from(payload, "base64url").toString("utf8")) as Partial<TokenClaims>;
    if (
      typeof claims.sub !== "string" ||
      typeof claims.tid !== "string" ||
      typeof claims.sid !== "string" ||
      typeof claims.exp !== "number"
    )
      return null;
    if (claims.exp * 1000 <= now) return null;
    return claims as TokenClaims;
  } catch {
    return null;
  }
}

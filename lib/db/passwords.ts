// Password hashing (scrypt, salted, parameters stored with the hash) and API keys (random, stored as sha256).
import { randomBytes, scrypt as scryptCallback, timingSafeEqual, createHash } from "node:crypto";
import { promisify } from "node:util";

const scrypt = promisify(scryptCallback) as (password: string, salt: Buffer, keylen: number, options: object) => Promise<Buffer>;
const N = 16384;
const R = 8;
const P = 1;
const KEY_LENGTH = 32;

/** Format: scrypt$N$r$p$salt(base64)$hash(base64) */
export async function hashPassword(password: string): Promise<string> {
  const salt = randomBytes(16);
  const hash = await scrypt(password, salt, KEY_LENGTH, { N, r: R, p: P, maxmem: 64 * 1024 * 1024 });
  return ["scrypt", N, R, P, salt.toString("base64"), hash.toString("base64")].join("$");
}

/**
 * Unknown and disabled accounts are checked against this stand-in (same scrypt parameters as every stored hash,
 * random salt and digest that no password produces in practice), so that a login costs one scrypt run whether
 * or not the account exists: the response time does not tell which e-mails have accounts.
 */
export const DUMMY_PASSWORD_HASH = ["scrypt", N, R, P, "NyvhlMMFzkMliuovBXxvQg==", "RMmcXCvGK8twg41vgruOCOWOPx47uHDiIubLr/FmUeg="].join(
  "$",
);

export async function verifyPassword(password: string, stored: string): Promise<boolean> {
  const parts = stored.split("$");
  if (parts.length !== 6 || parts[0] !== "scrypt") return false;
  const [, n, r, p, saltB64, hashB64] = parts as [string, string, string, string, string, string];
  const expected = Buffer.from(hashB64, "base64");
  const actual = await scrypt(password, Buffer.from(saltB64, "base64"), expected.length, {
    N: Number(n),
    r: Number(r),
    p: Number(p),
    maxmem: 64 * 1024 * 1024,
  });
  return actual.length === expected.length && timingSafeEqual(actual, expected);
}

export const API_KEY_PREFIX_LENGTH = 12;

export function hashApiKey(key: string): string {
  return createHash("sha256").update(key).digest("hex");
}

/** A new API key: `gk_` + 40 url-safe random characters. The prefix (first 12 chars) is stored for lookup. */
export function generateApiKey(): { key: string; prefix: string; keyHash: string } {
  const key = `gk_${randomBytes(30).toString("base64url")}`;
  return { key, prefix: key.slice(0, API_KEY_PREFIX_LENGTH), keyHash: hashApiKey(key) };
}

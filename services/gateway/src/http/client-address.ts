// The caller's address, for per-address login limits and the audit trail. The socket's peer, or, when the
// gateway is told it runs behind a proxy (GATEWAY_TRUST_PROXY=true), the last hop of X-Forwarded-For (the
// address our proxy saw; earlier hops are the client's to invent). IPv4-mapped IPv6 reads as IPv4; an IPv6
// address counts as its /64 (one host usually owns a whole /64, so single addresses are free to rotate).
import type { IncomingMessage } from "node:http";
import { isIP } from "node:net";

function expandIPv6(address: string): string[] | null {
  const [head = "", tail] = address.split("::");
  const left = head ? head.split(":") : [];
  const right = tail ? tail.split(":") : [];
  if (tail === undefined && left.length !== 8) return null;
  const groups = [...left, ...Array(Math.max(0, 8 - left.length - right.length)).fill("0"), ...right];
  return groups.length === 8 ? groups.map((g) => g.toLowerCase().padStart(4, "0")) : null;
}

export function normaliseAddress(raw: string | undefined | null): string | null {
  const address =
    raw
      ?.trim()
      .replace(/^\[|\]$/g, "")
      .split("%")[0] ?? "";
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(address);
  if (mapped) return mapped[1]!;
  const family = isIP(address);
  if (family === 4) return address;
  if (family !== 6) return null;
  const groups = expandIPv6(address);
  return groups ? `${groups.slice(0, 4).join(":")}::/64` : null;
}

export function clientAddress(req: IncomingMessage, trustProxy: boolean): string | null {
  if (trustProxy) {
    const header = req.headers["x-forwarded-for"];
    const hops = (Array.isArray(header) ? header.join(",") : (header ?? ""))
      .split(",")
      .map((h) => h.trim())
      .filter(Boolean);
    const last = normaliseAddress(hops.at(-1));
    if (last) return last;
  }
  return normaliseAddress(req.socket.remoteAddress);
}

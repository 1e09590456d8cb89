// Where tenant-set deliveries may go. A tenant ADMIN names the HL7 (MLLP) and FHIR endpoints their reports are
// pushed to; without a limit that is a way to make the gateway connect anywhere it can reach (the cloud metadata
// address, the database, other tenants' services). The platform operator lists what is allowed
// (DELIVERY_EGRESS_ALLOW); nothing is allowed by default. The PACS is the operator's own setting and not checked.
//
// Rules: a host name (`ris.hospital.org`), a wildcard suffix (`*.hospital.org`), an IP address or a CIDR block
// (`10.20.0.0/16`, `fd00::/8`), each optionally with `:port` (IPv6 with a port: `[fd00::1]:2575`). A host name a
// tenant gives that no name rule covers is allowed only when every address it resolves to is inside an IP rule.
import { lookup } from "node:dns/promises";
import { BlockList, isIP } from "node:net";

export interface EgressRule {
  text: string;
  port: number | null;
  name?: { exact: string } | { suffix: string };
  block?: BlockList;
}

export interface EgressDecision {
  allowed: boolean;
  /** why not, for the person who set the endpoint (never the resolved addresses of other names) */
  reason?: string;
}

export interface EgressPolicy {
  readonly rules: readonly EgressRule[];
  check(host: string, port: number): Promise<EgressDecision>;
}

const NAME = /^(?:\*\.)?(?=.{1,253}$)[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?(?:\.[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?)*$/;

function splitPort(text: string): { host: string; port: string | null } {
  const bracketed = /^\[([^\]]+)\](?::(\d+))?$/.exec(text);
  if (bracketed) return { host: bracketed[1]!, port: bracketed[2] ?? null };
  // a bare IPv6 address (possibly with a prefix length) has no port
  if (text.split(":").length > 2) return { host: text, port: null };
  const [host, port] = text.split(":");
  return { host: host!, port: port ?? null };
}

function family(address: string): "ipv4" | "ipv6" {
  return isIP(address) === 6 ? "ipv6" : "ipv4";
}

/** Parse the operator's list; every entry that is not a rule is reported (config fails at start with all of them). */
export function parseEgressRules(entries: readonly string[]): { rules: EgressRule[]; problems: string[] } {
  const rules: EgressRule[] = [];
  const problems: string[] = [];
  for (const raw of entries) {
    const text = raw.trim().toLowerCase();
    if (!text) continue;
    const { host, port: portText } = splitPort(text);
    const port = portText === null ? null : Number(portText);
    if (port !== null && (!Number.isInteger(port) || port < 1 || port > 65535)) {
      problems.push(`"${raw}": the port must be 1-65535`);
      continue;
    }
    const [address, prefixText] = host.split("/");
    if (isIP(address!)) {
      const block = new BlockList();
      const bits = prefixText === undefined ? (isIP(address!) === 6 ? 128 : 32) : Number(prefixText);
      const max = isIP(address!) === 6 ? 128 : 32;
      if (!Number.isInteger(bits) || bits < 0 || bits > max) {
        problems.push(`"${raw}": the prefix length must be 0-${max}`);
        continue;
      }
      block.addSubnet(address!, bits, family(address!));
      rules.push({ text, port, block });
    } else if (prefixText === undefined && NAME.test(host)) {
      rules.push({ text, port, name: host.startsWith("*.") ? { suffix: host.slice(1) } : { exact: host } });
    } else problems.push(`"${raw}": not a host name, *.suffix, IP address or CIDR block`);
  }
  return { rules, problems };
}

const portMatches = (rule: EgressRule, port: number) => rule.port === null || rule.port === port;

function addressAllowed(rules: readonly EgressRule[], address: string, port: number): boolean {
  const plain = address.replace(/^\[|\]$/g, "");
  // IPv4-mapped IPv6 (::ffff:10.0.0.1) is judged as the IPv4 address it is
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(plain)?.[1];
  const candidate = mapped ?? plain;
  return rules.some((r) => r.block && portMatches(r, port) && r.block.check(candidate, family(candidate)));
}

export function createEgressPolicy(
  rules: readonly EgressRule[],
  resolve: (host: string) => Promise<string[]> = async (host) => (await lookup(host, { all: true })).map((a) => a.address),
): EgressPolicy {
  return {
    rules,
    async check(rawHost, port) {
      const host = rawHost.trim().toLowerCase().replace(/\.$/, "");
      if (rules.length === 0)
        return { allowed: false, reason: "no delivery endpoints are allowed on this platform (DELIVERY_EGRESS_ALLOW)" };
      if (isIP(host.replace(/^\[|\]$/g, ""))) {
        return addressAllowed(rules, host, port)
          ? { allowed: true }
          : { allowed: false, reason: `${rawHost}:${port} is not in the platform's allowed delivery endpoints` };
      }
      const named = rules.some(
        (r) => r.name && portMatches(r, port) && ("exact" in r.name ? r.name.exact === host : host.endsWith(r.name.suffix)),
      );
      if (named) return { allowed: true };
      let addresses: string[];
      try {
        addresses = await resolve(host);
      } catch {
        return { allowed: false, reason: `${rawHost} does not resolve` };
      }
      if (addresses.length > 0 && addresses.every((a) => addressAllowed(rules, a, port))) return { allowed: true };
      return { allowed: false, reason: `${rawHost}:${port} is not in the platform's allowed delivery endpoints` };
    },
  };
}

/** host and port of a FHIR base URL (default ports by scheme) */
export function endpointOfUrl(url: string): { host: string; port: number } {
  const u = new URL(url);
  return { host: u.hostname, port: u.port ? Number(u.port) : u.protocol === "https:" ? 443 : 80 };
}

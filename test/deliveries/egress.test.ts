// Where tenant-set HL7/FHIR deliveries may go (lib/deliveries/egress.ts): the operator's allow-list, parsed once,
// checked for literal addresses, names and what names resolve to. A stand-in resolver keeps these unit tests off
// the network; the real one (dns.lookup) is used by the gateway tests.
import assert from "node:assert/strict";
import { test } from "node:test";
import { createEgressPolicy, endpointOfUrl, parseEgressRules } from "../../lib/deliveries/egress.ts";
import { ConfigError } from "../../lib/errors/index.ts";
import { loadGatewayConfig } from "../../services/gateway/src/config.ts";

const dns: Record<string, string[]> = {
  "ris.hospital.org": ["10.20.1.5"],
  "rebound.example": ["169.254.169.254"],
  "split.example": ["10.20.1.6", "192.168.1.1"],
  "v6.example": ["fd00::17"],
};
const resolve = async (host: string) => {
  const found = dns[host];
  if (!found) throw new Error("ENOTFOUND");
  return found;
};
const policy = (...rules: string[]) => {
  const parsed = parseEgressRules(rules);
  assert.deepEqual(parsed.problems, []);
  return createEgressPolicy(parsed.rules, resolve);
};

test("nothing is allowed without rules, not even loopback", async () => {
  const decision = await createEgressPolicy([], resolve).check("127.0.0.1", 2575);
  assert.equal(decision.allowed, false);
  assert.match(decision.reason ?? "", /DELIVERY_EGRESS_ALLOW/);
});

test("CIDR and address rules, with and without a port, judge literal addresses", async () => {
  const p = policy("10.20.0.0/16:2575", "127.0.0.1", "fd00::/8");
  assert.equal((await p.check("10.20.9.9", 2575)).allowed, true);
  assert.equal((await p.check("10.20.9.9", 5432)).allowed, false, "another port");
  assert.equal((await p.check("10.21.0.1", 2575)).allowed, false, "outside the block");
  assert.equal((await p.check("127.0.0.1", 5432)).allowed, true, "no port in the rule: any port");
  assert.equal((await p.check("169.254.169.254", 80)).allowed, false, "the metadata address");
  assert.equal((await p.check("[fd00::1]", 443)).allowed, true);
  assert.equal((await p.check("::ffff:10.20.0.1", 2575)).allowed, true, "IPv4-mapped IPv6 is its IPv4 address");
  assert.equal((await p.check("::ffff:169.254.169.254", 80)).allowed, false);
});

test("name rules match names; other names are judged by every address they resolve to", async () => {
  const p = policy("*.hospital.org:2575", "fhir.partner.example", "10.20.0.0/16");
  assert.equal((await p.check("ris.hospital.org", 2575)).allowed, true, "wildcard suffix");
  assert.equal((await p.check("RIS.Hospital.org.", 2575)).allowed, true, "case and the root dot do not matter");
  assert.equal((await p.check("hospital.org", 2575)).allowed, false, "*.x does not cover x itself");
  assert.equal((await p.check("evilhospital.org", 2575)).allowed, false, "a suffix is a label boundary");
  assert.equal((await p.check("fhir.partner.example", 443)).allowed, true);
  assert.equal((await p.check("rebound.example", 80)).allowed, false, "resolves to the metadata address");
  assert.equal((await p.check("split.example", 80)).allowed, false, "one of its addresses is outside");
  const unresolved = await p.check("nowhere.example", 80);
  assert.equal(unresolved.allowed, false);
  assert.match(unresolved.reason ?? "", /does not resolve/);
});

test("every malformed rule is reported at once", () => {
  const { rules, problems } = parseEgressRules(["10.0.0.0/33", "host:99999", "bad host!", "ok.example", "fd00::/129", " "]);
  assert.equal(rules.length, 1);
  assert.equal(problems.length, 4);
});

test("a FHIR base URL's endpoint takes the scheme's default port", () => {
  assert.deepEqual(endpointOfUrl("https://fhir.example/r4"), { host: "fhir.example", port: 443 });
  assert.deepEqual(endpointOfUrl("http://10.0.0.1:8080/fhir"), { host: "10.0.0.1", port: 8080 });
});

test("the gateway's config fails at start naming every malformed DELIVERY_EGRESS_ALLOW entry", () => {
  const base = { DATABASE_URL: "postgresql://u@localhost:5432/db", KAFKA_BROKERS: "localhost:9092", AUTH_TOKEN_SECRET: "x".repeat(32) };
  assert.deepEqual(loadGatewayConfig(base).deliveries.egress, [], "unset: nothing allowed");
  assert.equal(loadGatewayConfig({ ...base, DELIVERY_EGRESS_ALLOW: "10.0.0.0/8:2575,*.hospital.org" }).deliveries.egress.length, 2);
  assert.throws(
    () => loadGatewayConfig({ ...base, DELIVERY_EGRESS_ALLOW: "10.0.0.0/40,bad host!" }),
    (error: unknown) =>
      error instanceof ConfigError &&
      /10\.0\.0\.0\/40/.test(error.message) &&
      /bad host!/.test(error.message) &&
      /DELIVERY_EGRESS_ALLOW/.test(error.message),
  );
});

// Demo data: one tenant, one user per human role with known demo passwords, and an API key.
// Idempotent (safe to run on every start). The passwords and key are for local demos only.
import type { Role } from "./generated/client.ts";
import type { Repositories } from "./index.ts";
import { ensureOperator } from "./operators.ts";

export const DEMO_TENANT_SLUG = "demo-hospital";
export const DEMO_API_KEY = "gk_demo_local_only_0123456789abcdefghijkl";
export const DEMO_USERS: { email: string; name: string; role: Role; password: string }[] = [
  { email: "admin@demo.local", name: "Demo Admin", role: "ADMIN", password: "admin-demo-pass" },
  { email: "radiologist@demo.local", name: "Demo Radiologist", role: "RADIOLOGIST", password: "radiologist-demo-pass" },
  { email: "clinician@demo.local", name: "Demo Clinician", role: "CLINICIAN", password: "clinician-demo-pass" },
  { email: "auditor@demo.local", name: "Demo Auditor", role: "AUDITOR", password: "auditor-demo-pass" },
];

/** The demo platform operator: seeded only with the demo data of `npm start`'s embedded database (scripts/main/seed.ts). */
export const DEMO_OPERATOR = {
  email: "operator@demo.local",
  name: "Demo Operator",
  role: "OPERATOR" as Role,
  password: "operator-demo-pass",
};

export async function seedDemoOperator(repos: Repositories): Promise<DemoSeed["users"][number]> {
  const user = await ensureOperator(repos, DEMO_OPERATOR);
  return { id: user.id, email: user.email, role: user.role, password: DEMO_OPERATOR.password };
}

export interface DemoSeed {
  tenantId: string;
  tenantSlug: string;
  users: { id: string; email: string; role: Role; password: string }[];
  apiKey: string;
}

export async function seedDemo(
  repos: Repositories,
  options: { tenantSlug?: string; tenantName?: string; apiKey?: string } = {},
): Promise<DemoSeed> {
  const tenant = await repos.tenants.upsert({ slug: options.tenantSlug ?? DEMO_TENANT_SLUG, name: options.tenantName ?? "Demo Hospital" });
  const users: DemoSeed["users"] = [];
  for (const demo of DEMO_USERS) {
    // a different tenant slug (tests) gets its own e-mail addresses, since e-mails are globally unique
    const email = options.tenantSlug ? demo.email.replace("@", `+${options.tenantSlug}@`) : demo.email;
    const user =
      (await repos.users.findByEmail(email)) ??
      (await repos.users.create({ tenantId: tenant.id, email, name: demo.name, role: demo.role, password: demo.password }));
    users.push({ id: user.id, email, role: user.role, password: demo.password });
  }
  const apiKey = options.apiKey ?? DEMO_API_KEY;
  if (!(await repos.apiKeys.findActiveByKey(apiKey))) {
    await repos.apiKeys.create({ tenantId: tenant.id, name: "demo app", role: "CLINICIAN", key: apiKey });
  }
  return { tenantId: tenant.id, tenantSlug: tenant.slug, users, apiKey };
}

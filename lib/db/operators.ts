// Platform operators (role OPERATOR, above tenants): they activate and retire the models every tenant uses and
// read fleet details, never patient data. They are never created by a tenant: an operator is configured
// explicitly (`node --import tsx scripts/operator.ts`), or, for the demo, seeded into the embedded database only.
// Operators belong to the platform's own tenant (slug "platform"), which holds no hospital's data.
import type { PublicUser } from "./repositories/tenants.ts";
import type { Repositories } from "./index.ts";
import { ConflictError } from "../errors/index.ts";

export const PLATFORM_TENANT_SLUG = "platform";

/** Creates the operator (and the platform tenant) unless it exists; an existing non-operator e-mail is a conflict. */
export async function ensureOperator(repos: Repositories, input: { email: string; name: string; password: string }): Promise<PublicUser> {
  const existing = await repos.users.findByEmail(input.email);
  if (existing) {
    if (existing.role !== "OPERATOR")
      throw new ConflictError(`${input.email} is a ${existing.role} of a tenant, not an operator`, { field: "email" });
    return existing;
  }
  const tenant = await repos.tenants.upsert({ slug: PLATFORM_TENANT_SLUG, name: "Platform operations" });
  return repos.users.create({ tenantId: tenant.id, email: input.email, name: input.name, role: "OPERATOR", password: input.password });
}

// Tenants, users (people, scrypt password hashes) and API keys (apps, sha256 key hashes).
import type { PrismaClient, Role, Tenant, User, ApiKey } from "../generated/client.ts";
import { ConflictError, ValidationError } from "../../errors/index.ts";
import { isUniqueViolation, TX_OPTIONS } from "../client.ts";
import { hashPassword, verifyPassword, generateApiKey, hashApiKey, API_KEY_PREFIX_LENGTH, DUMMY_PASSWORD_HASH } from "../passwords.ts";
import { recordAudit } from "./operations.ts";
import { orderByIds } from "./pagination.ts";

export function createTenantRepository(prisma: PrismaClient) {
  return {
    async create(input: { slug: string; name: string }): Promise<Tenant> {
      try {
        return await prisma.tenant.create({ data: input });
      } catch (error) {
        if (isUniqueViolation(error)) throw new ConflictError(`tenant ${input.slug} already exists`, { field: "slug" });
        throw error;
      }
    },
    async upsert(input: { slug: string; name: string }): Promise<Tenant> {
      return prisma.tenant.upsert({ where: { slug: input.slug }, create: input, update: {} });
    },
    findById: (id: string) => prisma.tenant.findUnique({ where: { id } }),
    findBySlug: (slug: string) => prisma.tenant.findUnique({ where: { slug } }),
    async findManyByIds(ids: readonly string[]): Promise<(Tenant | undefined)[]> {
      return orderByIds(ids, await prisma.tenant.findMany({ where: { id: { in: [...ids] } } }));
    },
  };
}

export type PublicUser = Omit<User, "passwordHash">;

export interface CredentialCheck {
  outcome: "ok" | "unknown-account" | "wrong-password" | "disabled";
  /** the logged-in user (outcome "ok" only) */
  user: PublicUser | null;
  /** the account the e-mail names, when there is one (for the audit trail) */
  account: { id: string; tenantId: string; email: string } | null;
}
const publicUser = { omit: { passwordHash: true } } as const;

export function createUserRepository(prisma: PrismaClient) {
  /**
   * Checks a login with the same work whatever the outcome: one lookup and one scrypt run (against a stand-in
   * hash when there is no account), so neither the answer nor the time tells whether the e-mail has an account.
   * `account` names an existing account (disabled or not) for the audit trail; `user` is set only on success.
   */
  async function checkCredentials(email: string, password: string): Promise<CredentialCheck> {
    const found = await prisma.user.findUnique({ where: { email: email.toLowerCase() } });
    const matches = await verifyPassword(password, found?.passwordHash ?? DUMMY_PASSWORD_HASH);
    if (!found) return { outcome: "unknown-account", user: null, account: null };
    const account = { id: found.id, tenantId: found.tenantId, email: found.email };
    if (!matches) return { outcome: "wrong-password", user: null, account };
    if (found.disabled) return { outcome: "disabled", user: null, account };
    const user = await prisma.user.update({ where: { id: found.id }, data: { lastLoginAt: new Date() }, ...publicUser });
    return { outcome: "ok", user, account };
  }

  return {
    async create(input: { tenantId: string; email: string; name: string; role: Role; password: string }): Promise<PublicUser> {
      if (input.password.length < 8) throw new ValidationError("password must have at least 8 characters", { field: "password" });
      try {
        return await prisma.user.create({
          data: {
            tenantId: input.tenantId,
            email: input.email.toLowerCase(),
            name: input.name,
            role: input.role,
            passwordHash: await hashPassword(input.password),
          },
          ...publicUser,
        });
      } catch (error) {
        if (isUniqueViolation(error)) throw new ConflictError(`a user with email ${input.email} exists`, { field: "email" });
        throw error;
      }
    },
    findById: (id: string) => prisma.user.findUnique({ where: { id }, ...publicUser }),
    /** The tenant's user; another tenant's reads as unknown. */
    findInTenant: (tenantId: string, id: string) => prisma.user.findFirst({ where: { id, tenantId }, ...publicUser }),
    findByEmail: (email: string) => prisma.user.findUnique({ where: { email: email.toLowerCase() }, ...publicUser }),
    async findManyByIds(ids: readonly string[]): Promise<(PublicUser | undefined)[]> {
      return orderByIds(ids, await prisma.user.findMany({ where: { id: { in: [...ids] } }, ...publicUser }));
    },
    async findManyInTenant(tenantId: string, ids: readonly string[]): Promise<(PublicUser | undefined)[]> {
      return orderByIds(ids, await prisma.user.findMany({ where: { tenantId, id: { in: [...ids] } }, ...publicUser }));
    },
    listByTenant: (tenantId: string) => prisma.user.findMany({ where: { tenantId }, orderBy: { email: "asc" }, ...publicUser }),
    checkCredentials,
    /** The user when email and password match and the user is enabled, else null (same answer for both cases). */
    async verifyCredentials(email: string, password: string): Promise<PublicUser | null> {
      return (await checkCredentials(email, password)).user;
    },
  };
}

export const PASSWORD_MIN = 12;
export const PASSWORD_MAX = 256;

/**
 * Account changes that must end the sessions issued before them: a new password (every session but the caller's)
 * and a new role (every session of the user). The change, the revocations and the audit event commit together.
 */
export function createAccountRepository(prisma: PrismaClient) {
  return {
    async setPassword(input: { userId: string; tenantId: string; password: string; keepSessionId: string | null; actor: string }) {
      const passwordHash = await hashPassword(input.password);
      return prisma.$transaction(async (tx) => {
        await tx.user.update({ where: { id: input.userId }, data: { passwordHash } });
        const now = new Date();
        const revoked = await tx.session.findMany({
          where: {
            userId: input.userId,
            revokedAt: null,
            expiresAt: { gt: now },
            ...(input.keepSessionId ? { id: { not: input.keepSessionId } } : {}),
          },
          select: { id: true },
        });
        await tx.session.updateMany({ where: { id: { in: revoked.map((s) => s.id) } }, data: { revokedAt: now, revokedBy: input.actor } });
        await recordAudit(tx, {
          tenantId: input.tenantId,
          actor: input.actor,
          action: "user.password.change",
          targetType: "User",
          targetId: input.userId,
          details: { revokedSessions: revoked.length },
        });
        return revoked.map((s) => s.id);
      }, TX_OPTIONS);
    },
    /** Null when the user is not in the tenant. */
    async setRole(input: { userId: string; tenantId: string; role: Role; actor: string }) {
      return prisma.$transaction(async (tx) => {
        const user = await tx.user.findFirst({ where: { id: input.userId, tenantId: input.tenantId }, select: { id: true, role: true } });
        if (!user) return null;
        await tx.user.update({ where: { id: user.id }, data: { role: input.role } });
        const now = new Date();
        const { count } = await tx.session.updateMany({
          where: { userId: user.id, revokedAt: null, expiresAt: { gt: now } },
          data: { revokedAt: now, revokedBy: input.actor },
        });
        await recordAudit(tx, {
          tenantId: input.tenantId,
          actor: input.actor,
          action: "user.role.change",
          targetType: "User",
          targetId: user.id,
          details: { from: user.role, to: input.role, revokedSessions: count },
        });
        return { previous: user.role, revoked: count };
      }, TX_OPTIONS);
    },
  };
}

export function createApiKeyRepository(prisma: PrismaClient) {
  return {
    /** Creates a key; the plain key is returned once and never stored. `key` may be given (demo seeds). */
    async create(input: { tenantId: string; name: string; role: Role; key?: string }): Promise<{ apiKey: ApiKey; key: string }> {
      const generated = input.key
        ? { key: input.key, prefix: input.key.slice(0, API_KEY_PREFIX_LENGTH), keyHash: hashApiKey(input.key) }
        : generateApiKey();
      const apiKey = await prisma.apiKey.create({
        data: { tenantId: input.tenantId, name: input.name, role: input.role, prefix: generated.prefix, keyHash: generated.keyHash },
      });
      return { apiKey, key: generated.key };
    },
    /** The active (not revoked) key record for a presented key, or null. */
    async findActiveByKey(key: string): Promise<ApiKey | null> {
      const found = await prisma.apiKey.findUnique({ where: { keyHash: hashApiKey(key) } });
      return found && !found.revokedAt ? found : null;
    },
    /** Records a use unless one was recorded after `cutoff` (conditional: replicas together write about once). */
    async recordUse(id: string, cutoff: Date, now: Date): Promise<void> {
      await prisma.apiKey.updateMany({
        where: { id, OR: [{ lastUsedAt: null }, { lastUsedAt: { lte: cutoff } }] },
        data: { lastUsedAt: now },
      });
    },
    async revoke(tenantId: string, id: string): Promise<boolean> {
      const { count } = await prisma.apiKey.updateMany({ where: { id, tenantId, revokedAt: null }, data: { revokedAt: new Date() } });
      return count === 1;
    },
    listByTenant: (tenantId: string) => prisma.apiKey.findMany({ where: { tenantId }, orderBy: { createdAt: "desc" } }),
  };
}

// Account changes that end earlier sessions (issue 14, finding 7): a user's new password revokes their other
// sessions; a tenant admin's change of a user's role revokes all of that user's sessions, so nobody keeps acting
// with a role or a password that is no longer theirs. Revocations are announced here at once (open WebSockets
// close); the change, the revocations and the audit event commit in one transaction (lib/db accounts).
import { PASSWORD_MAX, PASSWORD_MIN } from "../../../../../lib/db/repositories/tenants.ts";
import type { MutationResolvers } from "../../generated/resolvers.ts";
import { caller, type GatewayContext } from "../context.ts";
import { userError } from "../errors.ts";

const NOT_BY_TENANT = new Set(["OPERATOR", "WORKER"]);

export const accountMutations: Pick<MutationResolvers<GatewayContext>, "changePassword" | "setUserRole"> = {
  changePassword: async (_p, { currentPassword, newPassword }, ctx) => {
    const refused = (
      message: string,
      field: string,
      code: "VALIDATION" | "RATE_LIMITED" = "VALIDATION",
      retryAfterSeconds: number | null = null,
    ) => ({
      changed: false,
      revokedSessions: 0,
      retryAfterSeconds,
      errors: [userError(code, message, field)],
    });
    const who = caller(ctx);
    if (who.kind !== "user") return refused("API keys have no password: an admin creates a new key instead.", "currentPassword");
    if (newPassword.length < PASSWORD_MIN || newPassword.length > PASSWORD_MAX) {
      return refused(`The new password must have ${PASSWORD_MIN} to ${PASSWORD_MAX} characters.`, "newPassword");
    }
    if (newPassword === currentPassword) return refused("The new password must differ from the current one.", "newPassword");
    // the same throttle and equal-work check as login: this mutation is no side door for guessing passwords
    const verdict = await ctx.services.loginThrottle.reserve(who.email, ctx.clientAddress);
    if (!verdict.ok) {
      return refused(
        `Too many wrong passwords: try again in ${verdict.retryAfterSeconds} s.`,
        "currentPassword",
        "RATE_LIMITED",
        verdict.retryAfterSeconds,
      );
    }
    const check =
      currentPassword.length <= 1024
        ? await ctx.services.passwordChecks.run(["password"], () => ctx.services.repos.users.checkCredentials(who.email, currentPassword))
        : null;
    if (!check?.user || check.user.id !== who.id) {
      await ctx.services.audit(ctx, "user.password.change.failed", "User", who.id, { requestId: ctx.requestId });
      return refused("The current password is wrong.", "currentPassword");
    }
    await ctx.services.loginThrottle.succeeded(verdict);
    const revoked = await ctx.services.repos.accounts.setPassword({
      userId: who.id,
      tenantId: who.tenantId,
      password: newPassword,
      keepSessionId: who.sessionId,
      actor: who.actor,
    });
    if (revoked.length) ctx.services.revocations.announce({ sessionIds: revoked });
    return { changed: true, revokedSessions: revoked.length, retryAfterSeconds: null, errors: [] };
  },

  setUserRole: async (_p, { userId, role }, ctx) => {
    const who = caller(ctx);
    const refused = (code: "VALIDATION" | "NOT_FOUND" | "FORBIDDEN", message: string, field: string) => ({
      userId: null,
      role: null,
      revokedSessions: 0,
      errors: [userError(code, message, field)],
    });
    if (NOT_BY_TENANT.has(role)) return refused("FORBIDDEN", `A tenant admin cannot grant the ${role} role.`, "role");
    if (who.kind === "user" && userId === who.id) return refused("VALIDATION", "Admins cannot change their own role.", "userId");
    const target = await ctx.services.repos.users.findInTenant(who.tenantId, userId);
    // another tenant's user reads as unknown, like any other object of another tenant
    if (!target) return refused("NOT_FOUND", `User ${userId} not found.`, "userId");
    if (NOT_BY_TENANT.has(target.role)) return refused("FORBIDDEN", `A tenant admin cannot change the role of a ${target.role}.`, "userId");
    const changed = await ctx.services.repos.accounts.setRole({ userId, tenantId: who.tenantId, role, actor: who.actor });
    if (!changed) return refused("NOT_FOUND", `User ${userId} not found.`, "userId");
    ctx.services.revocations.announce({ userId });
    return { userId, role, revokedSessions: changed.revoked, errors: [] };
  },
};

// Mutations about sessions: login (auth/login.ts), logout (revokes the token of the request) and revokeSessions
// (an ADMIN, or an OPERATOR for their own tenant, revokes every session of a user of the tenant). Revocations are
// announced on this replica at once, so open WebSockets of those sessions close (ws-sessions.ts).
import type { MutationResolvers } from "../../generated/resolvers.ts";
import { caller, type GatewayContext } from "../context.ts";
import { userError } from "../errors.ts";
import { login } from "../../auth/login.ts";

export const sessionMutations: Pick<MutationResolvers<GatewayContext>, "login" | "logout" | "revokeSessions"> = {
  login: (_p, { email, password }, ctx) => login(ctx, email, password),

  logout: async (_p, _a, ctx) => {
    const who = caller(ctx);
    if (who.kind !== "user" || !who.sessionId) {
      return {
        revoked: false,
        errors: [userError("VALIDATION", "API keys do not log out: an admin revokes a key that is no longer wanted.")],
      };
    }
    const revoked = await ctx.services.repos.sessions.revoke(who.sessionId, who.id, who.actor);
    if (revoked) {
      ctx.services.revocations.announce({ sessionIds: [who.sessionId] });
      await ctx.services.audit(ctx, "user.logout", "User", who.id, { sessionId: who.sessionId });
    }
    return { revoked, errors: [] };
  },

  revokeSessions: async (_p, { userId }, ctx) => {
    const who = caller(ctx);
    // another tenant's user reads as unknown, like any other object of another tenant
    const user = await ctx.services.repos.users.findInTenant(who.tenantId, userId);
    if (!user) return { revoked: 0, errors: [userError("NOT_FOUND", `User ${userId} not found.`, "userId")] };
    const revoked = await ctx.services.repos.sessions.revokeAllOfUser(user.id, who.actor);
    ctx.services.revocations.announce({ userId: user.id });
    await ctx.services.audit(ctx, "user.sessions.revoke", "User", user.id, { revoked });
    return { revoked, errors: [] };
  },
};

// Login sessions: every bearer token names a Session row, checked on every request. Revoking marks the row;
// rows are kept a while past their expiry (the audit trail names them), then pruned.
import type { PrismaClient, User } from "../generated/client.ts";

export function createSessionRepository(prisma: PrismaClient) {
  return {
    open: (input: { tenantId: string; userId: string; expiresAt: Date }) => prisma.session.create({ data: input }),
    async pruneExpiredBefore(before: Date): Promise<number> {
      return (await prisma.session.deleteMany({ where: { expiresAt: { lt: before } } })).count;
    },
    /** Revokes one open session of a user; false when it was already revoked (or is not theirs). */
    async revoke(sessionId: string, userId: string, actor: string): Promise<boolean> {
      const { count } = await prisma.session.updateMany({
        where: { id: sessionId, userId, revokedAt: null },
        data: { revokedAt: new Date(), revokedBy: actor },
      });
      return count === 1;
    },
    /** Revokes every open session of a user; returns how many were open. */
    async revokeAllOfUser(userId: string, actor: string, now = new Date()): Promise<number> {
      const { count } = await prisma.session.updateMany({
        where: { userId, revokedAt: null, expiresAt: { gt: now } },
        data: { revokedAt: now, revokedBy: actor },
      });
      return count;
    },
    /** The enabled user of a token's claims, if its session is open (not revoked, not expired). */
    userOfOpenSession: (claims: { userId: string; tenantId: string; sessionId: string }, now: Date): Promise<User | null> =>
      prisma.user.findFirst({
        where: {
          id: claims.userId,
          tenantId: claims.tenantId,
          disabled: false,
          sessions: { some: { id: claims.sessionId, revokedAt: null, expiresAt: { gt: now } } },
        },
      }),
  };
}

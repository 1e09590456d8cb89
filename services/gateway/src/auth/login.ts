// The `login` mutation (issue 14, finding 7a-c): throttled per account and per client address (auth/throttle.ts),
// the same password-hash work for unknown and disabled accounts as for known ones (users.checkCredentials), and
// every failure audited without the attempted password: in the account's tenant with its e-mail when the account
// exists, else in the platform scope (tenantId null, operators only) with a keyed hash of the e-mail.
// Whatever failed, the caller reads the same answer ("Email or password is wrong.").
import type { GatewayContext } from "../graphql/context.ts";
import { userError, type UserError } from "../graphql/errors.ts";
import type { ViewerModel } from "../graphql/models.ts";
import { emailDigest } from "./throttle.ts";
import { openSession } from "./sessions.ts";

export interface LoginResult {
  token: string | null;
  viewer: ViewerModel | null;
  retryAfterSeconds: number | null;
  errors: UserError[];
}

const WRONG: LoginResult = {
  token: null,
  viewer: null,
  retryAfterSeconds: null,
  errors: [userError("VALIDATION", "Email or password is wrong.", "password")],
};

export async function login(ctx: GatewayContext, email: string, password: string): Promise<LoginResult> {
  if (!email || !password || email.length > 320 || password.length > 1024) return WRONG;
  const { services, config, logger, requestId, clientAddress } = ctx;
  const secret = config.auth.tokenSecret;
  const verdict = await services.loginThrottle.reserve(email, clientAddress);
  if (!verdict.ok) {
    logger.info("login refused: too many failures", { requestId, address: clientAddress, retryAfterSeconds: verdict.retryAfterSeconds });
    const message = `Too many failed logins for this account or from this address: try again in ${verdict.retryAfterSeconds} s.`;
    return {
      token: null,
      viewer: null,
      retryAfterSeconds: verdict.retryAfterSeconds,
      errors: [userError("RATE_LIMITED", message, "email")],
    };
  }
  const check = await services.passwordChecks.run(["password"], () => services.repos.users.checkCredentials(email, password));
  if (!check.user) {
    const details = { requestId, address: clientAddress, reason: check.outcome, lockedForSeconds: verdict.lockedForSeconds };
    if (check.account) {
      await ctx.services.repos.audit.record({
        tenantId: check.account.tenantId,
        actor: "anonymous",
        action: "user.login.failed",
        targetType: "User",
        targetId: check.account.id,
        details: { ...details, email: check.account.email },
      });
    } else {
      await ctx.services.repos.audit.record({
        tenantId: null,
        actor: "anonymous",
        action: "user.login.failed",
        targetType: "User",
        targetId: null,
        details: { ...details, emailHash: emailDigest(secret, email) },
      });
    }
    logger.warn("login failed", { requestId, address: clientAddress, reason: check.outcome, userId: check.account?.id ?? null });
    return WRONG;
  }
  await services.loginThrottle.succeeded(verdict);
  const user = check.user;
  const token = await openSession(ctx.services.repos.sessions, user, config.auth);
  await ctx.services.repos.audit.record({
    tenantId: user.tenantId,
    actor: `user:${user.id}`,
    action: "user.login",
    targetType: "User",
    targetId: user.id,
    details: { requestId, address: clientAddress },
  });
  return {
    token,
    viewer: { id: user.id, tenantId: user.tenantId, email: user.email, name: user.name, role: user.role },
    retryAfterSeconds: null,
    errors: [],
  };
}

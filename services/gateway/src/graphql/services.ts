// What resolvers use besides the loaders: the repositories (lib/db), the image store, the
// subscription fan-out, the audit writer, the login throttle and this replica's session revocations.
// Built once per gateway from the counting Prisma client.
import { createRepositories, type SqlClient } from "../../../../lib/db/index.ts";
import type { TopicNames } from "../../../../lib/events/index.ts";
import type { ImageStore } from "../../../../lib/images/index.ts";
import type { PrismaClient } from "../../../../lib/db/generated/client.ts";
import { createKeyedLock } from "../auth/keyed-lock.ts";
import type { AnalysisUpdates } from "../subscriptions/updates.ts";
import type { ReplayLimits } from "../subscriptions/cursor.ts";
import type { GatewayContext } from "./context.ts";
import type { GatewayConfig } from "../config.ts";
import { createLoginThrottle } from "../auth/throttle.ts";
import { Revocations } from "../auth/sessions.ts";

export function createServices(
  db: PrismaClient,
  deps: {
    topics: TopicNames;
    store: ImageStore;
    updates: AnalysisUpdates;
    auth: GatewayConfig["auth"];
    replay: ReplayLimits;
    /** new deliveries were committed: the dispatcher looks now instead of at its next poll */
    wakeDeliveries?: () => void;
    /** direct SQL for the page loaders (lib/db/sql.ts) */
    sql?: SqlClient;
  },
) {
  const repos = createRepositories(db, { topics: deps.topics, sql: deps.sql });
  return {
    repos,
    wakeDeliveries: deps.wakeDeliveries ?? (() => undefined),
    replay: deps.replay,
    store: deps.store,
    updates: deps.updates,
    loginThrottle: createLoginThrottle(repos.loginThrottle, deps.auth.tokenSecret, deps.auth.login),
    /**
     * Password checks run one at a time per replica: each is ~50 ms of scrypt on a libuv thread, and a burst of
     * them on all four threads starved the event loop on a 2-core machine (a bystander's query took 0.7–1 s during
     * the adversarial suite's login burst). Legitimate logins wait a few scrypt runs at most; the throttle bounds
     * how many a burst can start.
     */
    passwordChecks: createKeyedLock(),
    revocations: new Revocations(),
    topics: deps.topics,
    /** Records that the caller read or changed something (patient data reads and every change). */
    async audit(
      ctx: GatewayContext,
      action: string,
      targetType: string,
      targetId: string | null,
      details: Record<string, unknown> = {},
    ): Promise<void> {
      if (!ctx.principal) return;
      await repos.audit.record({
        tenantId: ctx.principal.tenantId,
        actor: ctx.principal.actor,
        action,
        targetType,
        targetId,
        details: { requestId: ctx.requestId, ...details },
      });
    },
  };
}

export type GatewayServices = ReturnType<typeof createServices>;

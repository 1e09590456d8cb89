// What resolvers use besides the loaders: repositories (core + gateway extensions), the image store, the
// subscription fan-out, the audit writer, the login throttle and this replica's session revocations.
// Built once per gateway from the counting Prisma client.
import { createAnalysisRepository } from "../../../../lib/db/repositories/analyses.ts";
import { createImageRepository } from "../../../../lib/db/repositories/images.ts";
import { createPatientRepository, createStudyRepository } from "../../../../lib/db/repositories/patients.ts";
import { createUserRepository } from "../../../../lib/db/repositories/tenants.ts";
import { createTransitionRepository } from "../../../../lib/db/repositories/transitions.ts";
import type { TopicNames } from "../../../../lib/events/index.ts";
import type { ImageStore } from "../../../../lib/images/index.ts";
import type { Db } from "../repositories-ext/db.ts";
import { writeAudit } from "../repositories-ext/audit.ts";
import type { AnalysisUpdates } from "../subscriptions/updates.ts";
import type { ReplayLimits } from "../subscriptions/cursor.ts";
import type { GatewayContext } from "./context.ts";
import type { GatewayConfig } from "../config.ts";
import { createLoginThrottle } from "../auth/throttle.ts";
import { Revocations } from "../auth/sessions.ts";

export function createServices(
  db: Db,
  deps: { topics: TopicNames; store: ImageStore; updates: AnalysisUpdates; auth: GatewayConfig["auth"]; replay: ReplayLimits },
) {
  return {
    repos: {
      patients: createPatientRepository(db),
      studies: createStudyRepository(db),
      images: createImageRepository(db),
      analyses: createAnalysisRepository(db, deps.topics),
      users: createUserRepository(db),
      transitions: createTransitionRepository(db),
    },
    replay: deps.replay,
    store: deps.store,
    updates: deps.updates,
    loginThrottle: createLoginThrottle(db, deps.auth.tokenSecret, deps.auth.login),
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
      await writeAudit(ctx.db, {
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

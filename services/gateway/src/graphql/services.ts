// What resolvers use besides the loaders: repositories (core + gateway extensions), the image store, the
// subscription fan-out and the audit writer. Built once per gateway from the counting Prisma client.
import { createAnalysisRepository } from "../../../../lib/db/repositories/analyses.ts";
import { createImageRepository } from "../../../../lib/db/repositories/images.ts";
import { createPatientRepository, createStudyRepository } from "../../../../lib/db/repositories/patients.ts";
import { createUserRepository } from "../../../../lib/db/repositories/tenants.ts";
import type { TopicNames } from "../../../../lib/events/index.ts";
import type { ImageStore } from "../../../../lib/images/index.ts";
import type { Db } from "../repositories-ext/db.ts";
import { writeAudit } from "../repositories-ext/audit.ts";
import type { AnalysisUpdates } from "../subscriptions/updates.ts";
import type { GatewayContext } from "./context.ts";

export function createServices(db: Db, deps: { topics: TopicNames; store: ImageStore; updates: AnalysisUpdates }) {
  return {
    repos: {
      patients: createPatientRepository(db),
      studies: createStudyRepository(db),
      images: createImageRepository(db),
      analyses: createAnalysisRepository(db, deps.topics),
      users: createUserRepository(db),
    },
    store: deps.store,
    updates: deps.updates,
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

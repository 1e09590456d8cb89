// Images attached to studies. Attaching is idempotent on (study, content hash): the same bytes twice is one image.
import { sqlThroughPrisma, type SqlClient } from "../sql.ts";
import type { Image, ImageFormat, PrismaClient } from "../generated/client.ts";
import { NotFoundError } from "../../errors/index.ts";
import { isUniqueViolation } from "../client.ts";
import { groupByKey, orderByIds } from "./pagination.ts";

export interface ImageInput {
  tenantId: string;
  studyId: string;
  sha256: string;
  format: ImageFormat;
  width: number;
  height: number;
  bytes: number;
  bitDepth: number;
  photometric?: string | null;
  view?: string | null;
  seriesInstanceUid?: string | null;
  sopInstanceUid?: string | null;
  storageKey: string;
  derivedPngKey?: string | null;
  analysisKey?: string | null;
}

export function createImageRepository(prisma: PrismaClient, sql: SqlClient = sqlThroughPrisma(prisma)) {
  return {
    /** Returns the image and whether it was newly created (false: these bytes were already on the study). */
    async attach(input: ImageInput): Promise<{ image: Image; created: boolean }> {
      const study = await prisma.study.findFirst({ where: { id: input.studyId, tenantId: input.tenantId }, select: { id: true } });
      if (!study) throw new NotFoundError("Study", input.studyId, { field: "studyId" });
      const where = { studyId_sha256: { studyId: input.studyId, sha256: input.sha256 } };
      const existing = await prisma.image.findUnique({ where });
      if (existing) return { image: existing, created: false };
      try {
        return { image: await prisma.image.create({ data: input }), created: true };
      } catch (error) {
        if (!isUniqueViolation(error)) throw error;
        return { image: (await prisma.image.findUnique({ where }))!, created: false };
      }
    },
    findById: (tenantId: string, id: string) => prisma.image.findFirst({ where: { id, tenantId } }),
    async findManyByIds(tenantId: string, ids: readonly string[]): Promise<(Image | undefined)[]> {
      return orderByIds(ids, await prisma.image.findMany({ where: { tenantId, id: { in: [...ids] } } }));
    },
    async listByStudyIds(tenantId: string, studyIds: readonly string[]): Promise<Image[][]> {
      const rows = await sql.rows<Image>(
        "images_by_studies",
        `SELECT * FROM "Image" WHERE "tenantId" = $1 AND "studyId" = ANY($2::text[]) ORDER BY "createdAt" ASC, id ASC`,
        [tenantId, studyIds],
      );
      return groupByKey(studyIds, rows, (row) => row.studyId);
    },
    /** Any image of this tenant with these bytes (content-addressed storage dedupe). */
    findBySha256: (tenantId: string, sha256: string) => prisma.image.findFirst({ where: { tenantId, sha256 } }),
  };
}

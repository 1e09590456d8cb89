-- DICOM in (issue 15): study source, calling AE title to tenant mapping, the changes cursor and the ingest log
CREATE TYPE "StudySource" AS ENUM ('UPLOAD', 'PACS');

ALTER TABLE "Study" ADD COLUMN "source" "StudySource" NOT NULL DEFAULT 'UPLOAD',
ADD COLUMN "sourceAet" TEXT;

CREATE TABLE "PacsSource" (
    "id" TEXT NOT NULL,
    "tenantId" TEXT NOT NULL,
    "callingAet" TEXT NOT NULL,
    "tasks" "AnalysisTask"[],
    "question" TEXT,
    "createdAt" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    CONSTRAINT "PacsSource_pkey" PRIMARY KEY ("id")
);
CREATE UNIQUE INDEX "PacsSource_callingAet_key" ON "PacsSource"("callingAet");
CREATE INDEX "PacsSource_tenantId_idx" ON "PacsSource"("tenantId");
ALTER TABLE "PacsSource" ADD CONSTRAINT "PacsSource_tenantId_fkey" FOREIGN KEY ("tenantId") REFERENCES "Tenant"("id") ON DELETE CASCADE ON UPDATE CASCADE;

CREATE TABLE "PacsIngestCursor" (
    "id" TEXT NOT NULL,
    "lastSeq" BIGINT NOT NULL,
    "updatedAt" TIMESTAMP(3) NOT NULL,
    CONSTRAINT "PacsIngestCursor_pkey" PRIMARY KEY ("id")
);

CREATE TABLE "PacsIngestLog" (
    "id" TEXT NOT NULL,
    "tenantId" TEXT,
    "orthancId" TEXT NOT NULL,
    "callingAet" TEXT,
    "outcome" TEXT NOT NULL,
    "reason" TEXT,
    "studyId" TEXT,
    "imageId" TEXT,
    "createdAt" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    CONSTRAINT "PacsIngestLog_pkey" PRIMARY KEY ("id")
);
CREATE UNIQUE INDEX "PacsIngestLog_orthancId_key" ON "PacsIngestLog"("orthancId");
CREATE INDEX "PacsIngestLog_tenantId_createdAt_idx" ON "PacsIngestLog"("tenantId", "createdAt");

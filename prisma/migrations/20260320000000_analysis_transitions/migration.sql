-- Issue 14, finding 9: resumable subscriptions. One row per analysis transition that subscribers are told of
-- (QUEUED per request or retry, SUCCEEDED / FAILED / CANCELLED), written in the transaction that makes it.
-- "txid" is the writing transaction's id: readers order by ("txid", "id") and read only rows whose transaction
-- is older than every transaction still running, so that order never gains a row behind a position already
-- handed out (see lib/db/repositories/transitions.ts).
-- CreateTable
CREATE TABLE "AnalysisTransition" (
    "id" BIGSERIAL NOT NULL,
    "txid" xid8 NOT NULL DEFAULT pg_current_xact_id(),
    "tenantId" TEXT NOT NULL,
    "studyId" TEXT NOT NULL,
    "analysisId" TEXT NOT NULL,
    "status" "AnalysisStatus" NOT NULL,
    "at" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "AnalysisTransition_pkey" PRIMARY KEY ("id")
);

-- CreateIndex
CREATE INDEX "AnalysisTransition_txid_id_idx" ON "AnalysisTransition"("txid", "id");

-- CreateIndex
CREATE INDEX "AnalysisTransition_tenantId_txid_id_idx" ON "AnalysisTransition"("tenantId", "txid", "id");

-- CreateIndex
CREATE INDEX "AnalysisTransition_at_idx" ON "AnalysisTransition"("at");

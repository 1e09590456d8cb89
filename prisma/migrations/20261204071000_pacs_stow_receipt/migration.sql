-- DICOM in by STOW-RS: the tenant whose API key stored an Orthanc instance, read by the ingest watcher
CREATE TABLE "PacsStowReceipt" (
    "orthancId" TEXT NOT NULL,
    "tenantId" TEXT NOT NULL,
    "apiKeyId" TEXT NOT NULL,
    "createdAt" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    CONSTRAINT "PacsStowReceipt_pkey" PRIMARY KEY ("orthancId")
);

CREATE INDEX "PacsStowReceipt_tenantId_idx" ON "PacsStowReceipt"("tenantId");

-- Instances the platform stores in Orthanc over HTTP, claimed for a tenant first: STOW-RS in, or an upload's DICOM
-- original (IMAGE_STORE=pacs). Read by the ingest watcher, which sees no calling AE title for them
CREATE TABLE "PacsStowReceipt" (
    "orthancId" TEXT NOT NULL,
    "tenantId" TEXT NOT NULL,
    "purpose" TEXT NOT NULL DEFAULT 'STOW',
    "actor" TEXT NOT NULL,
    "createdAt" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    CONSTRAINT "PacsStowReceipt_pkey" PRIMARY KEY ("orthancId")
);

CREATE INDEX "PacsStowReceipt_tenantId_idx" ON "PacsStowReceipt"("tenantId");

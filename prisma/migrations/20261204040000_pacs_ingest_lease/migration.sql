-- DICOM in on several gateways: one holds the lease on a feed and follows it, the others stand by
CREATE TABLE "PacsIngestLease" (
    "id" TEXT NOT NULL,
    "holder" TEXT NOT NULL,
    "expiresAt" TIMESTAMPTZ(3) NOT NULL,
    CONSTRAINT "PacsIngestLease_pkey" PRIMARY KEY ("id")
);

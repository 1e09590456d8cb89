-- Issue 15: results out to the hospital. A Delivery row per result to send (DICOM SR to the PACS, HL7 ORU^R01,
-- FHIR push), created in the transaction of the event that causes it and claimed by the dispatcher with
-- FOR UPDATE SKIP LOCKED plus a lease, and the per-tenant delivery settings (no row = the defaults).
-- CreateEnum
CREATE TYPE "DeliveryKind" AS ENUM ('SR', 'HL7', 'FHIR');

-- CreateEnum
CREATE TYPE "DeliveryTrigger" AS ENUM ('COMPLETION', 'SIGN_OFF', 'MANUAL');

-- CreateEnum
CREATE TYPE "DeliveryStatus" AS ENUM ('PENDING', 'SENT', 'FAILED');

-- CreateEnum
CREATE TYPE "SrDeliveryMode" AS ENUM ('OFF', 'ON_COMPLETION', 'ON_SIGN_OFF');

-- CreateTable
CREATE TABLE "TenantDeliverySettings" (
    "tenantId" TEXT NOT NULL,
    "srMode" "SrDeliveryMode" NOT NULL DEFAULT 'ON_SIGN_OFF',
    "hl7Host" TEXT,
    "hl7Port" INTEGER,
    "hl7ReceivingApplication" TEXT,
    "hl7ReceivingFacility" TEXT,
    "fhirBaseUrl" TEXT,
    "updatedAt" TIMESTAMP(3) NOT NULL,
    "updatedBy" TEXT,

    CONSTRAINT "TenantDeliverySettings_pkey" PRIMARY KEY ("tenantId")
);

-- CreateTable
CREATE TABLE "Delivery" (
    "id" TEXT NOT NULL,
    "tenantId" TEXT NOT NULL,
    "studyId" TEXT NOT NULL,
    "kind" "DeliveryKind" NOT NULL,
    "trigger" "DeliveryTrigger" NOT NULL,
    "status" "DeliveryStatus" NOT NULL DEFAULT 'PENDING',
    "attempts" INTEGER NOT NULL DEFAULT 0,
    "nextAttemptAt" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "leaseUntil" TIMESTAMP(3),
    "leaseToken" TEXT,
    "lastErrorCode" TEXT,
    "lastErrorMessage" TEXT,
    "target" TEXT NOT NULL,
    "sentId" TEXT,
    "sentSeriesUid" TEXT,
    "reviewId" TEXT,
    "reviewAction" "ReviewAction",
    "supersedesId" TEXT,
    "requestedBy" TEXT,
    "createdAt" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updatedAt" TIMESTAMP(3) NOT NULL,
    "sentAt" TIMESTAMP(3),

    CONSTRAINT "Delivery_pkey" PRIMARY KEY ("id")
);

-- CreateIndex
CREATE INDEX "Delivery_status_nextAttemptAt_idx" ON "Delivery"("status", "nextAttemptAt");

-- CreateIndex
CREATE INDEX "Delivery_tenantId_studyId_createdAt_idx" ON "Delivery"("tenantId", "studyId", "createdAt");

-- AddForeignKey
ALTER TABLE "TenantDeliverySettings" ADD CONSTRAINT "TenantDeliverySettings_tenantId_fkey" FOREIGN KEY ("tenantId") REFERENCES "Tenant"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "Delivery" ADD CONSTRAINT "Delivery_studyId_fkey" FOREIGN KEY ("studyId") REFERENCES "Study"("id") ON DELETE CASCADE ON UPDATE CASCADE;

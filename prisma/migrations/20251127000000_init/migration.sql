-- CreateEnum
CREATE TYPE "Role" AS ENUM ('ADMIN', 'RADIOLOGIST', 'CLINICIAN', 'AUDITOR', 'WORKER');

-- CreateEnum
CREATE TYPE "StudyStatus" AS ENUM ('REGISTERED', 'PROCESSING', 'ANALYZED', 'REVIEWED');

-- CreateEnum
CREATE TYPE "ImageFormat" AS ENUM ('PNG', 'JPEG', 'DICOM');

-- CreateEnum
CREATE TYPE "AnalysisTask" AS ENUM ('CLASSIFICATION', 'LOCALIZATION', 'REPORT', 'VQA');

-- CreateEnum
CREATE TYPE "AnalysisStatus" AS ENUM ('QUEUED', 'RUNNING', 'SUCCEEDED', 'FAILED', 'CANCELLED');

-- CreateEnum
CREATE TYPE "AnswerType" AS ENUM ('CLOSED', 'OPEN');

-- CreateEnum
CREATE TYPE "ModelStatus" AS ENUM ('ACTIVE', 'RETIRED', 'CANDIDATE');

-- CreateEnum
CREATE TYPE "ReviewAction" AS ENUM ('ACCEPT', 'AMEND', 'REJECT');

-- CreateTable
CREATE TABLE "Tenant" (
    "id" TEXT NOT NULL,
    "slug" TEXT NOT NULL,
    "name" TEXT NOT NULL,
    "createdAt" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "Tenant_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "User" (
    "id" TEXT NOT NULL,
    "tenantId" TEXT NOT NULL,
    "email" TEXT NOT NULL,
    "name" TEXT NOT NULL,
    "role" "Role" NOT NULL,
    "passwordHash" TEXT NOT NULL,
    "disabled" BOOLEAN NOT NULL DEFAULT false,
    "createdAt" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "lastLoginAt" TIMESTAMP(3),

    CONSTRAINT "User_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "ApiKey" (
    "id" TEXT NOT NULL,
    "tenantId" TEXT NOT NULL,
    "name" TEXT NOT NULL,
    "prefix" TEXT NOT NULL,
    "keyHash" TEXT NOT NULL,
    "role" "Role" NOT NULL,
    "createdAt" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "lastUsedAt" TIMESTAMP(3),
    "revokedAt" TIMESTAMP(3),

    CONSTRAINT "ApiKey_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "Patient" (
    "id" TEXT NOT NULL,
    "tenantId" TEXT NOT NULL,
    "mrn" TEXT NOT NULL,
    "name" TEXT,
    "birthYear" INTEGER,
    "sex" TEXT,
    "createdAt" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updatedAt" TIMESTAMP(3) NOT NULL,

    CONSTRAINT "Patient_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "Study" (
    "id" TEXT NOT NULL,
    "tenantId" TEXT NOT NULL,
    "patientId" TEXT NOT NULL,
    "accession" TEXT NOT NULL,
    "modality" TEXT NOT NULL DEFAULT 'CR',
    "studyDate" TIMESTAMP(3),
    "status" "StudyStatus" NOT NULL DEFAULT 'REGISTERED',
    "description" TEXT,
    "studyInstanceUid" TEXT,
    "createdAt" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updatedAt" TIMESTAMP(3) NOT NULL,

    CONSTRAINT "Study_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "Image" (
    "id" TEXT NOT NULL,
    "tenantId" TEXT NOT NULL,
    "studyId" TEXT NOT NULL,
    "sha256" TEXT NOT NULL,
    "format" "ImageFormat" NOT NULL,
    "width" INTEGER NOT NULL,
    "height" INTEGER NOT NULL,
    "bytes" INTEGER NOT NULL,
    "bitDepth" INTEGER NOT NULL,
    "photometric" TEXT,
    "view" TEXT,
    "seriesInstanceUid" TEXT,
    "sopInstanceUid" TEXT,
    "storageKey" TEXT NOT NULL,
    "derivedPngKey" TEXT,
    "createdAt" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "Image_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "Analysis" (
    "id" TEXT NOT NULL,
    "tenantId" TEXT NOT NULL,
    "studyId" TEXT NOT NULL,
    "imageId" TEXT NOT NULL,
    "task" "AnalysisTask" NOT NULL,
    "question" TEXT,
    "status" "AnalysisStatus" NOT NULL DEFAULT 'QUEUED',
    "attempts" INTEGER NOT NULL DEFAULT 0,
    "errorCode" TEXT,
    "errorMessage" TEXT,
    "requestedAt" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "startedAt" TIMESTAMP(3),
    "finishedAt" TIMESTAMP(3),
    "updatedAt" TIMESTAMP(3) NOT NULL,
    "idempotencyKey" TEXT NOT NULL,
    "modelName" TEXT,
    "modelVersion" TEXT,
    "bundleSha256" TEXT,
    "requestedBy" TEXT,

    CONSTRAINT "Analysis_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "FindingResult" (
    "id" TEXT NOT NULL,
    "tenantId" TEXT NOT NULL,
    "analysisId" TEXT NOT NULL,
    "studyId" TEXT NOT NULL,
    "label" TEXT NOT NULL,
    "probability" DOUBLE PRECISION NOT NULL,
    "threshold" DOUBLE PRECISION NOT NULL,
    "positive" BOOLEAN NOT NULL,
    "regions" JSONB NOT NULL,
    "topRegion" TEXT,
    "knowledgeSentence" TEXT,
    "createdAt" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "FindingResult_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "LocalizationBox" (
    "id" TEXT NOT NULL,
    "tenantId" TEXT NOT NULL,
    "analysisId" TEXT NOT NULL,
    "studyId" TEXT NOT NULL,
    "label" TEXT NOT NULL,
    "rank" INTEGER NOT NULL DEFAULT 0,
    "x1" DOUBLE PRECISION NOT NULL,
    "y1" DOUBLE PRECISION NOT NULL,
    "x2" DOUBLE PRECISION NOT NULL,
    "y2" DOUBLE PRECISION NOT NULL,
    "score" DOUBLE PRECISION NOT NULL,
    "heatmapKey" TEXT,
    "heatmap" JSONB,
    "heatmapWidth" INTEGER,
    "heatmapHeight" INTEGER,
    "createdAt" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "LocalizationBox_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "ReportResult" (
    "id" TEXT NOT NULL,
    "tenantId" TEXT NOT NULL,
    "analysisId" TEXT NOT NULL,
    "findingsText" TEXT NOT NULL,
    "impressionText" TEXT NOT NULL,
    "decoding" TEXT NOT NULL,
    "createdAt" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "ReportResult_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "ReportSentence" (
    "id" TEXT NOT NULL,
    "tenantId" TEXT NOT NULL,
    "reportId" TEXT NOT NULL,
    "index" INTEGER NOT NULL,
    "section" TEXT NOT NULL DEFAULT 'FINDINGS',
    "text" TEXT NOT NULL,
    "regions" JSONB NOT NULL,
    "labels" JSONB NOT NULL,

    CONSTRAINT "ReportSentence_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "VqaAnswer" (
    "id" TEXT NOT NULL,
    "tenantId" TEXT NOT NULL,
    "analysisId" TEXT NOT NULL,
    "question" TEXT NOT NULL,
    "answer" TEXT NOT NULL,
    "confidence" DOUBLE PRECISION NOT NULL,
    "answerType" "AnswerType" NOT NULL,
    "regions" JSONB NOT NULL,
    "createdAt" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "VqaAnswer_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "ModelVersion" (
    "id" TEXT NOT NULL,
    "name" TEXT NOT NULL,
    "version" TEXT NOT NULL,
    "bundleSha256" TEXT NOT NULL,
    "manifest" JSONB NOT NULL,
    "metrics" JSONB NOT NULL,
    "status" "ModelStatus" NOT NULL DEFAULT 'CANDIDATE',
    "trainedOn" TEXT,
    "createdAt" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "ModelVersion_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "Review" (
    "id" TEXT NOT NULL,
    "tenantId" TEXT NOT NULL,
    "analysisId" TEXT NOT NULL,
    "reviewerId" TEXT NOT NULL,
    "action" "ReviewAction" NOT NULL,
    "amendedText" TEXT,
    "comment" TEXT,
    "createdAt" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "Review_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "AuditEvent" (
    "id" TEXT NOT NULL,
    "tenantId" TEXT NOT NULL,
    "actor" TEXT NOT NULL,
    "action" TEXT NOT NULL,
    "targetType" TEXT NOT NULL,
    "targetId" TEXT,
    "at" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "details" JSONB NOT NULL DEFAULT '{}',

    CONSTRAINT "AuditEvent_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "OutboxEvent" (
    "id" BIGSERIAL NOT NULL,
    "eventId" TEXT NOT NULL,
    "tenantId" TEXT,
    "topic" TEXT NOT NULL,
    "key" TEXT NOT NULL,
    "payload" JSONB NOT NULL,
    "headers" JSONB,
    "createdAt" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "sentAt" TIMESTAMP(3),
    "attempts" INTEGER NOT NULL DEFAULT 0,
    "lastError" TEXT,

    CONSTRAINT "OutboxEvent_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "ProcessedMessage" (
    "id" TEXT NOT NULL,
    "consumerGroup" TEXT NOT NULL,
    "messageId" TEXT NOT NULL,
    "processedAt" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "ProcessedMessage_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "WorkerHeartbeat" (
    "workerId" TEXT NOT NULL,
    "host" TEXT NOT NULL,
    "pid" INTEGER,
    "bundle" TEXT,
    "bundleSha256" TEXT,
    "status" TEXT NOT NULL,
    "inFlight" INTEGER NOT NULL DEFAULT 0,
    "processed" INTEGER NOT NULL DEFAULT 0,
    "failed" INTEGER NOT NULL DEFAULT 0,
    "startedAt" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "lastSeenAt" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "WorkerHeartbeat_pkey" PRIMARY KEY ("workerId")
);

-- CreateIndex
CREATE UNIQUE INDEX "Tenant_slug_key" ON "Tenant"("slug");

-- CreateIndex
CREATE UNIQUE INDEX "User_email_key" ON "User"("email");

-- CreateIndex
CREATE INDEX "User_tenantId_idx" ON "User"("tenantId");

-- CreateIndex
CREATE UNIQUE INDEX "ApiKey_keyHash_key" ON "ApiKey"("keyHash");

-- CreateIndex
CREATE INDEX "ApiKey_tenantId_idx" ON "ApiKey"("tenantId");

-- CreateIndex
CREATE INDEX "ApiKey_prefix_idx" ON "ApiKey"("prefix");

-- CreateIndex
CREATE INDEX "Patient_tenantId_createdAt_idx" ON "Patient"("tenantId", "createdAt");

-- CreateIndex
CREATE UNIQUE INDEX "Patient_tenantId_mrn_key" ON "Patient"("tenantId", "mrn");

-- CreateIndex
CREATE INDEX "Study_tenantId_createdAt_idx" ON "Study"("tenantId", "createdAt");

-- CreateIndex
CREATE INDEX "Study_tenantId_status_createdAt_idx" ON "Study"("tenantId", "status", "createdAt");

-- CreateIndex
CREATE INDEX "Study_patientId_createdAt_idx" ON "Study"("patientId", "createdAt");

-- CreateIndex
CREATE INDEX "Study_tenantId_studyInstanceUid_idx" ON "Study"("tenantId", "studyInstanceUid");

-- CreateIndex
CREATE UNIQUE INDEX "Study_tenantId_accession_key" ON "Study"("tenantId", "accession");

-- CreateIndex
CREATE INDEX "Image_tenantId_sha256_idx" ON "Image"("tenantId", "sha256");

-- CreateIndex
CREATE INDEX "Image_studyId_createdAt_idx" ON "Image"("studyId", "createdAt");

-- CreateIndex
CREATE UNIQUE INDEX "Image_studyId_sha256_key" ON "Image"("studyId", "sha256");

-- CreateIndex
CREATE INDEX "Analysis_studyId_requestedAt_idx" ON "Analysis"("studyId", "requestedAt");

-- CreateIndex
CREATE INDEX "Analysis_tenantId_status_requestedAt_idx" ON "Analysis"("tenantId", "status", "requestedAt");

-- CreateIndex
CREATE INDEX "Analysis_tenantId_requestedAt_idx" ON "Analysis"("tenantId", "requestedAt");

-- CreateIndex
CREATE INDEX "Analysis_imageId_idx" ON "Analysis"("imageId");

-- CreateIndex
CREATE UNIQUE INDEX "Analysis_tenantId_idempotencyKey_key" ON "Analysis"("tenantId", "idempotencyKey");

-- CreateIndex
CREATE INDEX "FindingResult_tenantId_label_probability_idx" ON "FindingResult"("tenantId", "label", "probability");

-- CreateIndex
CREATE INDEX "FindingResult_studyId_idx" ON "FindingResult"("studyId");

-- CreateIndex
CREATE UNIQUE INDEX "FindingResult_analysisId_label_key" ON "FindingResult"("analysisId", "label");

-- CreateIndex
CREATE INDEX "LocalizationBox_tenantId_label_score_idx" ON "LocalizationBox"("tenantId", "label", "score");

-- CreateIndex
CREATE INDEX "LocalizationBox_studyId_idx" ON "LocalizationBox"("studyId");

-- CreateIndex
CREATE UNIQUE INDEX "LocalizationBox_analysisId_label_rank_key" ON "LocalizationBox"("analysisId", "label", "rank");

-- CreateIndex
CREATE UNIQUE INDEX "ReportResult_analysisId_key" ON "ReportResult"("analysisId");

-- CreateIndex
CREATE UNIQUE INDEX "ReportSentence_reportId_index_key" ON "ReportSentence"("reportId", "index");

-- CreateIndex
CREATE UNIQUE INDEX "VqaAnswer_analysisId_key" ON "VqaAnswer"("analysisId");

-- CreateIndex
CREATE INDEX "ModelVersion_status_idx" ON "ModelVersion"("status");

-- CreateIndex
CREATE UNIQUE INDEX "ModelVersion_name_version_key" ON "ModelVersion"("name", "version");

-- CreateIndex
CREATE INDEX "Review_analysisId_createdAt_idx" ON "Review"("analysisId", "createdAt");

-- CreateIndex
CREATE INDEX "Review_tenantId_createdAt_idx" ON "Review"("tenantId", "createdAt");

-- CreateIndex
CREATE INDEX "AuditEvent_tenantId_at_idx" ON "AuditEvent"("tenantId", "at");

-- CreateIndex
CREATE INDEX "AuditEvent_targetType_targetId_idx" ON "AuditEvent"("targetType", "targetId");

-- CreateIndex
CREATE UNIQUE INDEX "OutboxEvent_eventId_key" ON "OutboxEvent"("eventId");

-- CreateIndex
CREATE UNIQUE INDEX "ProcessedMessage_consumerGroup_messageId_key" ON "ProcessedMessage"("consumerGroup", "messageId");

-- CreateIndex
CREATE INDEX "WorkerHeartbeat_lastSeenAt_idx" ON "WorkerHeartbeat"("lastSeenAt");

-- AddForeignKey
ALTER TABLE "User" ADD CONSTRAINT "User_tenantId_fkey" FOREIGN KEY ("tenantId") REFERENCES "Tenant"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "ApiKey" ADD CONSTRAINT "ApiKey_tenantId_fkey" FOREIGN KEY ("tenantId") REFERENCES "Tenant"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "Patient" ADD CONSTRAINT "Patient_tenantId_fkey" FOREIGN KEY ("tenantId") REFERENCES "Tenant"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "Study" ADD CONSTRAINT "Study_tenantId_fkey" FOREIGN KEY ("tenantId") REFERENCES "Tenant"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "Study" ADD CONSTRAINT "Study_patientId_fkey" FOREIGN KEY ("patientId") REFERENCES "Patient"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "Image" ADD CONSTRAINT "Image_studyId_fkey" FOREIGN KEY ("studyId") REFERENCES "Study"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "Analysis" ADD CONSTRAINT "Analysis_studyId_fkey" FOREIGN KEY ("studyId") REFERENCES "Study"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "Analysis" ADD CONSTRAINT "Analysis_imageId_fkey" FOREIGN KEY ("imageId") REFERENCES "Image"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "FindingResult" ADD CONSTRAINT "FindingResult_analysisId_fkey" FOREIGN KEY ("analysisId") REFERENCES "Analysis"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "LocalizationBox" ADD CONSTRAINT "LocalizationBox_analysisId_fkey" FOREIGN KEY ("analysisId") REFERENCES "Analysis"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "ReportResult" ADD CONSTRAINT "ReportResult_analysisId_fkey" FOREIGN KEY ("analysisId") REFERENCES "Analysis"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "ReportSentence" ADD CONSTRAINT "ReportSentence_reportId_fkey" FOREIGN KEY ("reportId") REFERENCES "ReportResult"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "VqaAnswer" ADD CONSTRAINT "VqaAnswer_analysisId_fkey" FOREIGN KEY ("analysisId") REFERENCES "Analysis"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "Review" ADD CONSTRAINT "Review_analysisId_fkey" FOREIGN KEY ("analysisId") REFERENCES "Analysis"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "Review" ADD CONSTRAINT "Review_reviewerId_fkey" FOREIGN KEY ("reviewerId") REFERENCES "User"("id") ON DELETE RESTRICT ON UPDATE CASCADE;


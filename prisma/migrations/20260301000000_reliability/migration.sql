-- Reliability of analyses (model bundle contract, format version 2): the level, score and reasons per analysis,
-- the raw head probability and real-data validation per finding, uncertain report sentences and image-based VQA answers.
-- CreateEnum
CREATE TYPE "ReliabilityLevel" AS ENUM ('OK', 'CAUTION', 'ABSTAIN');

-- AlterTable
ALTER TABLE "Analysis" ADD COLUMN     "frontalProbability" DOUBLE PRECISION,
ADD COLUMN     "oodDistance" DOUBLE PRECISION,
ADD COLUMN     "reliabilityLevel" "ReliabilityLevel",
ADD COLUMN     "reliabilityReasons" JSONB,
ADD COLUMN     "reliabilityScore" DOUBLE PRECISION;

-- AlterTable
ALTER TABLE "FindingResult" ADD COLUMN     "rawProbability" DOUBLE PRECISION,
ADD COLUMN     "validatedOnRealData" BOOLEAN NOT NULL DEFAULT false;

-- AlterTable
ALTER TABLE "ReportSentence" ADD COLUMN     "uncertain" BOOLEAN NOT NULL DEFAULT false,
ADD COLUMN     "uncertainReason" TEXT;

-- AlterTable
ALTER TABLE "VqaAnswer" ADD COLUMN     "imageBased" BOOLEAN NOT NULL DEFAULT true;


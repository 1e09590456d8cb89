-- The database spells StudyStatus as the public API does (issue 13: one source per contract)
ALTER TYPE "StudyStatus" RENAME VALUE 'PROCESSING' TO 'IN_PROGRESS';
ALTER TYPE "StudyStatus" RENAME VALUE 'ANALYZED' TO 'ANALYSED';

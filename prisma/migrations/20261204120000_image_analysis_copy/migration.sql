-- The analysis copy of an image (binary PGM of the display pixels), read by the worker instead of decoding the
-- display PNG. Nullable: images ingested before it, and those in the PACS store, have none
ALTER TABLE "Image" ADD COLUMN "analysisKey" TEXT;

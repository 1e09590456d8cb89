-- Where a VQA answer came from: the VQA head, or the reported finding a presence question asks about
ALTER TABLE "VqaAnswer" ADD COLUMN "answeredFrom" TEXT NOT NULL DEFAULT 'VQA_HEAD';
ALTER TABLE "VqaAnswer" ADD COLUMN "answeredFromFinding" TEXT;

-- Hand-written because Prisma 6 cannot express a partial index in schema.prisma.
-- An index on unsent outbox rows only, so that the relay poll stays a small index scan
-- however many rows have been sent. The relay is woken by pg_notify issued by lib/db inside the
-- inserting transaction rather than by a trigger, because the Wasm schema engine splits migration
-- scripts on every semicolon (even in comments and dollar-quoted bodies), so keep this file simple.
CREATE INDEX "OutboxEvent_unsent_idx" ON "OutboxEvent" ("id") WHERE "sentAt" IS NULL;

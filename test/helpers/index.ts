// Shared test harness: see lib/README.md ("test/helpers").
export { getTestStack, type TestStack } from "./test-stack.ts";
export { createTestContext, createTestDatabase, dropTestDatabase, reposWithSqlSpy, uniqueName, type TestCtx } from "./context.ts";
export { seedStudy, waitFor, collectMessages, committedOffset, type SeededStudy } from "./fixtures.ts";

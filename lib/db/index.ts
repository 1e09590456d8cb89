// lib/db: Prisma client factory, migrations, and the repositories that business logic receives as arguments.
import { sqlThroughPrisma, type SqlClient } from "./sql.ts";
import { createPacsIngestRepository } from "./repositories/pacs-ingest.ts";
import type { PrismaClient } from "./generated/client.ts";
import { topicNames, type TopicNames } from "../events/index.ts";
import { createTenantRepository, createUserRepository, createApiKeyRepository, createAccountRepository } from "./repositories/tenants.ts";
import { createPatientRepository, createStudyRepository } from "./repositories/patients.ts";
import { createImageRepository } from "./repositories/images.ts";
import { createAnalysisRepository } from "./repositories/analyses.ts";
import { createResultRepository } from "./repositories/results.ts";
import { createListingRepository } from "./repositories/listings.ts";
import { createFhirReadRepository } from "./repositories/fhir.ts";
import { createReviewRepository } from "./repositories/reviews.ts";
import { createModelVersionRepository } from "./repositories/model-versions.ts";
import { createSessionRepository } from "./repositories/sessions.ts";
import { createLoginThrottleRepository } from "./repositories/login-throttle.ts";
import { createTransitionRepository } from "./repositories/transitions.ts";
import { createAuditRepository, createHeartbeatRepository, createProcessedMessageRepository } from "./repositories/operations.ts";
import { createOutboxRepository } from "./repositories/outbox.ts";
import { createDeliveryRepository } from "./repositories/deliveries.ts";
import { createDeliverySourceRepository } from "./repositories/delivery-sources.ts";

export {
  createDb,
  isUniqueViolation,
  Prisma,
  PrismaClient,
  type Db,
  type DbClient,
  type DbErrorEvent,
  type DbHealth,
  type DbOptions,
  type Tx,
} from "./client.ts";
export { createSqlClient, sqlThroughPrisma, type SqlClient } from "./sql.ts";
export { migrateDatabase, migrationStatus, ensureDatabase, schemaSqlFromEmpty, REPO_ROOT } from "./migrate.ts";
export { hashPassword, verifyPassword, generateApiKey, hashApiKey, DUMMY_PASSWORD_HASH } from "./passwords.ts";
export { seedDemo, seedDemoOperator, DEMO_API_KEY, DEMO_OPERATOR, DEMO_TENANT_SLUG, DEMO_USERS, type DemoSeed } from "./seed.ts";
export { ensureOperator, PLATFORM_TENANT_SLUG } from "./operators.ts";
export * from "./repositories/pagination.ts";
export { deriveIdempotencyKey, ACTIVE_STATUSES } from "./repositories/analyses.ts";
export type { AnalysisRequestInput, RequestOutcome, Provenance, ErrorInfo, Dedupe } from "./repositories/analyses.ts";
export type {
  FindingInput,
  BoxInput,
  ReportInput,
  ReportSentenceInput,
  VqaInput,
  GroundedRegion,
  WriteOptions,
  WriteOutcome,
  ReportWithSentences,
} from "./repositories/results.ts";
export type { PatientInput, StudyInput, StudyFilter } from "./repositories/patients.ts";
export type { ImageInput } from "./repositories/images.ts";
export type { ReviewInput } from "./repositories/reviews.ts";
export type { ModelVersionInput } from "./repositories/model-versions.ts";
export type { AuditInput, HeartbeatInput } from "./repositories/operations.ts";
export type { PublicUser, CredentialCheck } from "./repositories/tenants.ts";
export { OUTBOX_CHANNEL, enqueueOutbox, type OutboxInput, type OutboxRow } from "./repositories/outbox.ts";
export type {
  Tenant,
  User,
  ApiKey,
  Patient,
  Study,
  Image,
  Analysis,
  FindingResult,
  LocalizationBox,
  ReportResult,
  ReportSentence,
  VqaAnswer,
  ModelVersion,
  Review,
  AuditEvent,
  OutboxEvent,
  ProcessedMessage,
  WorkerHeartbeat,
  Delivery,
  TenantDeliverySettings,
} from "./generated/client.ts";
export {
  DEFAULT_DELIVERY_SETTINGS,
  PACS_TARGET,
  enqueueManualSr,
  enqueueSignOffDeliveries,
  type ClaimedDelivery,
  type DeliveryRepository,
  type DeliverySettingsValues,
} from "./repositories/deliveries.ts";
export type { DeliverySource } from "./repositories/delivery-sources.ts";
export { createPacsIngestRepository, type PacsIngestRepository, type IngestLogInput } from "./repositories/pacs-ingest.ts";
export { enqueueCompletionDeliveries } from "./repositories/delivery-completion.ts";
export { Role, StudyStatus, ImageFormat, AnalysisTask, AnalysisStatus, AnswerType, ModelStatus, ReviewAction } from "./generated/enums.ts";

export interface RepositoryOptions {
  /** Kafka topic names used for outbox rows (AnalysisRequested, AnalysisCompleted). Default: topicNames(""). */
  topics?: TopicNames;
  /** direct SQL for the batch readers (Db.sql); default: the same statements through Prisma's raw channel */
  sql?: SqlClient;
}

export function createRepositories(prisma: PrismaClient, options: RepositoryOptions = {}) {
  const topics = options.topics ?? topicNames("");
  const sql = options.sql ?? sqlThroughPrisma(prisma);
  return {
    tenants: createTenantRepository(prisma),
    users: createUserRepository(prisma),
    accounts: createAccountRepository(prisma),
    apiKeys: createApiKeyRepository(prisma),
    patients: createPatientRepository(prisma, sql),
    studies: createStudyRepository(prisma),
    listings: createListingRepository(prisma, sql),
    images: createImageRepository(prisma, sql),
    analyses: createAnalysisRepository(prisma, topics, sql),
    results: createResultRepository(prisma, topics, sql),
    reviews: createReviewRepository(prisma),
    modelVersions: createModelVersionRepository(prisma),
    audit: createAuditRepository(prisma, sql),
    heartbeats: createHeartbeatRepository(prisma),
    processedMessages: createProcessedMessageRepository(prisma),
    outbox: createOutboxRepository(prisma),
    sessions: createSessionRepository(prisma),
    loginThrottle: createLoginThrottleRepository(prisma),
    transitions: createTransitionRepository(prisma),
    fhir: createFhirReadRepository(prisma),
    deliveries: createDeliveryRepository(prisma),
    deliverySources: createDeliverySourceRepository(prisma),
    pacsIngest: createPacsIngestRepository(prisma),
  };
}

export type Repositories = ReturnType<typeof createRepositories>;

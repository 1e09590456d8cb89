// GraphQL code generation: resolver types for the gateway, generated from the public schema, and the console's
// operation types, generated from its documents. Run with `npm run codegen` (scripts/setup.sh does);
// output is git-ignored (services/gateway/src/generated/, services/console/src/generated/).
// Mappers point GraphQL object types at the rows the resolvers actually pass around (see models.ts),
// so that a resolver returning a database row type-checks and nested fields are resolved by field resolvers.
import type { CodegenConfig } from "@graphql-codegen/cli";

const models = "../graphql/models.ts";

const config: CodegenConfig = {
  schema: "schema.graphql",
  overwrite: true,
  generates: {
    "services/gateway/src/generated/resolvers.ts": {
      plugins: ["typescript", "typescript-resolvers"],
      config: {
        useIndexSignature: false,
        contextType: "../graphql/context.ts#GatewayContext",
        enumsAsTypes: true,
        useTypeImports: true,
        optionalResolveType: true,
        scalars: { DateTime: "Date | string", JSON: "unknown", ID: "string" },
        mappers: {
          Tenant: `${models}#TenantModel`,
          Viewer: `${models}#ViewerModel`,
          Patient: `${models}#PatientModel`,
          Study: `${models}#StudyModel`,
          Image: `${models}#ImageModel`,
          Analysis: `${models}#AnalysisModel`,
          ClassificationResult: `${models}#ClassificationResultModel`,
          LocalizationResult: `${models}#LocalizationResultModel`,
          Report: `${models}#ReportModel`,
          VqaAnswer: `${models}#VqaAnswerModel`,
          Finding: `${models}#FindingModel`,
          Review: `${models}#ReviewModel`,
          ModelVersion: `${models}#ModelVersionModel`,
          Worker: `${models}#WorkerModel`,
          AuditEvent: `${models}#AuditEventModel`,
          AnalysisUpdate: `${models}#AnalysisUpdateModel`,
          Delivery: `${models}#DeliveryModel`,
        },
      },
    },
    // The console's documents (services/console/src/queries.ts): checked against the schema at generation time,
    // their result and variable types generated, so the console cannot ask for a field that does not exist.
    "services/console/src/generated/operations.ts": {
      documents: ["services/console/src/queries.ts"],
      plugins: ["typescript", "typescript-operations"],
      config: {
        onlyOperationTypes: true,
        enumsAsTypes: true,
        useTypeImports: true,
        avoidOptionals: { field: true, inputValue: false, object: false, defaultValue: false },
        scalars: { DateTime: "string", JSON: "unknown", ID: "string" },
        skipTypename: false,
        nonOptionalTypename: false,
      },
    },
  },
};

export default config;

// GraphQL code generation: resolver types for the gateway, generated from the public schema.
// Run with `npm run codegen`; output is git-ignored (services/gateway/src/generated/).
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
        },
      },
    },
  },
};

export default config;

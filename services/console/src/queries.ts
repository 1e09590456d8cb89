/**
 * GraphQL documents the console sends. Each is plain GraphQL (tagged for `npm run codegen`, which checks it
 * against schema.graphql and generates its result and variable types into ../generated/operations.ts); a
 * document carries the fragments it spreads, so the gateway receives one self-contained string.
 */
import type * as Op from "./generated/operations.ts";

/** A document string that knows its result and variables types (see Api.query). */
export type Document<TResult, TVariables> = string & { readonly __result?: TResult; readonly __variables?: TVariables };
const doc = <TResult, TVariables>(...parts: string[]) => parts.join("\n") as Document<TResult, TVariables>;

const VIEWER_FIELDS = /* GraphQL */ `
  fragment ViewerFields on Viewer { id email name role tenant { id name } }
`;
const WORKER_FIELDS = /* GraphQL */ `
  fragment WorkerFields on Worker { id host status bundleSha256 modelVersion inFlight processed lastSeenAt healthy }
`;
const STUDY_FIELDS = /* GraphQL */ `
  fragment StudyFields on Study {
    id accessionNumber description modality studyDate status createdAt
    patient { id externalId displayName birthYear sex }
  }
`;
const RELIABILITY_FIELDS = /* GraphQL */ `
  fragment ReliabilityFields on Reliability { level score reasons { code message } frontalProbability oodDistance }
`;
const RESULT_FIELDS = /* GraphQL */ `
  fragment ResultFields on AnalysisResult {
    __typename
    ... on ClassificationResult {
      analysisId
      findings { label probability rawProbability threshold positive validatedOnRealData knowledge regions { region weight } }
    }
    ... on LocalizationResult {
      analysisId
      boxes { label x1 y1 x2 y2 score }
      heatmaps { label width height values }
      regions { region x1 y1 x2 y2 }
    }
    ... on Report {
      analysisId findingsText: findings impression decoding reviewStatus
      sentences { index section text regions labels uncertain uncertainReason }
      reviews { id action amendedText comment createdAt reviewer { id name email } }
    }
    ... on VqaAnswer { analysisId question answer confidence answerType imageBased answeredFrom answeredFromFinding regions { region weight } }
  }
`;

export const LOGIN = doc<Op.LoginMutation, Op.LoginMutationVariables>(
  /* GraphQL */ `
    mutation Login($email: String!, $password: String!) {
      login(email: $email, password: $password) { token viewer { ...ViewerFields } errors { code message field } }
    }
  `,
  VIEWER_FIELDS,
);

export const LOGOUT = doc<Op.LogoutMutation, Op.LogoutMutationVariables>(/* GraphQL */ `
  mutation Logout { logout { revoked errors { code message } } }
`);

export const VIEWER = doc<Op.ViewerQuery, Op.ViewerQueryVariables>(
  /* GraphQL */ `query Viewer { viewer { ...ViewerFields } }`,
  VIEWER_FIELDS,
);

export const DASHBOARD = doc<Op.DashboardQuery, Op.DashboardQueryVariables>(
  /* GraphQL */ `
    query Dashboard {
      queue { deadLetters throughputPerMinute tasks { task queued running succeededLastHour failedLastHour } }
      workers { ...WorkerFields }
    }
  `,
  WORKER_FIELDS,
);

export const TENANT_UPDATES = doc<Op.TenantUpdatesSubscription, Op.TenantUpdatesSubscriptionVariables>(/* GraphQL */ `
  subscription TenantUpdates($after: String) {
    tenantAnalysisUpdates(after: $after) {
      cursor status at analysis { id task status errorMessage study { id accessionNumber patient { externalId } } }
    }
  }
`);

export const STUDIES = doc<Op.StudiesQuery, Op.StudiesQueryVariables>(
  /* GraphQL */ `
    query Studies($first: Int, $after: String, $filter: StudyFilter) {
      studies(first: $first, after: $after, filter: $filter) {
        totalCount
        pageInfo { hasNextPage endCursor }
        edges {
          cursor
          node {
            ...StudyFields
            latestFindings { label probability positive validatedOnRealData }
            latestReliability { level }
            latestReport { analysisId reviewStatus }
          }
        }
      }
    }
  `,
  STUDY_FIELDS,
);

export const LABELS = doc<Op.LabelsQuery, Op.LabelsQueryVariables>(/* GraphQL */ `query Labels { labels }`);

export const STUDY = doc<Op.StudyQuery, Op.StudyQueryVariables>(
  /* GraphQL */ `
    query Study($id: ID!) {
      study(id: $id) {
        ...StudyFields
        studyInstanceUid
        source
        sourceAeTitle
        images { id format width height bytes url bitsStored photometric viewPosition sha256 }
        deliveries { id kind trigger status attempts target sentId createdAt sentAt nextAttemptAt lastError { code message } }
        analyses {
          id task status question attempts errorCode errorMessage requestedAt finishedAt durationMs
          image { id }
          model { name version bundleSha256 }
          reliability { ...ReliabilityFields }
          result { ...ResultFields }
        }
      }
    }
  `,
  STUDY_FIELDS,
  RELIABILITY_FIELDS,
  RESULT_FIELDS,
);

export const STUDY_UPDATES = doc<Op.StudyUpdatesSubscription, Op.StudyUpdatesSubscriptionVariables>(/* GraphQL */ `
  subscription StudyUpdates($studyId: ID!) {
    studyAnalysisUpdates(studyId: $studyId) { status at analysis { id task status } }
  }
`);

export const ASK = doc<Op.AskMutation, Op.AskMutationVariables>(/* GraphQL */ `
  mutation Ask($studyId: ID!, $question: String!, $imageId: ID, $key: String) {
    askQuestion(studyId: $studyId, question: $question, imageId: $imageId, idempotencyKey: $key) {
      analysis { id status } errors { code message field }
    }
  }
`);

export const REVIEW = doc<Op.ReviewMutation, Op.ReviewMutationVariables>(/* GraphQL */ `
  mutation Review($input: ReviewReportInput!) {
    reviewReport(input: $input) { review { id action } report { analysisId reviewStatus } errors { code message field } }
  }
`);

export const SEND_TO_PACS = doc<Op.SendToPacsMutation, Op.SendToPacsMutationVariables>(/* GraphQL */ `
  mutation SendToPacs($studyId: ID!) { sendToPacs(studyId: $studyId) { delivery { id status } errors { code message field } } }
`);

export const RETRY = doc<Op.RetryMutation, Op.RetryMutationVariables>(/* GraphQL */ `
  mutation Retry($id: ID!) { retryAnalysis(id: $id) { analysis { id status } errors { code message field } } }
`);

export const CREATE_PATIENT = doc<Op.CreatePatientMutation, Op.CreatePatientMutationVariables>(/* GraphQL */ `
  mutation CreatePatient($input: CreatePatientInput!) {
    createPatient(input: $input) { patient { id externalId } errors { code message field } }
  }
`);

export const FIND_PATIENT = doc<Op.FindPatientQuery, Op.FindPatientQueryVariables>(/* GraphQL */ `
  query FindPatient($search: String) { patients(first: 20, search: $search) { edges { node { id externalId } } } }
`);

export const CREATE_STUDY = doc<Op.CreateStudyMutation, Op.CreateStudyMutationVariables>(/* GraphQL */ `
  mutation CreateStudy($input: CreateStudyInput!) {
    createStudy(input: $input) { study { id } errors { code message field } }
  }
`);

export const ATTACH_IMAGE = doc<Op.AttachImageMutation, Op.AttachImageMutationVariables>(/* GraphQL */ `
  mutation AttachImage($input: AttachImageInput!) {
    attachImage(input: $input) { image { id width height format } errors { code message field } }
  }
`);

export const REQUEST_ANALYSES = doc<Op.RequestAnalysesMutation, Op.RequestAnalysesMutationVariables>(/* GraphQL */ `
  mutation RequestAnalyses($input: RequestAnalysesInput!) {
    requestAnalyses(input: $input) { analyses { id task status } errors { code message field } }
  }
`);

export const MODELS = doc<Op.ModelsQuery, Op.ModelsQueryVariables>(
  /* GraphQL */ `
    query Models {
      models {
        id name version bundleSha256 status trainedOn trainingData calibrated checksInput validatedOnRealData
        realFilmMetrics { label auc ciLow ciHigh baselineAuc permutationP positives negatives set }
        metrics tasks createdAt
        workers { ...WorkerFields }
      }
      workers { ...WorkerFields }
    }
  `,
  WORKER_FIELDS,
);

export const ACTIVATE_MODEL = doc<Op.ActivateMutation, Op.ActivateMutationVariables>(/* GraphQL */ `
  mutation Activate($id: ID!) { activateModel(id: $id) { model { id status } errors { code message field } } }
`);
export const RETIRE_MODEL = doc<Op.RetireMutation, Op.RetireMutationVariables>(/* GraphQL */ `
  mutation Retire($id: ID!) { retireModel(id: $id) { model { id status } errors { code message field } } }
`);

export const AUDIT = doc<Op.AuditQuery, Op.AuditQueryVariables>(/* GraphQL */ `
  query Audit($first: Int, $after: String, $filter: AuditFilter) {
    auditEvents(first: $first, after: $after, filter: $filter) {
      pageInfo { hasNextPage endCursor }
      edges { cursor node { id actor action targetType targetId details at } }
    }
  }
`);

export const PACS_SOURCES = doc<Op.PacsSourcesQuery, Op.PacsSourcesQueryVariables>(/* GraphQL */ `
  query PacsSources { pacsSources { callingAeTitle tasks question } }
`);

export const PACS_INGEST_LOG = doc<Op.PacsIngestLogQuery, Op.PacsIngestLogQueryVariables>(/* GraphQL */ `
  query PacsIngestLog($first: Int, $after: String) {
    pacsIngestLog(first: $first, after: $after) {
      pageInfo { hasNextPage endCursor }
      edges { node { id orthancInstanceId callingAeTitle outcome reason studyId createdAt } }
    }
  }
`);

export const REMOVE_PACS_SOURCE = doc<Op.RemovePacsSourceMutation, Op.RemovePacsSourceMutationVariables>(/* GraphQL */ `
  mutation RemovePacsSource($callingAeTitle: String!) {
    removePacsSource(callingAeTitle: $callingAeTitle) { removed errors { code message } }
  }
`);

export const SET_PACS_SOURCE = doc<Op.SetPacsSourceMutation, Op.SetPacsSourceMutationVariables>(/* GraphQL */ `
  mutation SetPacsSource($input: PacsSourceInput!) {
    setPacsSource(input: $input) { source { callingAeTitle tasks question } errors { code message field } }
  }
`);

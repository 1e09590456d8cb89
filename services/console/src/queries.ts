/** GraphQL documents the console sends; all fields exist in schema.graphql. */
const VIEWER_FIELDS = "id email name role tenant { id name }";

export const LOGIN = `mutation Login($email: String!, $password: String!) {
  login(email: $email, password: $password) { token viewer { ${VIEWER_FIELDS} } errors { code message field } }
}`;

export const LOGOUT = `mutation Logout { logout { revoked errors { code message } } }`;

export const VIEWER = `query Viewer { viewer { ${VIEWER_FIELDS} } }`;

const WORKER_FIELDS = "id host status bundleSha256 modelVersion inFlight processed lastSeenAt healthy";

export const DASHBOARD = `query Dashboard {
  queue { deadLetters throughputPerMinute tasks { task queued running succeededLastHour failedLastHour } }
  workers { ${WORKER_FIELDS} }
}`;

export const TENANT_UPDATES = `subscription TenantUpdates {
  tenantAnalysisUpdates { status at analysis { id task status errorMessage study { id accessionNumber patient { externalId } } } }
}`;

const STUDY_FIELDS =
  "id accessionNumber description modality studyDate status createdAt patient { id externalId displayName birthYear sex }";

export const STUDIES = `query Studies($first: Int, $after: String, $filter: StudyFilter) {
  studies(first: $first, after: $after, filter: $filter) {
    totalCount
    pageInfo { hasNextPage endCursor }
    edges { cursor node { ${STUDY_FIELDS} latestFindings { label probability positive validatedOnRealData } latestReliability { level } latestReport { analysisId reviewStatus } } }
  }
}`;

export const LABELS = `query Labels { labels }`;

const RESULT_FIELDS = `
  __typename
  ... on ClassificationResult { analysisId findings { label probability rawProbability threshold positive validatedOnRealData knowledge regions { region weight } } }
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
  ... on VqaAnswer { analysisId question answer confidence answerType imageBased regions { region weight } }`;

const RELIABILITY_FIELDS = "level score reasons { code message } frontalProbability oodDistance";

export const STUDY = `query Study($id: ID!) {
  study(id: $id) {
    ${STUDY_FIELDS}
    studyInstanceUid
    images { id format width height bytes url bitsStored photometric viewPosition sha256 }
    analyses {
      id task status question attempts errorCode errorMessage requestedAt finishedAt durationMs
      image { id }
      model { name version bundleSha256 }
      reliability { ${RELIABILITY_FIELDS} }
      result { ${RESULT_FIELDS} }
    }
  }
}`;

export const STUDY_UPDATES = `subscription StudyUpdates($studyId: ID!) {
  studyAnalysisUpdates(studyId: $studyId) { status at analysis { id task status } }
}`;

export const ASK = `mutation Ask($studyId: ID!, $question: String!, $imageId: ID, $key: String) {
  askQuestion(studyId: $studyId, question: $question, imageId: $imageId, idempotencyKey: $key) {
    analysis { id status } errors { code message field }
  }
}`;

export const REVIEW = `mutation Review($input: ReviewReportInput!) {
  reviewReport(input: $input) { review { id action } report { analysisId reviewStatus } errors { code message field } }
}`;

export const RETRY = `mutation Retry($id: ID!) { retryAnalysis(id: $id) { analysis { id status } errors { code message field } } }`;

export const CREATE_PATIENT = `mutation CreatePatient($input: CreatePatientInput!) {
  createPatient(input: $input) { patient { id externalId } errors { code message field } }
}`;

export const FIND_PATIENT = `query FindPatient($search: String) { patients(first: 20, search: $search) { edges { node { id externalId } } } }`;

export const CREATE_STUDY = `mutation CreateStudy($input: CreateStudyInput!) {
  createStudy(input: $input) { study { id } errors { code message field } }
}`;

export const ATTACH_IMAGE = `mutation AttachImage($input: AttachImageInput!) {
  attachImage(input: $input) { image { id width height format } errors { code message field } }
}`;

export const REQUEST_ANALYSES = `mutation RequestAnalyses($input: RequestAnalysesInput!) {
  requestAnalyses(input: $input) { analyses { id task status } errors { code message field } }
}`;

export const MODELS = `query Models {
  models { id name version bundleSha256 status trainedOn trainingData calibrated checksInput validatedOnRealData metrics tasks createdAt workers { ${WORKER_FIELDS} } }
  workers { ${WORKER_FIELDS} }
}`;

export const ACTIVATE_MODEL = `mutation Activate($id: ID!) { activateModel(id: $id) { model { id status } errors { code message field } } }`;
export const RETIRE_MODEL = `mutation Retire($id: ID!) { retireModel(id: $id) { model { id status } errors { code message field } } }`;

export const AUDIT = `query Audit($first: Int, $after: String, $filter: AuditFilter) {
  auditEvents(first: $first, after: $after, filter: $filter) {
    pageInfo { hasNextPage endCursor }
    edges { cursor node { id actor action targetType targetId details at } }
  }
}`;

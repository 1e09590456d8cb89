/** Canned data for the layout preview (dev/preview.ts). Invented values, for looking at layout only. */
const LABELS = [
  "No Finding",
  "Enlarged Cardiomediastinum",
  "Cardiomegaly",
  "Lung Opacity",
  "Lung Lesion",
  "Edema",
  "Consolidation",
  "Pneumonia",
  "Atelectasis",
  "Pneumothorax",
  "Pleural Effusion",
  "Pleural Other",
  "Fracture",
  "Support Devices",
];
const REGIONS = [
  "right lung",
  "left lung",
  "right lower lung zone",
  "left lower lung zone",
  "cardiac silhouette",
  "mediastinum",
  "right costophrenic angle",
  "left costophrenic angle",
];
const BOXES: Record<string, [number, number, number, number]> = {
  "right lung": [150, 180, 480, 820],
  "left lung": [560, 180, 890, 840],
  "right lower lung zone": [160, 560, 470, 810],
  "left lower lung zone": [570, 580, 880, 830],
  "cardiac silhouette": [420, 470, 760, 780],
  mediastinum: [420, 150, 600, 560],
  "right costophrenic angle": [160, 740, 300, 850],
  "left costophrenic angle": [740, 760, 890, 870],
};
const now = Date.now();
const iso = (minAgo: number) => new Date(now - minAgo * 60000).toISOString();

function heat(cx: number, cy: number, s: number): number[] {
  const v: number[] = [];
  for (let y = 0; y < 14; y++) for (let x = 0; x < 14; x++) v.push(Math.exp(-((x - cx) ** 2 + (y - cy) ** 2) / (2 * s * s)));
  return v;
}

export function fixtures() {
  const tenant = { id: "t1", name: "Demo Hospital" };
  const viewer = (role: string) => ({
    id: "u1",
    email: `${role.toLowerCase()}@demo.local`,
    name: `Demo ${role.charAt(0)}${role.slice(1).toLowerCase()}`,
    role,
    tenant,
  });
  const model = { name: "gkmvlp-tiny", version: "0.1.0-synthetic", bundleSha256: "a3f1c9e2b7d4".padEnd(64, "0") };
  const probs = [0.08, 0.22, 0.71, 0.44, 0.05, 0.12, 0.18, 0.1, 0.36, 0.03, 0.83, 0.04, 0.02, 0.15];
  const findings = LABELS.map((label, i) => ({
    label,
    probability: probs[i],
    rawProbability: probs[i],
    threshold: 0.5,
    positive: (probs[i] as number) >= 0.5,
    validatedOnRealData: label === "Cardiomegaly",
    regions:
      label === "Cardiomegaly"
        ? [{ region: "cardiac silhouette", weight: 0.82 }]
        : [
            { region: "left lower lung zone", weight: 0.61 },
            { region: "left costophrenic angle", weight: 0.3 },
          ],
    knowledge:
      label === "Cardiomegaly"
        ? "cardiomegaly is present in the cardiac silhouette"
        : `${label.toLowerCase()} is ${(probs[i] as number) >= 0.5 ? "present" : "absent"} in the left lower lung zone`,
  }));
  const image = {
    id: "img1",
    sha256: "f".repeat(64),
    format: "PNG",
    width: 1024,
    height: 1024,
    bytes: 812345,
    bitsStored: 8,
    photometric: "MONOCHROME2",
    viewPosition: "PA",
    url: "/images/img1",
    createdAt: iso(30),
  };
  const patient = {
    id: "p1",
    externalId: "MRN-0001",
    displayName: "Demo Patient",
    birthYear: 1961,
    sex: "F",
    createdAt: iso(40),
    studies: null,
  };
  const analysis = (id: string, task: string, result: unknown, extra: Record<string, unknown> = {}) => ({
    id,
    task,
    status: "SUCCEEDED",
    attempts: 1,
    errorCode: null,
    errorMessage: null,
    requestedAt: iso(29),
    finishedAt: iso(28),
    durationMs: 1840,
    image,
    model,
    result,
    question: null,
    idempotencyKey: null,
    reliability: {
      level: "CAUTION",
      score: 0.5,
      frontalProbability: null,
      oodDistance: null,
      reasons: [
        {
          code: "NO_RELIABILITY_MODEL",
          message:
            "This model has no input check: nothing verifies that the image is a frontal chest radiograph like the films it was trained on.",
        },
      ],
    },
    ...extra,
  });
  const analyses = [
    analysis("a1", "CLASSIFICATION", { __typename: "ClassificationResult", analysisId: "a1", findings }),
    analysis("a2", "LOCALIZATION", {
      __typename: "LocalizationResult",
      analysisId: "a2",
      boxes: [
        { label: "Pleural Effusion", x1: 600, y1: 640, x2: 880, y2: 860, score: 0.77 },
        { label: "Cardiomegaly", x1: 430, y1: 480, x2: 760, y2: 770, score: 0.66 },
      ],
      heatmaps: [
        { label: "Pleural Effusion", width: 14, height: 14, values: heat(10, 10.5, 1.8) },
        { label: "Cardiomegaly", width: 14, height: 14, values: heat(8, 8.5, 2.2) },
      ],
      regions: REGIONS.map((r) => {
        const b = BOXES[r] as number[];
        return { region: r, x1: b[0], y1: b[1], x2: b[2], y2: b[3] };
      }),
    }),
    analysis("a3", "REPORT", {
      __typename: "Report",
      analysisId: "a3",
      decoding: "greedy",
      reviewStatus: null,
      reviews: [],
      findings: "The heart is enlarged. There is a left pleural effusion. The right lung is clear.",
      impression: "Cardiomegaly with left pleural effusion.",
      sentences: [
        {
          index: 0,
          section: "findings",
          text: "The heart is enlarged.",
          regions: ["cardiac silhouette"],
          labels: ["Cardiomegaly"],
          uncertain: false,
          uncertainReason: null,
        },
        {
          index: 1,
          section: "findings",
          text: "There is a left pleural effusion.",
          regions: ["left lower lung zone", "left costophrenic angle"],
          labels: ["Pleural Effusion"],
          uncertain: true,
          uncertainReason: "Mentions Pleural Effusion, which is not validated on real films.",
        },
        {
          index: 2,
          section: "findings",
          text: "The right lung is clear.",
          regions: ["right lung"],
          labels: [],
          uncertain: false,
          uncertainReason: null,
        },
        {
          index: 3,
          section: "impression",
          text: "Cardiomegaly with left pleural effusion.",
          regions: ["cardiac silhouette", "left lower lung zone"],
          labels: ["Cardiomegaly", "Pleural Effusion"],
          uncertain: true,
          uncertainReason: "Mentions Pleural Effusion, which is not validated on real films.",
        },
      ],
    }),
    analysis(
      "a4",
      "VQA",
      {
        __typename: "VqaAnswer",
        analysisId: "a4",
        question: "Is there a pleural effusion?",
        answer: "yes",
        confidence: 0.81,
        answerType: "closed",
        imageBased: false,
        regions: [{ region: "left costophrenic angle", weight: 0.7 }],
      },
      { question: "Is there a pleural effusion?" },
    ),
  ];
  const study = (id: string, acc: string, status: string, p = patient, an: unknown[] = []) => ({
    id,
    accessionNumber: acc,
    description: "Chest X-ray PA",
    modality: "CR",
    studyDate: iso(60),
    status,
    studyInstanceUid: null,
    createdAt: iso(60),
    patient: p,
    images: an.length ? [image] : [],
    analyses: an,
    latestFindings: an.length ? findings : [],
    latestReliability: an.length ? { level: "CAUTION" } : null,
    latestReport: an.length ? { analysisId: "a3", reviewStatus: null } : null,
  });
  const studies = [
    study("s1", "ACC-1001", "ANALYSED", patient, analyses),
    study("s2", "ACC-1002", "IN_PROGRESS", { ...patient, id: "p2", externalId: "MRN-0002", displayName: "Second Patient" }),
    study("s3", "ACC-1003", "REGISTERED", { ...patient, id: "p3", externalId: "MRN-0003", displayName: null as unknown as string }),
  ];
  const workers = [
    {
      id: "w1",
      host: "worker-1",
      status: "running",
      bundleSha256: model.bundleSha256,
      modelVersion: model.version,
      inFlight: 1,
      processed: 42,
      lastSeenAt: iso(0.05),
      healthy: true,
    },
    {
      id: "w2",
      host: "worker-2",
      status: "stopped",
      bundleSha256: model.bundleSha256,
      modelVersion: model.version,
      inFlight: 0,
      processed: 17,
      lastSeenAt: iso(12),
      healthy: false,
    },
  ];
  return {
    viewer,
    labels: LABELS,
    regions: REGIONS,
    studies,
    workers,
    queue: {
      deadLetters: 1,
      throughputPerMinute: 3.4,
      tasks: ["CLASSIFICATION", "LOCALIZATION", "REPORT", "VQA"].map((task, i) => ({
        task,
        queued: i,
        running: i % 2,
        succeededLastHour: 10 + i,
        failedLastHour: i === 2 ? 1 : 0,
      })),
    },
    models: [
      {
        id: "m1",
        ...model,
        status: "ACTIVE",
        trainedOn: "synthetic data (synthetic CXR generator v1, 20k images)",
        trainingData: "SYNTHETIC",
        calibrated: false,
        checksInput: false,
        validatedOnRealData: [],
        tasks: ["CLASSIFICATION", "LOCALIZATION", "REPORT", "VQA"],
        createdAt: iso(600),
        metrics: {
          classification: { macroAUC: 0.912, perLabel: { Cardiomegaly: 0.95 } },
          localization: { meanIoU: 0.41, pointingGame: 0.78 },
          report: { bleu4: 0.21, rougeL: 0.44 },
          vqa: { accuracy: 0.83 },
        },
        workers: [workers[0]],
      },
      {
        id: "m0",
        ...model,
        version: "0.0.9-synthetic",
        status: "RETIRED",
        trainedOn: "synthetic data",
        trainingData: "SYNTHETIC",
        calibrated: false,
        checksInput: false,
        validatedOnRealData: [],
        tasks: ["CLASSIFICATION"],
        createdAt: iso(6000),
        metrics: null,
        workers: [],
      },
    ],
    audit: [
      {
        id: "e1",
        actor: "radiologist@demo.local",
        action: "report.review",
        targetType: "Report",
        targetId: "a3",
        details: { action: "ACCEPT" },
        at: iso(2),
      },
      { id: "e2", actor: "admin@demo.local", action: "study.read", targetType: "Study", targetId: "s1", details: null, at: iso(5) },
      {
        id: "e3",
        actor: "admin@demo.local",
        action: "model.activate",
        targetType: "ModelVersion",
        targetId: "m1",
        details: { previous: "m0", reason: "new synthetic bundle with better calibration on the validation split" },
        at: iso(50),
      },
    ],
  };
}

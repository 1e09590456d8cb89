// Default label and region lists (the model bundle contract's order: training/gkmvlp/ontology.py). The API
// prefers the active model's manifest lists and falls back to these when no model is registered yet.
export const DEFAULT_LABELS = [
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
] as const;

export const DEFAULT_REGIONS = [
  "right lung",
  "right upper lung zone",
  "right mid lung zone",
  "right lower lung zone",
  "right hilar structures",
  "right apical zone",
  "right costophrenic angle",
  "right hemidiaphragm",
  "left lung",
  "left upper lung zone",
  "left mid lung zone",
  "left lower lung zone",
  "left hilar structures",
  "left apical zone",
  "left costophrenic angle",
  "left hemidiaphragm",
  "trachea",
  "spine",
  "right clavicle",
  "left clavicle",
  "aortic arch",
  "mediastinum",
  "upper mediastinum",
  "svc",
  "cardiac silhouette",
  "cavoatrial junction",
  "right atrium",
  "carina",
  "abdomen",
] as const;

function stringList(value: unknown): string[] | null {
  return Array.isArray(value) && value.length > 0 && value.every((v) => typeof v === "string") ? (value as string[]) : null;
}

export function labelsFromManifest(manifest: unknown): string[] | null {
  return manifest && typeof manifest === "object" ? stringList((manifest as { labels?: unknown }).labels) : null;
}

export function regionsFromManifest(manifest: unknown): string[] | null {
  return manifest && typeof manifest === "object" ? stringList((manifest as { regions?: unknown }).regions) : null;
}

export function tasksFromManifest(manifest: unknown): string[] {
  const all = ["CLASSIFICATION", "LOCALIZATION", "REPORT", "VQA"];
  if (!manifest || typeof manifest !== "object") return all;
  const tasks = (manifest as { tasks?: unknown }).tasks;
  if (Array.isArray(tasks)) {
    const names = tasks.map((t) => String(t).toUpperCase()).filter((t) => all.includes(t));
    if (names.length) return names;
  }
  if (tasks && typeof tasks === "object") {
    const names = Object.keys(tasks)
      .map((t) => t.toUpperCase())
      .filter((t) => all.includes(t));
    if (names.length) return names;
  }
  return all;
}

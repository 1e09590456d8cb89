/**
 * Which roles see which views. This only shapes the UI; the gateway enforces the same rules on
 * every query and mutation, so a hand-typed URL or request still gets FORBIDDEN. A platform operator
 * (OPERATOR) manages the models every tenant uses and reads its audit trail; it sees no patient data.
 */
import type { Role } from "./types.ts";

export type ViewName = "dashboard" | "studies" | "study" | "upload" | "models" | "audit" | "pacs";

export const VIEW_ROLES: Record<ViewName, Role[]> = {
  dashboard: ["ADMIN", "RADIOLOGIST", "AUDITOR"],
  studies: ["ADMIN", "RADIOLOGIST", "CLINICIAN", "AUDITOR"],
  study: ["ADMIN", "RADIOLOGIST", "CLINICIAN", "AUDITOR"],
  upload: ["ADMIN", "RADIOLOGIST", "CLINICIAN"],
  models: ["OPERATOR", "ADMIN", "RADIOLOGIST"],
  audit: ["OPERATOR", "ADMIN", "AUDITOR"],
  pacs: ["ADMIN"],
};

export const NAV: { view: ViewName; label: string }[] = [
  { view: "dashboard", label: "Dashboard" },
  { view: "studies", label: "Studies" },
  { view: "upload", label: "Upload" },
  { view: "models", label: "Models" },
  { view: "audit", label: "Audit log" },
  { view: "pacs", label: "PACS in" },
];

export function canSee(role: Role, view: ViewName): boolean {
  return VIEW_ROLES[view].includes(role);
}

export function canManageModels(role: Role): boolean {
  return role === "OPERATOR";
}

export function canReview(role: Role): boolean {
  return role === "ADMIN" || role === "RADIOLOGIST";
}

export function canAsk(role: Role): boolean {
  return role === "ADMIN" || role === "RADIOLOGIST" || role === "CLINICIAN";
}

export function homeView(role: Role): ViewName {
  return NAV.find((n) => canSee(role, n.view))?.view ?? "studies";
}

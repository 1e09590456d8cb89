/** The signed-in user's token and profile, kept per browser tab (sessionStorage). */
import type { Viewer } from "./types.ts";

const KEY = "gkmvlp.console.session";

export interface Session {
  token: string;
  viewer: Viewer;
}

export function loadSession(): Session | null {
  try {
    const raw = sessionStorage.getItem(KEY);
    if (!raw) return null;
    const parsed = JSON.parse(raw) as Session;
    return parsed.token && parsed.viewer ? parsed : null;
  } catch {
    return null;
  }
}

export function saveSession(session: Session): void {
  sessionStorage.setItem(KEY, JSON.stringify(session));
}

export function clearSession(): void {
  sessionStorage.removeItem(KEY);
}

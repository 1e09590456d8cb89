import type { Api } from "../api.ts";
import type { Session } from "../session.ts";
import type { Route } from "../router.ts";

export interface ViewContext {
  api: Api;
  session: Session;
  route: Route;
}
/** Renders a view into `root`; returns a cleanup that stops its subscriptions and timers. */
export type ViewFn = (root: HTMLElement, ctx: ViewContext) => (() => void) | undefined;

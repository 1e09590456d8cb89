// Credentials of open WebSockets (issue 14, finding 7e): a socket authenticates when it connects, again before
// every operation it starts, and every `recheckSeconds` while it is open; a socket whose token was revoked (logout,
// revokeSessions), whose user was disabled or whose API key was revoked is closed with 4403. Revocations made on
// this replica close the sockets at once; those made on another replica are noticed at the next re-check.
import type { WebSocket } from "ws";
import { authenticate, InvalidCredentials, type AuthOptions, type AuthStore, type Credentials, type Principal } from "./auth/principal.ts";
import type { Revocation, Revocations } from "./auth/sessions.ts";
import type { Logger } from "./logger.ts";

export const REVOKED_CLOSE_CODE = 4403;

interface Entry {
  credentials: Credentials;
  principal: Principal;
}

export interface SocketSessionOptions {
  authStore: AuthStore;
  auth: AuthOptions;
  recheckSeconds: number;
  revocations: Revocations;
  logger: Logger;
}

export function createSocketSessions(options: SocketSessionOptions) {
  const { authStore, auth, logger } = options;
  const open = new Map<WebSocket, Entry>();

  function close(socket: WebSocket, why: string): void {
    open.delete(socket);
    logger.info("WebSocket closed: credentials no longer valid", { why });
    socket.close(REVOKED_CLOSE_CODE, "Forbidden: credentials revoked or expired");
  }

  /** The principal now, or null after closing the socket (credentials revoked); other errors propagate. */
  async function check(socket: WebSocket, entry: Entry, recordUse: boolean): Promise<Principal | null> {
    try {
      const principal = await authenticate(authStore, entry.credentials, { ...auth, recordUse });
      if (principal) {
        entry.principal = principal;
        return principal;
      }
    } catch (error) {
      if (!(error instanceof InvalidCredentials)) throw error;
    }
    close(socket, "re-check");
    return null;
  }

  const timer = setInterval(() => {
    for (const [socket, entry] of open) {
      check(socket, entry, false).catch((error: unknown) => logger.warn("WebSocket credential re-check failed", { error }));
    }
  }, options.recheckSeconds * 1000);
  timer.unref();

  const onRevoked = (revocation: Revocation) => {
    for (const [socket, { principal }] of open) {
      if (principal.kind !== "user") continue;
      if (revocation.userId === principal.id || (principal.sessionId && revocation.sessionIds?.includes(principal.sessionId))) {
        close(socket, "revoked on this replica");
      }
    }
  };
  options.revocations.on("revoked", onRevoked);

  return {
    /** Starts watching a connection that authenticated. */
    track(socket: WebSocket, credentials: Credentials, principal: Principal): void {
      open.set(socket, { credentials, principal });
      socket.once("close", () => open.delete(socket));
    },
    /** Re-authenticates before an operation; null when the socket was closed for it. */
    async verify(socket: WebSocket): Promise<Principal | null> {
      const entry = open.get(socket);
      return entry ? check(socket, entry, true) : null;
    },
    dispose(): void {
      clearInterval(timer);
      options.revocations.off("revoked", onRevoked);
      open.clear();
    },
  };
}

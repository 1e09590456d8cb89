// graphql-ws on the same HTTP server at /graphql. The connection authenticates from connectionParams
// (`authorization: "Bearer <token>"` or `apiKey`), with the same code as HTTP; an unauthenticated or bad
// connection is closed with 4403. The credentials are checked again before every operation and while the socket
// is open (ws-sessions.ts): a revoked token or key closes it with 4403. Every operation passes the same query limits as HTTP before graphql-js
// validates it (graphql/limits/preflight.ts), and errors are masked with the same formatError (without
// "Did you mean" suggestions and without introspection unless introspection is enabled).
import { randomUUID } from "node:crypto";
import type { Server } from "node:http";
import { WebSocketServer } from "ws";
import { useServer } from "graphql-ws/use/ws";
import {
  GraphQLError,
  NoSchemaIntrospectionCustomRule,
  specifiedRules,
  validate,
  getOperationAST,
  type ExecutionArgs,
  type GraphQLSchema,
} from "graphql";
import type { IncomingMessage } from "node:http";
import { authenticate, InvalidCredentials, type AuthOptions, type AuthStore, type Principal } from "./auth/principal.ts";
import type { Revocations } from "./auth/sessions.ts";
import { createSocketSessions } from "./ws-sessions.ts";
import type { GatewayContext } from "./graphql/context.ts";
import { preflight, type QueryLimits } from "./graphql/limits/preflight.ts";
import { limiterKey, type OperationLimiter } from "./http/rate-limit.ts";
import { errorIdOf, formatError, isClientError, withoutSuggestions } from "./graphql/errors.ts";
import type { Logger } from "./logger.ts";

export interface WsOptions {
  server: Server;
  path: string;
  schema: GraphQLSchema;
  /** sessions and API keys, to authenticate each connection */
  authStore: AuthStore;
  auth: AuthOptions;
  /** seconds between re-checks of an open socket's credentials */
  recheckSeconds: number;
  revocations: Revocations;
  limits: QueryLimits;
  /** the same per-caller token buckets as HTTP (a WebSocket operation is charged, not held: subscriptions are long-lived) */
  limiter: OperationLimiter;
  introspection: boolean;
  logger: Logger;
  /** builds the operation's context for an authenticated principal */
  makeContext(principal: Principal, clientAddress: string | null): GatewayContext;
  clientAddress(req: IncomingMessage): string | null;
}

type ConnectionExtra = { principal?: Principal; address?: string | null } & Record<PropertyKey, unknown>;

function param(params: Record<string, unknown> | undefined, ...names: string[]): string | null {
  for (const name of names) {
    const value = params?.[name];
    if (typeof value === "string" && value) return value;
  }
  return null;
}

export function attachGraphQLWs(options: WsOptions) {
  const { logger } = options;
  const wss = new WebSocketServer({ noServer: true });
  const sessions = createSocketSessions(options);
  options.server.on("upgrade", (req, socket, head) => {
    const path = new URL(req.url ?? "/", "http://localhost").pathname;
    if (path !== options.path) {
      socket.destroy();
      return;
    }
    wss.handleUpgrade(req, socket, head, (ws) => wss.emit("connection", ws, req));
  });

  const cleanup = useServer<Record<string, unknown> | undefined, ConnectionExtra>(
    {
      onConnect: async (ctx) => {
        const params = ctx.connectionParams;
        const credentials = {
          authorization: param(params, "authorization", "Authorization"),
          apiKey: param(params, "apiKey", "x-api-key"),
        };
        try {
          const principal = await authenticate(options.authStore, credentials, options.auth);
          if (!principal) return false; // 4403: subscriptions need credentials
          ctx.extra.principal = principal;
          ctx.extra.address = options.clientAddress(ctx.extra.request);
          sessions.track(ctx.extra.socket, credentials, principal);
          return true;
        } catch (error) {
          if (error instanceof InvalidCredentials) return false;
          throw error;
        }
      },
      onSubscribe: async (ctx, _id, payload) => {
        const variables = (payload.variables ?? {}) as Record<string, unknown>;
        // the token or key may have been revoked since the socket connected (then the socket is closed)
        const principal = await sessions.verify(ctx.extra.socket);
        if (!principal) return [new GraphQLError("Credentials revoked or expired.", { extensions: { code: "UNAUTHENTICATED" } })];
        ctx.extra.principal = principal;
        // authenticated just above, so preflight's credential gate passes; its limits apply as on HTTP
        const verdict = preflight(options.schema, payload.query, variables, options.limits, true);
        if (!verdict.ok) return [verdict.error];
        const cost = Math.max(0, ...verdict.analysis.operations.map((o) => o.metrics.cost));
        const admission = await options.limiter.admit(limiterKey(principal, ctx.extra.address ?? null), cost);
        if (!admission.ok) {
          const { code, retryAfterMs } = admission;
          return [new GraphQLError(admission.message, { extensions: { code, retriable: true, retryAfterMs } })];
        }
        admission.release();
        const { document } = verdict;
        const errors = validate(
          options.schema,
          document,
          options.introspection ? specifiedRules : [...specifiedRules, NoSchemaIntrospectionCustomRule],
        );
        if (errors.length) return errors;
        const operation = getOperationAST(document, payload.operationName);
        if (!operation) return [new GraphQLError("Send exactly one operation, or name the one to run.")];
        const args: ExecutionArgs = {
          schema: options.schema,
          document,
          variableValues: variables,
          operationName: payload.operationName ?? null,
          contextValue: options.makeContext(principal, ctx.extra.address ?? null),
        };
        return args;
      },
      onError: (ctx, _id, payload, errors) => errors.map((e) => logAndFormat(e, ctx.extra.principal, payload.operationName)),
      onNext: (ctx, _id, payload, _args, result) => {
        if (!result.errors?.length) return;
        return { ...result, errors: result.errors.map((e) => logAndFormat(e, ctx.extra.principal, payload.operationName)) };
      },
    },
    wss,
  );

  function logAndFormat(error: GraphQLError, principal: Principal | undefined, operationName?: string | null) {
    if (!isClientError(error)) {
      logger.error("unexpected GraphQL error (ws)", {
        errorId: errorIdOf(error),
        actor: principal?.actor ?? null,
        operationName: operationName ?? null,
        path: error.path,
        error: error.originalError ?? error,
      });
    }
    const formatted = formatError(error.toJSON(), error);
    return options.introspection ? formatted : withoutSuggestions(formatted);
  }

  return {
    wss,
    connections: () => wss.clients.size,
    /** Closes every socket (1001 going away) and stops accepting new ones. */
    async close(): Promise<void> {
      sessions.dispose();
      for (const client of wss.clients) client.close(1001, "Server shutting down");
      await cleanup.dispose();
      await new Promise<void>((resolve) => wss.close(() => resolve()));
    },
  };
}

export const newRequestId = () => randomUUID();

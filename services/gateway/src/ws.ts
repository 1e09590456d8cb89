// graphql-ws on the same HTTP server at /graphql. The connection authenticates once, from connectionParams
// (`authorization: "Bearer <token>"` or `apiKey`), with the same code as HTTP; an unauthenticated or bad
// connection is closed with 4403. Every operation passes the same query limits as HTTP before graphql-js
// validates it (graphql/limits/preflight.ts), and errors are masked with the same formatError (without
// "Did you mean" suggestions and without introspection unless introspection is enabled).
import { randomUUID } from "node:crypto";
import type { Server } from "node:http";
import { WebSocketServer } from "ws";
import { useServer } from "graphql-ws/use/ws";
import { GraphQLError, NoSchemaIntrospectionCustomRule, specifiedRules, validate, getOperationAST, type ExecutionArgs, type GraphQLSchema } from "graphql";
import { authenticate, InvalidCredentials, type Principal } from "./auth/principal.ts";
import type { GatewayContext } from "./graphql/context.ts";
import { preflight, type QueryLimits } from "./graphql/limits/preflight.ts";
import { errorIdOf, formatError, isClientError, withoutSuggestions } from "./graphql/errors.ts";
import type { Logger } from "./logger.ts";
import type { Db } from "./repositories-ext/db.ts";

export interface WsOptions {
  server: Server;
  path: string;
  schema: GraphQLSchema;
  db: Db;
  tokenSecret: string;
  limits: QueryLimits;
  introspection: boolean;
  logger: Logger;
  /** builds the operation's context for an authenticated principal */
  makeContext(principal: Principal): GatewayContext;
}

type ConnectionExtra = { principal?: Principal } & Record<PropertyKey, unknown>;

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
        try {
          const principal = await authenticate(
            options.db,
            { authorization: param(params, "authorization", "Authorization"), apiKey: param(params, "apiKey", "x-api-key") },
            options.tokenSecret,
          );
          if (!principal) return false; // 4403: subscriptions need credentials
          ctx.extra.principal = principal;
          return true;
        } catch (error) {
          if (error instanceof InvalidCredentials) return false;
          throw error;
        }
      },
      onSubscribe: (ctx, _id, payload) => {
        const variables = (payload.variables ?? {}) as Record<string, unknown>;
        const principal = ctx.extra.principal;
        // onConnect refuses connections without credentials; the gate in preflight is a second lock
        const verdict = preflight(options.schema, payload.query, variables, options.limits, principal !== undefined);
        if (!verdict.ok) return [verdict.error];
        const { document } = verdict;
        const errors = validate(options.schema, document, options.introspection ? specifiedRules : [...specifiedRules, NoSchemaIntrospectionCustomRule]);
        if (errors.length) return errors;
        const operation = getOperationAST(document, payload.operationName);
        if (!operation) return [new GraphQLError("Send exactly one operation, or name the one to run.")];
        const args: ExecutionArgs = {
          schema: options.schema,
          document,
          variableValues: variables,
          operationName: payload.operationName ?? null,
          contextValue: options.makeContext(principal!),
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
      for (const client of wss.clients) client.close(1001, "Server shutting down");
      await cleanup.dispose();
      await new Promise<void>((resolve) => wss.close(() => resolve()));
    },
  };
}

export const newRequestId = () => randomUUID();

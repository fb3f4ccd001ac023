import { randomUUID } from "node:crypto";
import type { Middleware } from "koa";
import type { Logger } from "../logger.js";

const VALID_ID = /^[A-Za-z0-9_-]{8,64}$/;

declare module "koa" {
  interface DefaultState {
    requestId: string;
    log: Logger;
  }
}

/**
 * Gives every request an id (nginx's when it sent one, since `trustProxy` already dropped
 * untrusted ones), a child logger carrying it, and one access-log line when it ends.
 * Only the path is logged: query strings can carry reset tokens and codes.
 */
export function requestLog(log: Logger): Middleware {
  return async (ctx, next) => {
    const incoming = ctx.get("x-request-id");
    const requestId = VALID_ID.test(incoming) ? incoming : randomUUID();
    ctx.state.requestId = requestId;
    ctx.state.log = log.child({ reqId: requestId });
    ctx.set("X-Request-Id", requestId);
    const started = process.hrtime.bigint();
    try {
      await next();
    } finally {
      const ms = Number(process.hrtime.bigint() - started) / 1e6;
      ctx.state.log.info(
        { method: ctx.method, path: ctx.path, status: ctx.status, ms: Math.round(ms * 10) / 10, ip: ctx.ip },
        "request",
      );
    }
  };
}

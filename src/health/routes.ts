import type { Middleware } from "koa";
import { AppError } from "../errors.js";
import type { Readiness } from "./readiness.js";

/**
 * `/healthz`: the process answers (liveness: restart it if not).
 * `/readyz`: its databases answer too (readiness: send it traffic only if so).
 * Plain middleware placed before sessions and CSRF, so probes answer even when Redis does not.
 *
 * The instance name (the host name by default) and the checks' error texts (addresses, ports)
 * are for callers that `isDirect` accepts; anyone else gets the status code and a generic body.
 */
export function healthRoutes(
  instance: string,
  readiness: () => Promise<Readiness>,
  isDirect: (peer: string | undefined, forwardedFor: string | undefined) => boolean,
): Middleware {
  return async (ctx, next) => {
    if (ctx.path !== "/healthz" && ctx.path !== "/readyz") return next();
    ctx.set("Cache-Control", "no-store");
    if (ctx.method !== "GET" && ctx.method !== "HEAD") {
      ctx.set("Allow", "GET, HEAD");
      throw new AppError(405, "method_not_allowed", "Only GET and HEAD are allowed here.");
    }
    const detail = isDirect(ctx.req.socket.remoteAddress, ctx.get("x-forwarded-for") || undefined);
    if (ctx.path === "/healthz") {
      ctx.body = detail ? { status: "ok", instance } : { status: "ok" };
      return;
    }
    const { ready, checks } = await readiness();
    const status = ready ? "ready" : "unavailable";
    ctx.status = ready ? 200 : 503;
    ctx.body = detail ? { status, instance, checks } : { status };
  };
}

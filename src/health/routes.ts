import type { Middleware } from "koa";
import { AppError } from "../errors.js";
import type { Readiness } from "./readiness.js";

/**
 * `/healthz`: the process answers (liveness: restart it if not).
 * `/readyz`: its databases answer too (readiness: send it traffic only if so).
 * Plain middleware placed before sessions and CSRF, so probes answer even when Redis does not.
 */
export function healthRoutes(instance: string, readiness: () => Promise<Readiness>): Middleware {
  return async (ctx, next) => {
    if (ctx.path !== "/healthz" && ctx.path !== "/readyz") return next();
    ctx.set("Cache-Control", "no-store");
    if (ctx.method !== "GET" && ctx.method !== "HEAD") {
      ctx.set("Allow", "GET, HEAD");
      throw new AppError(405, "method_not_allowed", "Only GET and HEAD are allowed here.");
    }
    if (ctx.path === "/healthz") {
      ctx.body = { status: "ok", instance };
      return;
    }
    const { ready, checks } = await readiness();
    ctx.status = ready ? 200 : 503;
    ctx.body = { status: ready ? "ready" : "unavailable", instance, checks };
  };
}

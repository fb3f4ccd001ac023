import Router from "@koa/router";
import type { Readiness } from "./readiness.js";

/**
 * `/healthz`: the process answers (liveness: restart it if not).
 * `/readyz`: its databases answer too (readiness: send it traffic only if so).
 */
export function healthRoutes(instance: string, readiness: () => Promise<Readiness>): Router {
  const router = new Router();
  router.use(async (ctx, next) => {
    ctx.set("Cache-Control", "no-store");
    await next();
  });
  router.get("/healthz", (ctx) => {
    ctx.body = { status: "ok", instance };
  });
  router.get("/readyz", async (ctx) => {
    const { ready, checks } = await readiness();
    ctx.status = ready ? 200 : 503;
    ctx.body = { status: ready ? "ready" : "unavailable", instance, checks };
  });
  return router;
}

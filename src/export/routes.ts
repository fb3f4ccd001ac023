/** `/profile/export`: the page that explains the download, and the download itself. */
import type Router from "@koa/router";
import type { Logger } from "../logger.js";
import type { Views } from "../views.js";
import { requireUser, signedInUser } from "../accounts/current-user.js";
import { renderPage } from "../http/render.js";
import { spend, type Limiter } from "../http/rate-limit.js";
import { createRouter } from "../http/router.js";
import { exportYourData, type ExportDeps } from "./your-data.js";

export type ExportRoutesDeps = ExportDeps & { views: Views; log: Logger; limiter: Limiter };

export function exportRoutes(deps: ExportRoutesDeps): Router {
  const router = createRouter();

  router.get("/profile/export", requireUser, (ctx) => {
    renderPage(ctx, deps.views, "export", { title: "Download your data" });
  });

  router.post("/profile/export", requireUser, async (ctx) => {
    const userId = String(signedInUser(ctx)._id);
    // Each export reads and decrypts every message the user has: a few an hour is plenty.
    await spend(deps.limiter, userId);
    const zip = await exportYourData(deps, userId);
    zip.on("error", (err) => deps.log.error({ err: err.message }, "an export failed while it was being sent"));
    const day = new Date().toISOString().slice(0, 10);
    ctx.set("Content-Disposition", `attachment; filename="duet-export-${day}.zip"`);
    ctx.set("Cache-Control", "no-store");
    ctx.type = "application/zip";
    ctx.body = zip;
  });

  return router;
}

/** `/profile/export`: the page that explains the download, and the download itself. */
import type Router from "@koa/router";
import type { Context } from "koa";
import type { Logger } from "../logger.js";
import type { Views } from "../views.js";
import { requireUser, signedInUser } from "../accounts/current-user.js";
import { renderPage } from "../http/render.js";
import { spend, type Limiter } from "../http/rate-limit.js";
import { createRouter } from "../http/router.js";
import { exportYourData, type ExportDeps } from "./your-data.js";
import type { AccountLimits } from "../accounts/limits.js";
import { recentlyConfirmed } from "../accounts/reauth.js";
import { hasPasskey } from "../accounts/passkeys.js";
import { formBody } from "../http/forms.js";
import { reauthProblem, sessionOf } from "../accounts/routes/context.js";

export type ExportRoutesDeps = ExportDeps & {
  views: Views;
  log: Logger;
  limiter: Limiter;
  limits: Pick<AccountLimits, "passwordCheckPerUser">;
};

export function exportRoutes(deps: ExportRoutesDeps): Router {
  const router = createRouter();

  const showPage = async (ctx: Context, reauthError?: string) => {
    const user = signedInUser(ctx);
    renderPage(ctx, deps.views, "export", {
      title: "Download your data",
      // The re-authentication field (partials/reauth-field.hbs): a copy of every conversation is sensitive.
      hasPassword: Boolean(user.passwordHash),
      googleLinked: Boolean(user.googleSub),
      hasPasskey: await hasPasskey(String(user._id)),
      scripts: ["js/passkeys.js"],
      confirmed: recentlyConfirmed(sessionOf(ctx).reauthAt),
      reauthNext: "/profile/export",
      reauthError,
    });
  };

  router.get("/profile/export", requireUser, (ctx) => showPage(ctx));

  router.post("/profile/export", requireUser, async (ctx) => {
    const user = signedInUser(ctx);
    const userId = String(user._id);
    const problem = await reauthProblem(ctx, deps.limits, user, formBody(ctx));
    if (problem) {
      ctx.status = 422;
      return showPage(ctx, problem);
    }
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

import type Router from "@koa/router";
import { createRouter } from "../../http/router.js";
import { assertNotLimited, limitKey, spend } from "../../http/rate-limit.js";
import { renderPage } from "../../http/render.js";
import { keep, parseForm } from "../../http/forms.js";
import { forgotForm, resetForm } from "../forms.js";
import { requestPasswordReset, resetPassword } from "../password-reset.js";
import { passwordProblem } from "../passwords.js";
import { peekResetToken } from "../reset-tokens.js";
import { normalizeEmail } from "../user.model.js";
import { afterFirstFactor, type AccountRoutesDeps } from "./context.js";

export function resetRoutes(deps: AccountRoutesDeps): Router {
  const { views, limits } = deps;
  const router = createRouter();

  router.get("/forgot", (ctx) => {
    renderPage(ctx, views, "accounts/forgot", { title: "Reset your password", values: {} });
  });

  router.post("/forgot", async (ctx) => {
    const form = parseForm(ctx, forgotForm);
    if (!form.ok) {
      ctx.status = 422;
      return renderPage(ctx, views, "accounts/forgot", {
        title: "Reset your password",
        values: keep(form.body, ["email"]),
        errors: form.errors,
      });
    }
    await spend(limits.forgotPerIp, ctx.ip);
    const email = normalizeEmail(form.values.email);
    // Over the per-address limit nothing is sent, and the answer stays the same.
    const underLimit = await limits.forgotPerEmail.consume(limitKey(email)).then(
      () => true,
      () => false,
    );
    if (underLimit) await requestPasswordReset(deps, email);
    renderPage(ctx, views, "accounts/forgot-sent", { title: "Check your email", email });
  });

  router.get("/reset", async (ctx) => {
    const token = typeof ctx.query.token === "string" ? ctx.query.token : "";
    // The token is in the URL of this page only; keep it out of Referer headers to other sites.
    ctx.set("Referrer-Policy", "no-referrer");
    if (!(await peekResetToken(token))) {
      ctx.status = 410;
      return renderPage(ctx, views, "accounts/reset-invalid", { title: "This link no longer works" });
    }
    renderPage(ctx, views, "accounts/reset", { title: "Choose a new password", token });
  });

  router.post("/reset", async (ctx) => {
    await assertNotLimited(limits.codePerIp, ctx.ip);
    const form = parseForm(ctx, resetForm);
    const weak = form.ok ? passwordProblem(form.values.password) : undefined;
    if (!form.ok || weak) {
      ctx.status = 422;
      return renderPage(ctx, views, "accounts/reset", {
        title: "Choose a new password",
        token: typeof form.body.token === "string" ? form.body.token : "",
        errors: form.ok ? { password: weak } : form.errors,
      });
    }
    const userId = await resetPassword(deps, form.values.token, form.values.password);
    if (!userId) {
      await spend(limits.codePerIp, ctx.ip);
      ctx.status = 410;
      return renderPage(ctx, views, "accounts/reset-invalid", { title: "This link no longer works" });
    }
    // The link proves the mailbox, not the second factor: with two-factor on, the code is still asked.
    await afterFirstFactor(ctx, deps, userId, "/profile?reset=1");
  });

  return router;
}

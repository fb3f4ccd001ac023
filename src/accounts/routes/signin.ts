import type Router from "@koa/router";
import { createRouter } from "../../http/router.js";
import { AppError } from "../../errors.js";
import { rotateCsrf } from "../../http/csrf.js";
import { safeNext } from "../current-user.js";
import { assertNotLimited, limitKey, spend } from "../../http/rate-limit.js";
import { renderPage } from "../../http/render.js";
import { keep, parseForm } from "../../http/forms.js";
import { signInForm } from "../forms.js";
import { checkSignIn } from "../signin.js";
import { normalizeEmail } from "../user.model.js";
import { afterFirstFactor, sessionOf, type AccountRoutesDeps } from "./context.js";

// The sign-in page offers "Sign in with a passkey" (src/client/passkeys.ts).
const PASSKEY_SCRIPTS = ["js/passkeys.js"];

// One message for "no such account" and "wrong password", so the form reveals neither.
const WRONG = "That email and password don't match an account.";

export function signInRoutes(deps: AccountRoutesDeps): Router {
  const { views, config, limits } = deps;
  const router = createRouter();

  router.get("/signin", (ctx) => {
    if (ctx.state.user) return ctx.redirect(safeNext(ctx.query.next));
    renderPage(ctx, views, "accounts/signin", {
      title: "Sign in",
      values: {},
      next: safeNext(ctx.query.next),
      reset: ctx.query.reset === "1",
      deleted: ctx.query.deleted === "1",
      scripts: PASSKEY_SCRIPTS,
    });
  });

  router.post("/signin", async (ctx) => {
    const form = parseForm(ctx, signInForm);
    const body = form.body;
    const next = safeNext(body.next);
    const show = (status: number, errors: Record<string, string>) => {
      ctx.status = status;
      renderPage(ctx, views, "accounts/signin", {
        title: "Sign in",
        values: keep(body, ["email"]),
        next,
        errors,
        scripts: PASSKEY_SCRIPTS,
      });
    };
    if (!form.ok) return show(422, form.errors);

    const email = normalizeEmail(form.values.email);
    const accountKey = limitKey(email);
    /** Runs a limit check; a 429 becomes the form's message, anything else stays an error. */
    const limited = async (check: () => Promise<void>): Promise<string | undefined> => {
      try {
        await check();
        return undefined;
      } catch (err) {
        if (err instanceof AppError && err.status === 429) return err.message;
        throw err;
      }
    };
    const blocked = await limited(async () => {
      await assertNotLimited(limits.signInPerIp, ctx.ip);
      await assertNotLimited(limits.signInPerAccount, accountKey);
    });
    if (blocked) return show(429, { form: blocked });

    const checked = await checkSignIn(deps, email, form.values.password);
    if (checked.kind === "wrong") {
      const exhausted = await limited(async () => {
        await spend(limits.signInPerIp, ctx.ip);
        await spend(limits.signInPerAccount, accountKey);
      });
      return show(exhausted ? 429 : 401, { form: exhausted ?? WRONG });
    }
    await limits.signInPerAccount.delete(accountKey);

    if (checked.kind === "needs-code") {
      // The password is right but the address was never confirmed: finish sign-up first.
      sessionOf(ctx).pending = checked.pending;
      return ctx.redirect("/signup/verify");
    }
    await afterFirstFactor(ctx, deps, checked.userId, next);
  });

  router.post("/signout", (ctx) => {
    ctx.session = null;
    // Messages queued in this browser but never sent are plaintext in localStorage: a shared
    // computer must not keep them after sign-out. The browser clears them on this response.
    ctx.set("Clear-Site-Data", '"cache", "storage"');
    rotateCsrf(ctx, config);
    ctx.redirect("/");
  });

  return router;
}

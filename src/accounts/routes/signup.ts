import type Router from "@koa/router";
import type { Context } from "koa";
import { createRouter } from "../../http/router.js";
import { renderPage } from "../../http/render.js";
import { keep, parseForm } from "../../http/forms.js";
import { assertNotLimited, limitKey, retryIn, spend } from "../../http/rate-limit.js";
import { codeForm, signUpForm } from "../forms.js";
import { withinCodeCap } from "../limits.js";
import { passwordProblem } from "../passwords.js";
import { resendSignUpCode, startSignUp, verifySignUp, type PendingSignUp, type VerifyResult } from "../signup.js";
import { beginSession, sessionOf, wrongCodeMessage, type AccountRoutesDeps } from "./context.js";

const CODE_MESSAGES = {
  expired: "That code has expired. Ask for a new one below.",
  locked: "Too many wrong codes. Ask for a new one below.",
  taken: "This address already has an account. Sign in instead.",
};

/** The sign-up this browser is confirming; a session from an earlier version's sign-up has none. */
function pendingOf(ctx: Context): PendingSignUp | undefined {
  const pending = ctx.session?.pending;
  return typeof pending?.attemptId === "string" && typeof pending.email === "string" ? pending : undefined;
}

function codeMessage(result: Exclude<VerifyResult, { ok: true }> | { reason: "capped"; retryInMs: number }): string {
  switch (result.reason) {
    case "wrong":
      if (result.attemptsLeft === 0) return CODE_MESSAGES.locked;
      return wrongCodeMessage(result.attemptsLeft);
    case "capped":
      return `Too many wrong codes for this address. ${retryIn(result.retryInMs)}`;
    default:
      return CODE_MESSAGES[result.reason];
  }
}

export function signUpRoutes(deps: AccountRoutesDeps): Router {
  const { views, limits } = deps;
  const router = createRouter();

  router.get("/signup", (ctx) => {
    if (ctx.state.user) return ctx.redirect("/profile");
    renderPage(ctx, views, "accounts/signup", { title: "Create your account", values: {} });
  });

  router.post("/signup", async (ctx) => {
    const form = parseForm(ctx, signUpForm);
    const weak = form.ok ? passwordProblem(form.values.password, form.values.email) : undefined;
    if (!form.ok || weak) {
      ctx.status = 422;
      return renderPage(ctx, views, "accounts/signup", {
        title: "Create your account",
        values: keep(form.body, ["email", "displayName"]),
        errors: form.ok ? { password: weak } : form.errors,
      });
    }
    await spend(limits.signUpPerIp, ctx.ip);
    sessionOf(ctx).pending = await startSignUp(deps, form.values);
    ctx.redirect("/signup/verify");
  });

  router.get("/signup/verify", (ctx) => {
    const pending = pendingOf(ctx);
    if (!pending) return ctx.redirect("/signup");
    renderPage(ctx, views, "accounts/verify", {
      title: "Check your email",
      email: pending.email,
      resent: ctx.query.resent === "1",
    });
  });

  router.post("/signup/verify", async (ctx) => {
    const pending = pendingOf(ctx);
    if (!pending) return ctx.redirect("/signup");
    await assertNotLimited(limits.codePerIp, ctx.ip);
    const show = (status: number, errors: Record<string, string>) => {
      ctx.status = status;
      renderPage(ctx, views, "accounts/verify", { title: "Check your email", email: pending.email, errors });
    };
    const form = parseForm(ctx, codeForm);
    if (!form.ok) return show(422, form.errors);

    // Counted per address, not per attempt: new attempts and resends do not buy more guesses.
    const result = await withinCodeCap(limits.signUpCodesPerAddress, limitKey(pending.email), () =>
      verifySignUp(deps, pending.attemptId, form.values.code),
    );
    if (result.ok) {
      await beginSession(ctx, deps, result.userId, { newAccount: true });
      return ctx.redirect("/chat?welcome=1");
    }
    await spend(limits.codePerIp, ctx.ip);
    show(result.reason === "capped" ? 429 : 422, { code: codeMessage(result) });
  });

  router.post("/signup/resend", async (ctx) => {
    const pending = pendingOf(ctx);
    if (!pending) return ctx.redirect("/signup");
    await spend(limits.codePerIp, ctx.ip);
    const result = await resendSignUpCode(deps, pending.attemptId);
    if (result.ok) return ctx.redirect("/signup/verify?resent=1");
    if (result.reason === "gone") {
      // Kept a day after its last code expired; after that, signing up again is the way.
      delete sessionOf(ctx).pending;
      return ctx.redirect("/signup");
    }
    ctx.status = 429;
    renderPage(ctx, views, "accounts/verify", {
      title: "Check your email",
      email: pending.email,
      errors: { resend: `You can ask for another code in ${result.retryInSeconds} seconds.` },
    });
  });

  return router;
}

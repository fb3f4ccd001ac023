import type Router from "@koa/router";
import { createRouter } from "../../http/router.js";
import { renderPage, fieldErrors } from "../../http/render.js";
import { assertNotLimited, spend } from "../../http/rate-limit.js";
import { codeForm, signUpForm } from "../forms.js";
import { passwordProblem } from "../passwords.js";
import { resendSignUpCode, startSignUp, verifySignUp, type Pending } from "../signup.js";
import { beginSession, formBody, keep, sessionOf, type AccountRoutesDeps } from "./context.js";

const CODE_MESSAGES = {
  expired: "That code has expired. Ask for a new one below.",
  locked: "Too many wrong codes. Ask for a new one below.",
};

export function signUpRoutes(deps: AccountRoutesDeps): Router {
  const { views, config, limits } = deps;
  const router = createRouter();

  router.get("/signup", (ctx) => {
    if (ctx.state.user) return ctx.redirect("/profile");
    renderPage(ctx, views, "accounts/signup", { title: "Create your account", values: {} });
  });

  router.post("/signup", async (ctx) => {
    const body = formBody(ctx);
    const parsed = signUpForm.safeParse(body);
    const errors = parsed.success ? {} : fieldErrors(parsed.error.issues);
    const weak = parsed.success ? passwordProblem(parsed.data.password, parsed.data.email) : undefined;
    if (!parsed.success || weak) {
      ctx.status = 422;
      return renderPage(ctx, views, "accounts/signup", {
        title: "Create your account",
        values: keep(body, ["email", "displayName"]),
        errors: weak ? { ...errors, password: weak } : errors,
      });
    }
    await spend(limits.signUpPerIp, ctx.ip);
    const pending = await startSignUp(deps, parsed.data);
    sessionOf(ctx).pending = pending;
    ctx.redirect("/signup/verify");
  });

  router.get("/signup/verify", (ctx) => {
    const pending = ctx.session?.pending;
    if (!pending) return ctx.redirect("/signup");
    renderPage(ctx, views, "accounts/verify", {
      title: "Check your email",
      email: pending.email,
      resent: ctx.query.resent === "1",
    });
  });

  router.post("/signup/verify", async (ctx) => {
    const pending = ctx.session?.pending as Pending | undefined;
    if (!pending) return ctx.redirect("/signup");
    await assertNotLimited(limits.codePerIp, ctx.ip);
    const parsed = codeForm.safeParse(formBody(ctx));
    if (!parsed.success) {
      ctx.status = 422;
      return renderPage(ctx, views, "accounts/verify", {
        title: "Check your email",
        email: pending.email,
        errors: fieldErrors(parsed.error.issues),
      });
    }
    const result = await verifySignUp(deps, pending, parsed.data.code);
    if (result.ok) {
      await beginSession(ctx, config, result.userId);
      return ctx.redirect("/profile?welcome=1");
    }
    await spend(limits.codePerIp, ctx.ip);
    sessionOf(ctx).pending = { ...pending };
    ctx.status = 422;
    const message =
      result.reason === "wrong"
        ? `That code isn't right. ${result.attemptsLeft} ${result.attemptsLeft === 1 ? "try" : "tries"} left.`
        : CODE_MESSAGES[result.reason];
    renderPage(ctx, views, "accounts/verify", { title: "Check your email", email: pending.email, errors: { code: message } });
  });

  router.post("/signup/resend", async (ctx) => {
    const pending = ctx.session?.pending as Pending | undefined;
    if (!pending) return ctx.redirect("/signup");
    await spend(limits.codePerIp, ctx.ip);
    const result = await resendSignUpCode(deps, pending);
    if (result.ok) {
      sessionOf(ctx).pending = { ...pending, sentAt: Date.now(), wrongTries: 0 };
      return ctx.redirect("/signup/verify?resent=1");
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

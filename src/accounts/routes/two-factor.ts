/**
 * Two-factor: the code page between the password (or Google) and a signed-in session, and the
 * profile's page to turn it on (scan, confirm with a code, keep the recovery codes), renew the
 * recovery codes and turn it off. Wrong codes count against one limit per account, whichever
 * page they were typed on and whichever instance answered.
 */
import type Router from "@koa/router";
import type { Context } from "koa";
import { createRouter } from "../../http/router.js";
import { retryIn } from "../../http/rate-limit.js";
import { renderPage } from "../../http/render.js";
import { requireUser, signedInUser, signedInUserId } from "../current-user.js";
import { withinCodeCap } from "../limits.js";
import { recentlyConfirmed } from "../reauth.js";
import { hasPasskey } from "../passkeys.js";
import {
  checkSecondFactor,
  confirmEnrolment,
  enrolmentView,
  renewRecoveryCodes,
  startEnrolment,
  turnOffTwoFactor,
  twoFactorStatus,
} from "../two-factor.js";
import { formBody } from "../../http/forms.js";
import { afterSecondFactor, reauthProblem, SECOND_FACTOR_PATH, sessionOf, type AccountRoutesDeps } from "./context.js";

const SETUP_WINDOW_MS = 15 * 60_000;
// Routes spell their paths out: scripts/attack/routes.test.ts reads them from the source.
const MANAGE_PATH = "/profile/two-factor";
// A passkey also does: as the second step at sign-in, and as the proof before changes here.
const PASSKEY_SCRIPTS = ["js/passkeys.js"];

const field = (body: Record<string, unknown>, name: string) =>
  typeof body[name] === "string" ? (body[name] as string).trim().slice(0, 64) : "";

/** The message for a code that did not pass. */
function codeProblem(result: { reason: string; retryInMs?: number }) {
  switch (result.reason) {
    case "capped":
      return `Too many wrong codes. ${retryIn(result.retryInMs ?? 60_000)}`;
    case "used":
      return "That code was already used. Wait for the next one in your app.";
    default:
      return "That code isn't right. Check that your phone's clock is correct.";
  }
}

export function twoFactorRoutes(deps: AccountRoutesDeps): Router {
  const { views, limits } = deps;
  const router = createRouter();

  // ---- Signing in: the second step ----

  const pendingSignIn = (ctx: Context) => {
    const pending = sessionOf(ctx).secondFactor;
    return pending && pending.until > Date.now() ? pending : undefined;
  };
  const showCodePage = (ctx: Context, recovery: boolean, error?: string) =>
    renderPage(ctx, views, "accounts/two-factor-signin", {
      title: "Two-factor code",
      recovery,
      error,
      scripts: PASSKEY_SCRIPTS,
    });
  const expired = (ctx: Context) => {
    ctx.status = 410;
    renderPage(ctx, views, "accounts/two-factor-expired", { title: "Sign in again" });
  };

  router.get(SECOND_FACTOR_PATH, (ctx) => {
    if (!pendingSignIn(ctx)) return expired(ctx);
    showCodePage(ctx, ctx.query.recovery === "1");
  });

  router.post(SECOND_FACTOR_PATH, async (ctx) => {
    const pending = pendingSignIn(ctx);
    if (!pending) return expired(ctx);
    const body = formBody(ctx);
    const recovery = "recoveryCode" in body;
    const input = recovery ? { recoveryCode: field(body, "recoveryCode") } : { code: field(body, "code").replace(/\s+/g, "") };
    const result = await withinCodeCap(limits.secondFactorPerAccount, pending.userId, () =>
      checkSecondFactor(deps, pending.userId, input),
    );
    if (result.ok) {
      const next = await afterSecondFactor(ctx, deps, pending);
      return ctx.redirect(result.via === "recovery" ? `${MANAGE_PATH}?recoveryLeft=${result.recoveryCodesLeft}` : next);
    }
    // Two-factor was turned off meanwhile: the session is not signed in; start again.
    if (result.reason === "off") return expired(ctx);
    ctx.status = result.reason === "capped" ? 429 : 422;
    showCodePage(ctx, recovery, codeProblem(result));
  });

  // ---- The profile's two-factor page ----

  async function showManage(ctx: Context, extra: Record<string, unknown> = {}) {
    const user = signedInUser(ctx);
    const userId = String(user._id);
    const session = sessionOf(ctx);
    const status = await twoFactorStatus(userId);
    const setup = !status && session.totpSetup && session.totpSetup.until > Date.now() ? session.totpSetup : undefined;
    const left = typeof ctx.query.recoveryLeft === "string" ? Number.parseInt(ctx.query.recoveryLeft, 10) : NaN;
    renderPage(ctx, views, "accounts/two-factor", {
      title: "Two-factor sign-in",
      status,
      setup: setup ? await enrolmentView(deps, userId, setup.sealed, user.email) : undefined,
      hasPassword: Boolean(user.passwordHash),
      googleLinked: Boolean(user.googleSub),
      hasPasskey: await hasPasskey(userId),
      scripts: PASSKEY_SCRIPTS,
      confirmed: recentlyConfirmed(session.reauthAt),
      reauthNext: MANAGE_PATH,
      recoveryLeft: Number.isInteger(left) && left >= 0 ? left : undefined,
      notice: ctx.query.off === "1" ? "Two-factor sign-in is off." : undefined,
      ...extra,
    });
  }
  /** Shows the recovery codes, once: they are in this response and nowhere else. */
  const showRecoveryCodes = (ctx: Context, codes: string[], renewed: boolean) =>
    renderPage(ctx, views, "accounts/recovery-codes", { title: "Your recovery codes", codes, renewed });

  router.get("/profile/two-factor", requireUser, (ctx) => showManage(ctx));

  router.post("/profile/two-factor/setup", requireUser, async (ctx) => {
    const user = signedInUser(ctx);
    const problem = await reauthProblem(ctx, limits, user, formBody(ctx));
    if (problem) {
      ctx.status = 422;
      return showManage(ctx, { setupError: problem });
    }
    sessionOf(ctx).totpSetup = { sealed: startEnrolment(deps, String(user._id)), until: Date.now() + SETUP_WINDOW_MS };
    ctx.redirect(`${MANAGE_PATH}#setup`);
  });

  router.post("/profile/two-factor/confirm", requireUser, async (ctx) => {
    const userId = signedInUserId(ctx);
    const session = sessionOf(ctx);
    const setup = session.totpSetup;
    if (!setup || setup.until <= Date.now()) {
      ctx.status = 410;
      return showManage(ctx, { setupError: "That set-up took too long. Start again: you'll get a new QR code." });
    }
    const code = field(formBody(ctx), "code").replace(/\s+/g, "");
    const result = await withinCodeCap(limits.secondFactorPerAccount, userId, () =>
      confirmEnrolment(deps, userId, setup.sealed, code),
    );
    if (!result.ok) {
      if (result.reason === "already" || result.reason === "expired") delete session.totpSetup;
      ctx.status = result.reason === "capped" ? 429 : 422;
      const message =
        result.reason === "already"
          ? "Two-factor sign-in is already on."
          : result.reason === "expired"
            ? "That set-up no longer works. Start again."
            : codeProblem(result);
      return showManage(ctx, { confirmError: message });
    }
    delete session.totpSetup;
    showRecoveryCodes(ctx, result.recoveryCodes, false);
  });

  router.post("/profile/two-factor/recovery-codes", requireUser, async (ctx) => {
    const user = signedInUser(ctx);
    const problem = await reauthProblem(ctx, limits, user, formBody(ctx));
    if (problem) {
      ctx.status = 422;
      return showManage(ctx, { renewError: problem });
    }
    const codes = await renewRecoveryCodes(String(user._id));
    if (!codes) return ctx.redirect(MANAGE_PATH);
    showRecoveryCodes(ctx, codes, true);
  });

  router.post("/profile/two-factor/disable", requireUser, async (ctx) => {
    const user = signedInUser(ctx);
    const userId = String(user._id);
    const body = formBody(ctx);
    const problem = await reauthProblem(ctx, limits, user, body);
    if (problem) {
      ctx.status = 422;
      return showManage(ctx, { disableErrors: { currentPassword: problem } });
    }
    // A recovery code also counts: whoever lost the phone turns two-factor off to set up the new one.
    const typed = field(body, "code");
    const input = /^\d[\d\s]{5,}$/.test(typed) ? { code: typed.replace(/\s+/g, "") } : { recoveryCode: typed };
    const result = await withinCodeCap(limits.secondFactorPerAccount, userId, () => checkSecondFactor(deps, userId, input));
    if (!result.ok) {
      if (result.reason === "off") return ctx.redirect(MANAGE_PATH);
      ctx.status = result.reason === "capped" ? 429 : 422;
      return showManage(ctx, { disableErrors: { code: codeProblem(result) } });
    }
    await turnOffTwoFactor(deps, userId);
    ctx.redirect(`${MANAGE_PATH}?off=1`);
  });

  return router;
}

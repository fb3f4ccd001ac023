/**
 * Passkeys: the profile's page to add (after re-authentication), rename and remove them; signing
 * in with a passkey alone; a passkey as the proof for sensitive changes, and as the second step
 * after a password or Google. The ceremonies are JSON between the page's script
 * (src/client/passkeys.ts) and these routes: options out, the device's signed answer back.
 * Every refusal is a JSON `{ error }` with a message for the page, and changes nothing.
 */
import type Router from "@koa/router";
import type { Context } from "koa";
import { createRouter } from "../../http/router.js";
import { renderPage } from "../../http/render.js";
import { spend } from "../../http/rate-limit.js";
import { requireUser, safeNext, signedInUser, signedInUserId } from "../current-user.js";
import {
  authenticateWithPasskey,
  authenticationOptions,
  listPasskeys,
  PASSKEY_PROBLEMS,
  passkeyName,
  registerPasskey,
  registrationOptions,
  relyingParty,
  removePasskey,
  renamePasskey,
  type PasskeyDeps,
  type PasskeyProblem,
} from "../passkeys.js";
import { recentlyConfirmed } from "../reauth.js";
import { sendInBackground } from "../deps.js";
import { formBody } from "../../http/forms.js";
import { afterSecondFactor, beginSession, reauthProblem, sessionOf, type AccountRoutesDeps } from "./context.js";

// Routes spell their paths out: scripts/attack/routes.test.ts reads them from the source.
const PAGE = "/profile/passkeys";
const NOTICES: Record<string, string> = {
  added: "Your passkey was added. You can sign in with it alone from now on.",
  renamed: "The passkey was renamed.",
  removed: "The passkey was removed.",
};

export function passkeyRoutes(deps: AccountRoutesDeps): Router {
  const { views, limits } = deps;
  const passkeys: PasskeyDeps = { redis: deps.redis, rp: relyingParty(deps.config.publicUrl) };
  const router = createRouter();

  const refuse = (ctx: Context, status: number, error: string) => {
    ctx.status = status;
    ctx.body = { error };
  };
  const refusePasskey = (ctx: Context, reason: PasskeyProblem) =>
    refuse(ctx, PASSKEY_PROBLEMS[reason].status, PASSKEY_PROBLEMS[reason].message);

  async function showPage(ctx: Context, extra: Record<string, unknown> = {}) {
    const user = signedInUser(ctx);
    const list = await listPasskeys(signedInUserId(ctx));
    const notice = Object.keys(NOTICES).find((k) => ctx.query[k] === "1");
    renderPage(ctx, views, "accounts/passkeys", {
      title: "Passkeys",
      passkeys: list,
      hasPassword: Boolean(user.passwordHash),
      googleLinked: Boolean(user.googleSub),
      hasPasskey: list.length > 0,
      confirmed: recentlyConfirmed(sessionOf(ctx).reauthAt),
      reauthNext: PAGE,
      notice: notice ? NOTICES[notice] : undefined,
      scripts: ["js/passkeys.js"],
      ...extra,
    });
  }

  // ---- The profile's page ----

  router.get("/profile/passkeys", requireUser, (ctx) => showPage(ctx));

  // Adding needs a recent proof that it's the owner: a password typed here, or one from the last ten minutes.
  router.post("/profile/passkeys/options", requireUser, async (ctx) => {
    const problem = await reauthProblem(ctx, limits, signedInUser(ctx), formBody(ctx));
    if (problem) return refuse(ctx, 422, problem);
    ctx.body = { options: await registrationOptions(passkeys, sessionOf(ctx), signedInUserId(ctx)) };
  });

  router.post("/profile/passkeys", requireUser, async (ctx) => {
    const session = sessionOf(ctx);
    if (!recentlyConfirmed(session.reauthAt)) {
      delete session.passkeyChallenge;
      return refuse(ctx, 422, "Confirm it's you again first (it counts for 10 minutes).");
    }
    const body = formBody(ctx);
    const result = await registerPasskey(passkeys, session, signedInUserId(ctx), {
      response: body.response,
      name: passkeyName(body.name),
    });
    if (!result.ok) return refusePasskey(ctx, result.reason);
    // A new way into the account: its owner hears of it, in case it was not them.
    const user = signedInUser(ctx);
    sendInBackground(deps, user.email, "passkey-added", {
      displayName: user.displayName,
      name: result.name,
      changedAt: new Date(),
      passkeysLink: `${deps.publicUrl}${PAGE}`,
      sessionsLink: `${deps.publicUrl}/profile#sessions`,
    });
    ctx.body = { ok: true, redirect: `${PAGE}?added=1` };
  });

  router.post("/profile/passkeys/:id/rename", requireUser, async (ctx) => {
    const name = passkeyName(formBody(ctx).name);
    if (!name) {
      ctx.status = 422;
      return showPage(ctx, { renameErrors: { [ctx.params.id ?? ""]: "Give the passkey a name." } });
    }
    if (!(await renamePasskey(signedInUserId(ctx), ctx.params.id ?? "", name))) return notYours(ctx);
    ctx.redirect(`${PAGE}?renamed=1`);
  });

  router.post("/profile/passkeys/:id/remove", requireUser, async (ctx) => {
    const problem = await reauthProblem(ctx, limits, signedInUser(ctx), formBody(ctx));
    if (problem) {
      ctx.status = 422;
      return showPage(ctx, { removeErrors: { [ctx.params.id ?? ""]: problem } });
    }
    if (!(await removePasskey(signedInUserId(ctx), ctx.params.id ?? ""))) return notYours(ctx);
    ctx.redirect(`${PAGE}?removed=1`);
  });

  /** Another account's passkey, or none: the same answer, so ids cannot be probed. */
  function notYours(ctx: Context) {
    ctx.status = 404;
    return showPage(ctx, { error: "That passkey isn't one of yours (it may have been removed already)." });
  }

  // ---- Signing in with a passkey alone ----

  router.post("/signin/passkey/options", async (ctx) => {
    ctx.body = { options: await authenticationOptions(passkeys, sessionOf(ctx), "signin") };
  });

  router.post("/signin/passkey", async (ctx) => {
    const body = formBody(ctx);
    const result = await authenticateWithPasskey(passkeys, sessionOf(ctx), "signin", body.response);
    if (!result.ok) {
      await spend(limits.signInPerIp, ctx.ip);
      return refusePasskey(ctx, result.reason);
    }
    // The device verified its user: the passkey is both factors, so no two-factor code follows.
    await beginSession(ctx, deps, result.userId);
    ctx.body = { ok: true, redirect: safeNext(body.next) };
  });

  // ---- A passkey as the second step after a password or Google ----

  const pendingSecondFactor = (ctx: Context) => {
    const pending = sessionOf(ctx).secondFactor;
    return pending && pending.until > Date.now() ? pending : undefined;
  };

  router.post("/signin/two-factor/passkey/options", async (ctx) => {
    const pending = pendingSecondFactor(ctx);
    if (!pending) return refuse(ctx, 410, "That sign-in took too long. Sign in again.");
    ctx.body = { options: await authenticationOptions(passkeys, sessionOf(ctx), "second-factor", pending.userId) };
  });

  router.post("/signin/two-factor/passkey", async (ctx) => {
    const pending = pendingSecondFactor(ctx);
    if (!pending) return refuse(ctx, 410, "That sign-in took too long. Sign in again.");
    const result = await authenticateWithPasskey(
      passkeys,
      sessionOf(ctx),
      "second-factor",
      formBody(ctx).response,
      pending.userId,
    );
    if (!result.ok) return refusePasskey(ctx, result.reason);
    ctx.body = { ok: true, redirect: await afterSecondFactor(ctx, deps, pending) };
  });

  // ---- A passkey as the proof before a sensitive change ----

  router.post("/reauth/passkey/options", requireUser, async (ctx) => {
    ctx.body = { options: await authenticationOptions(passkeys, sessionOf(ctx), "reauth", signedInUserId(ctx)) };
  });

  router.post("/reauth/passkey", requireUser, async (ctx) => {
    const session = sessionOf(ctx);
    const result = await authenticateWithPasskey(passkeys, session, "reauth", formBody(ctx).response, signedInUserId(ctx));
    if (!result.ok) {
      await spend(limits.passwordCheckPerUser, signedInUserId(ctx));
      return refusePasskey(ctx, result.reason);
    }
    session.reauthAt = Date.now();
    ctx.body = { ok: true };
  });

  return router;
}

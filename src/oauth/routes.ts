/**
 * "Continue with Google": start (grant) → provider → callback (grant exchanges the code) →
 * done (verify the ID token, then sign in, create, or ask for the local password to link).
 * Mounted only when Google is configured; otherwise every /auth/google path is a 404.
 */
import { timingSafeEqual } from "node:crypto";
import type Router from "@koa/router";
import { createRouter } from "../http/router.js";
import type { Context } from "koa";
import { formBody } from "../http/forms.js";
import { afterFirstFactor, beginSession, type AccountRoutesDeps } from "../accounts/routes/context.js";
import { saveAvatar } from "../accounts/avatars.js";
import { requireUser, safeNext, signedInUserId } from "../accounts/current-user.js";
import { assertNotLimited, limitKey, spend } from "../http/rate-limit.js";
import { renderPage } from "../http/render.js";
import type { Views } from "../views.js";
import type { Config, GoogleConfig } from "../config.js";
import {
  awaitingCallback,
  GOOGLE_CALLBACK_PATH,
  GOOGLE_DONE_PATH,
  GOOGLE_REAUTH_PATH,
  GOOGLE_START_PATH,
  googleGrant,
  oauthSession,
  providerAnswer,
} from "./grant.js";
import { IdTokenError, idTokenVerifier, type IdentityClaims, type VerifyIdToken } from "./id-token.js";
import { isAccountPassword, linkWithPassword, resolveGoogleSignIn, unlinkGoogle } from "./link.js";
import { hasTwoFactor } from "../accounts/two-factor.js";
import { fetchPicture } from "./picture.js";
import { PROBLEMS, type ProblemReason } from "./problems.js";

const sameSub = (a: string, b: string) => {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
};

export const GOOGLE_LINK_PATH = "/auth/google/link";
const LINK_WINDOW_MS = 10 * 60_000;

/** Views whose every page knows whether to offer Google (the sign-in, sign-up and profile pages do). */
export function withGoogleFlag(views: Views, config: Pick<Config, "google">): Views {
  if (!config.google) return views;
  return { ...views, render: (page, data, layout) => views.render(page, { googleSignIn: true, ...data }, layout) };
}

export function googleRoutes(deps: AccountRoutesDeps, google: GoogleConfig, verify?: VerifyIdToken): Router {
  const { config, views, log, limits } = deps;
  const grantMiddleware = googleGrant(config, google);
  const verifyIdToken = verify ?? idTokenVerifier(google);
  const router = createRouter();

  function problem(ctx: Context, reason: ProblemReason, message?: string) {
    const page = PROBLEMS[reason];
    ctx.status = page.status;
    renderPage(ctx, views, "oauth/problem", { ...page, message: message ?? page.message });
  }

  router.get(GOOGLE_START_PATH, async (ctx, next) => {
    const session = oauthSession(ctx);
    delete session.grant;
    delete session.googleLink;
    delete session.googleReauth;
    // Nothing in the URL may reach grant: its `dynamic` overrides stay off, and this makes sure.
    ctx.request.query = {};
    await grantMiddleware(ctx, next);
  });

  // Confirming it's you before a sensitive change: Google must ask for its password again, and
  // must answer with the Google account linked to this user (checked in the done step).
  router.get(GOOGLE_REAUTH_PATH, requireUser, async (ctx, next) => {
    const session = oauthSession(ctx);
    delete session.grant;
    delete session.googleLink;
    session.googleReauth = {
      userId: signedInUserId(ctx),
      next: safeNext(ctx.query.next),
      expiresAt: Date.now() + LINK_WINDOW_MS,
    };
    ctx.request.query = {};
    await grantMiddleware(ctx, next);
  });

  router.get(GOOGLE_CALLBACK_PATH, async (ctx, next) => {
    const session = oauthSession(ctx);
    // Without a pending sign-in grant would skip its state check: a forged or replayed callback.
    if (!awaitingCallback(session.grant)) {
      delete session.grant;
      log.warn("google callback without a pending sign-in");
      return problem(ctx, "used");
    }
    await grantMiddleware(ctx, next);
  });

  router.get(GOOGLE_DONE_PATH, async (ctx) => {
    const session = oauthSession(ctx);
    // Consumed here, whatever happens next: the tokens leave the session and cannot be used twice.
    const pending = session.grant;
    delete session.grant;
    const answer = providerAnswer(pending);
    if (!answer.ok) {
      log.warn({ reason: answer.reason, detail: answer.detail }, "google sign-in refused");
      return problem(ctx, answer.reason);
    }
    let claims: IdentityClaims;
    try {
      claims = await verifyIdToken(answer.idToken, answer.nonce);
    } catch (err) {
      if (!(err instanceof IdTokenError)) throw err;
      log.warn({ err }, "google ID token refused");
      return problem(ctx, err.reason === "unreachable" ? "provider" : "invalid");
    }
    if (!claims.emailVerified) return problem(ctx, "unverified");

    const reauth = session.googleReauth;
    delete session.googleReauth;
    if (reauth && reauth.expiresAt > Date.now() && ctx.state.user && String(ctx.state.user._id) === reauth.userId) {
      if (!ctx.state.user.googleSub || !sameSub(ctx.state.user.googleSub, claims.sub)) return problem(ctx, "otherAccount");
      session.reauthAt = Date.now();
      return ctx.redirect(reauth.next);
    }

    const signedIn = ctx.state.user ? String(ctx.state.user._id) : undefined;
    const outcome = await resolveGoogleSignIn(claims, signedIn);
    switch (outcome.kind) {
      case "conflict":
        return problem(ctx, "conflict", outcome.message);
      case "needs-password":
        session.googleLink = {
          userId: outcome.userId,
          sub: claims.sub,
          email: outcome.email,
          expiresAt: Date.now() + LINK_WINDOW_MS,
        };
        return ctx.redirect(GOOGLE_LINK_PATH);
      case "linked":
        return ctx.redirect("/profile?googleLinked=1#google");
      case "created":
        await savePicture(outcome.userId, claims.picture);
        await beginSession(ctx, deps, outcome.userId, { newAccount: true });
        return ctx.redirect("/profile?googleWelcome=1");
      case "signed-in":
        // Google is the first factor only: an account with two-factor on is asked for its code.
        return afterFirstFactor(ctx, deps, outcome.userId, "/profile");
    }
  });

  /** The Google picture as the avatar; initials stay when it cannot be fetched safely. */
  async function savePicture(userId: string, url: string | undefined) {
    try {
      const image = await fetchPicture(url, google.pictureOrigins);
      if (!image) return;
      await saveAvatar(userId, image);
    } catch (err) {
      log.warn({ err }, "google profile picture not used");
    }
  }

  const pendingLink = (ctx: Context) => {
    const link = oauthSession(ctx).googleLink;
    return link && link.expiresAt > Date.now() ? link : undefined;
  };
  const showLink = (ctx: Context, email: string, error?: string) =>
    renderPage(ctx, views, "oauth/link", { title: "Link your Google account", email, error });

  router.get(GOOGLE_LINK_PATH, (ctx) => {
    const link = pendingLink(ctx);
    if (!link) return problem(ctx, "used");
    showLink(ctx, link.email);
  });

  router.post(GOOGLE_LINK_PATH, async (ctx) => {
    const link = pendingLink(ctx);
    if (!link) return problem(ctx, "used");
    const password = formBody(ctx).password;
    if (typeof password !== "string" || password.length === 0 || password.length > 256) {
      ctx.status = 422;
      return showLink(ctx, link.email, "Enter your Duet password.");
    }
    // The same limits as the sign-in form: this form checks the same password.
    const accountKey = limitKey(link.email);
    await assertNotLimited(limits.signInPerIp, ctx.ip);
    await assertNotLimited(limits.signInPerAccount, accountKey);
    // With two-factor on, the password alone proves too little to change the account: the link
    // is made once the second factor passes too (afterSecondFactor).
    const deferred = await hasTwoFactor(link.userId);
    const result = deferred
      ? (await isAccountPassword(link.userId, password))
        ? "linked"
        : "wrong"
      : await linkWithPassword(link.userId, link.sub, password);
    if (result === "wrong") {
      await spend(limits.signInPerIp, ctx.ip);
      await spend(limits.signInPerAccount, accountKey);
      ctx.status = 401;
      return showLink(ctx, link.email, "That isn't the password of your Duet account.");
    }
    delete oauthSession(ctx).googleLink;
    if (result === "conflict") return problem(ctx, "conflict", PROBLEMS.conflict.message);
    await limits.signInPerAccount.delete(accountKey);
    await afterFirstFactor(ctx, deps, link.userId, "/profile?googleLinked=1#google", deferred ? { linkGoogleSub: link.sub } : {});
  });

  router.post("/profile/google/unlink", requireUser, async (ctx) => {
    const userId = String(ctx.state.user?._id);
    // An account with no password would be locked out without Google: it must set one first.
    if (!(await unlinkGoogle(userId))) return ctx.redirect("/profile#google");
    ctx.redirect("/profile?googleUnlinked=1#google");
  });

  return router;
}

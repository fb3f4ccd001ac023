import type { Context } from "koa";
import type { KoaSession } from "../../http/session.js";
import type { Config } from "../../config.js";
import { rotateCsrf } from "../../http/csrf.js";
import { deviceOf } from "../../http/device-cookie.js";
import { recordSignIn } from "../devices.js";
import type { Views } from "../../views.js";
import type { AccountsDeps } from "../deps.js";
import type { AccountLimits } from "../limits.js";
import { spend } from "../../http/rate-limit.js";
import { confirmIdentity } from "../reauth.js";
import type { User } from "../user.model.js";
import { hasTwoFactor } from "../two-factor.js";
import { hasPasskey } from "../passkeys.js";
import { linkGoogle } from "../google-link.js";

export type AccountRoutesDeps = AccountsDeps & { config: Config; views: Views; limits: AccountLimits };

/**
 * Signs `userId` in on this browser: a new session id (the old one, which an attacker may
 * have planted, is dropped) and a new CSRF cookie. A browser the account has not used before
 * gets the owner a sign-in alert, except for the sign-in that created the account (`newAccount`).
 */
export async function beginSession(
  ctx: Context,
  deps: AccountRoutesDeps,
  userId: string,
  options: { newAccount?: boolean } = {},
): Promise<void> {
  const { config } = deps;
  const session = sessionOf(ctx);
  const now = Date.now();
  const userAgent = ctx.get("user-agent").slice(0, 300);
  session.device = deviceOf(ctx, config);
  await recordSignIn(deps, userId, session.device, { userAgent, quiet: options.newAccount });
  delete session.pending;
  delete session.secondFactor;
  delete session.totpSetup;
  delete session.reauthAt;
  session.uid = userId;
  session.createdAt = now;
  session.seenAt = now;
  session.userAgent = userAgent;
  session.ip = ctx.ip;
  await session.regenerate();
  rotateCsrf(ctx, config);
}

/** How long the code page waits for the second factor after the password (or Google) was right. */
export const SECOND_FACTOR_WINDOW_MS = 5 * 60_000;
export const SECOND_FACTOR_PATH = "/signin/two-factor";

/**
 * After the first factor (password, Google) proved `userId`: signs in and goes to `next`, or, if
 * the account has two-factor on, leaves this browser half signed in (no `uid`: nothing but the
 * code page accepts it) and sends it to the code page. The session id changes either way.
 */
export async function afterFirstFactor(
  ctx: Context,
  deps: AccountRoutesDeps,
  userId: string,
  next: string,
  then: { linkGoogleSub?: string } = {},
): Promise<void> {
  if (await hasTwoFactor(userId)) {
    const session = sessionOf(ctx);
    delete session.pending;
    delete session.uid;
    session.secondFactor = { userId, until: Date.now() + SECOND_FACTOR_WINDOW_MS, next, ...then };
    await session.regenerate();
    return ctx.redirect(SECOND_FACTOR_PATH);
  }
  if (then.linkGoogleSub && !(await linkGoogle(userId, then.linkGoogleSub))) next = "/profile";
  await beginSession(ctx, deps, userId);
  ctx.redirect(next);
}

/**
 * The second factor passed (an app code, a recovery code or a passkey): finishes what the first
 * factor started (a Google link waiting for it) and signs in. Returns where to go.
 */
export async function afterSecondFactor(
  ctx: Context,
  deps: AccountRoutesDeps,
  pending: NonNullable<KoaSession["secondFactor"]>,
): Promise<string> {
  // Linked meanwhile to another Google account: signed in all the same, without the link.
  const linked = pending.linkGoogleSub ? await linkGoogle(pending.userId, pending.linkGoogleSub) : true;
  await beginSession(ctx, deps, pending.userId);
  return linked ? pending.next : "/profile";
}

/** ctx.session, which the session middleware always provides before any route runs. */
export function sessionOf(ctx: Context): KoaSession {
  if (!ctx.session) throw new Error("session middleware is not installed");
  return ctx.session;
}

/** "That code isn't right. 4 tries left." */
export function wrongCodeMessage(attemptsLeft: number): string {
  return `That code isn't right. ${attemptsLeft} ${attemptsLeft === 1 ? "try" : "tries"} left.`;
}

/**
 * The re-authentication a sensitive form needs (reauth.ts): its `currentPassword`, or a proof
 * from the last ten minutes. Returns the message for the form, or undefined when it passed; a
 * right password counts as a fresh proof for this session.
 */
export async function reauthProblem(
  ctx: Context,
  limits: Pick<AccountLimits, "passwordCheckPerUser">,
  user: Pick<User, "_id" | "passwordHash">,
  body: Record<string, unknown>,
): Promise<string | undefined> {
  const userId = String(user._id);
  const typed = typeof body.currentPassword === "string" ? body.currentPassword.slice(0, 256) : "";
  if (typed) await spend(limits.passwordCheckPerUser, userId);
  const session = sessionOf(ctx);
  const check = await confirmIdentity(userId, typed || undefined, session.reauthAt);
  if (check.ok) {
    if (check.fresh) session.reauthAt = Date.now();
    return undefined;
  }
  if (check.reason === "wrong") return "That isn't your current password.";
  if (user.passwordHash) return "Enter your current password.";
  return (await hasPasskey(userId))
    ? "Confirm it's you with a passkey first (it counts for 10 minutes)."
    : "Confirm it's you with Google first (it counts for 10 minutes).";
}

import type { Context } from "koa";
import type { KoaSession } from "../../http/session.js";
import type { Config } from "../../config.js";
import { rotateCsrf } from "../../http/csrf.js";
import type { Views } from "../../views.js";
import type { AccountsDeps } from "../deps.js";
import type { AccountLimits } from "../limits.js";

export type AccountRoutesDeps = AccountsDeps & { config: Config; views: Views; limits: AccountLimits };

/**
 * Signs `userId` in on this browser: a new session id (the old one, which an attacker may
 * have planted, is dropped) and a new CSRF cookie.
 */
export async function beginSession(ctx: Context, config: Config, userId: string): Promise<void> {
  const session = sessionOf(ctx);
  const now = Date.now();
  delete session.pending;
  session.uid = userId;
  session.createdAt = now;
  session.seenAt = now;
  session.userAgent = ctx.get("user-agent").slice(0, 300);
  session.ip = ctx.ip;
  await session.regenerate();
  rotateCsrf(ctx, config);
}

/** The submitted form as a plain object (empty for a missing or non-form body). */
export function formBody(ctx: Context): Record<string, unknown> {
  const body = ctx.request.body;
  return body && typeof body === "object" && !Array.isArray(body) ? (body as Record<string, unknown>) : {};
}

/** Echo back what the user typed (never passwords) when a form is shown again. */
export function keep(body: Record<string, unknown>, fields: string[]): Record<string, string> {
  return Object.fromEntries(fields.map((f) => [f, typeof body[f] === "string" ? (body[f] as string).slice(0, 300) : ""]));
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

import type { Context, Middleware } from "koa";
import { UserModel, type User } from "./user.model.js";
import { unauthorized } from "../errors.js";

declare module "koa" {
  interface DefaultState {
    user?: User;
  }
}

// Writing "last used" on every request would turn each page view into a Redis write.
const SEEN_RESOLUTION_MS = 5 * 60_000;

/** Puts the signed-in user on ctx.state.user; a session whose user is gone is ended. */
export function loadCurrentUser(): Middleware {
  return async (ctx, next) => {
    const uid = ctx.session?.uid;
    if (uid) {
      const user = await UserModel.findById(uid).lean<User>();
      if (!user || !user.emailVerified) {
        ctx.session = null;
      } else {
        ctx.state.user = user;
        const session = ctx.session;
        if (session && Date.now() - (session.seenAt ?? 0) > SEEN_RESOLUTION_MS) session.seenAt = Date.now();
      }
    }
    await next();
  };
}

/** The signed-in user, in a route behind `requireUser` (a programming error otherwise). */
export function signedInUser(ctx: Context): User {
  if (!ctx.state.user) throw new Error("requireUser must run first");
  return ctx.state.user;
}

/** The signed-in user's id, in a route behind `requireUser`. */
export function signedInUserId(ctx: Context): string {
  return String(signedInUser(ctx)._id);
}

/** Lets only signed-in users through: browsers are sent to sign in and brought back. */
export const requireUser: Middleware = async (ctx, next) => {
  if (ctx.state.user) return next();
  if (ctx.accepts("html", "json") === "json") throw unauthorized();
  const back = ctx.method === "GET" ? `?next=${encodeURIComponent(ctx.path)}` : "";
  ctx.redirect(`/signin${back}`);
};

/** Where to go after signing in: only a local path, never another site (open redirect). */
export function safeNext(next: unknown): string {
  return typeof next === "string" && /^\/(?![/\\])[\w\-./?=&%]*$/.test(next) ? next : "/profile";
}

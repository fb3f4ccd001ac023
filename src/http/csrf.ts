/**
 * CSRF protection for every state-changing request: the request's Origin (when sent) must be
 * ours, and it must carry a token (form field `_csrf`, header `X-CSRF-Token`, or for multipart
 * uploads the `_csrf` query parameter) equal to an HMAC of this browser's random `csrf` cookie.
 * A cross-site page can neither read that cookie nor compute the HMAC. Verified in constant time.
 */
import { createHmac, randomBytes, timingSafeEqual } from "node:crypto";
import type { Context, Middleware } from "koa";
import type { Config } from "../config.js";
import { AppError } from "../errors.js";
import { deriveKey } from "../keys.js";
import { formBody } from "./forms.js";

declare module "koa" {
  interface DefaultState {
    /** The token to put in forms; sets the csrf cookie on first use. */
    csrfToken: () => string;
  }
}

const SAFE_METHODS = new Set(["GET", "HEAD", "OPTIONS"]);
const SEED = /^[A-Za-z0-9_-]{43}$/;

const csrfRefused = () =>
  new AppError(403, "csrf", "This form expired or came from another site. Go back, reload the page and try again.");

export function csrfCookieName(config: Pick<Config, "publicUrl">): string {
  return config.publicUrl.startsWith("https:") ? "__Host-duet.csrf" : "duet.csrf";
}

export function csrfProtection(config: Config): Middleware {
  // One key per configured secret: tokens minted before a secret rotation still verify.
  const keys = config.sessionSecrets.map((secret) => deriveKey(secret, "csrf"));
  const [signingKey] = keys;
  if (!signingKey) throw new Error("csrf: no session secret configured");
  const cookie = csrfCookieName(config);
  const secure = config.publicUrl.startsWith("https:");
  const tokenFor = (key: Buffer, seed: string) => createHmac("sha256", key).update(seed).digest("base64url");

  return async (ctx, next) => {
    const existing = ctx.cookies.get(cookie);
    let seed = existing && SEED.test(existing) ? existing : undefined;
    ctx.state.csrfToken = () => {
      if (!seed) {
        seed = randomBytes(32).toString("base64url");
        ctx.cookies.set(cookie, seed, {
          httpOnly: true,
          secure,
          sameSite: "strict",
          overwrite: true,
          maxAge: 365 * 24 * 3600_000,
        });
      }
      return tokenFor(signingKey, seed);
    };

    if (!SAFE_METHODS.has(ctx.method)) {
      const origin = ctx.get("origin");
      if (origin && origin !== config.publicUrl) throw csrfRefused();
      const given = submittedToken(ctx);
      const valid =
        seed !== undefined && given !== undefined && keys.some((key) => sameString(tokenFor(key, seed as string), given));
      if (!valid) throw csrfRefused();
    }
    await next();
  };
}

/** Starts a new csrf cookie, e.g. at sign-in and sign-out, so a token seen before is worthless. */
export function rotateCsrf(ctx: Context, config: Pick<Config, "publicUrl">): void {
  ctx.cookies.set(csrfCookieName(config), null, { overwrite: true });
}

function submittedToken(ctx: Context): string | undefined {
  const candidates = [ctx.get("x-csrf-token"), formBody(ctx)._csrf, ctx.is("multipart") ? ctx.query._csrf : undefined];
  return candidates.find((c): c is string => typeof c === "string" && c.length > 0);
}

function sameString(a: string, b: string): boolean {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
}

/**
 * A long-lived random cookie that names this browser, so sign-in alerts can tell a browser the
 * account has used before from a new one (IP addresses change and are shared; a cookie is the
 * browser's own). The server keeps only its SHA-256. It survives sign-out on purpose
 * (Clear-Site-Data clears storage, not cookies): signing out is not forgetting the browser.
 */
import { createHash, randomBytes } from "node:crypto";
import type { Context } from "koa";
import type { Config } from "../config.js";

// Browsers cap cookie lifetimes at 400 days.
const DEVICE_COOKIE_MAX_AGE_MS = 400 * 24 * 3600_000;
const TOKEN_SHAPE = /^[A-Za-z0-9_-]{43}$/;

const deviceCookieName = (config: Pick<Config, "publicUrl">) =>
  config.publicUrl.startsWith("https:") ? "__Host-duet.device" : "duet.device";

/** This browser's device id as the server keeps it (a hash), giving the browser one if it has none. */
export function deviceOf(ctx: Context, config: Pick<Config, "publicUrl">): string {
  const name = deviceCookieName(config);
  let token = ctx.cookies.get(name, { signed: false });
  if (!token || !TOKEN_SHAPE.test(token)) token = randomBytes(32).toString("base64url");
  // Set again each time: the 400 days count from the last sign-in, not the first.
  ctx.cookies.set(name, token, {
    httpOnly: true,
    secure: config.publicUrl.startsWith("https:"),
    sameSite: "lax",
    path: "/",
    maxAge: DEVICE_COOKIE_MAX_AGE_MS,
    signed: false,
    overwrite: true,
  });
  return createHash("sha256").update(token).digest("base64url");
}

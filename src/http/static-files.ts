import { existsSync } from "node:fs";
import { join } from "node:path";
import type { Middleware } from "koa";
import send from "koa-send";
import { BUILT_STATIC_DIR, VIEWS_DIR } from "../views.js";

/** The built, fingerprinted files when there are some; the sources in development. */
export const STATIC_DIR = existsSync(join(BUILT_STATIC_DIR, "manifest.json")) ? BUILT_STATIC_DIR : join(VIEWS_DIR, "static");
const FINGERPRINTED = /\.[0-9a-f]{10}\.[a-z0-9]+$/;

/**
 * Serves `/static/*` when the app is reached without nginx (development, tests). Behind
 * nginx the same files are served by nginx itself and never reach the app.
 */
export function staticFiles(root: string = STATIC_DIR): Middleware {
  return async (ctx, next) => {
    if ((ctx.method !== "GET" && ctx.method !== "HEAD") || !ctx.path.startsWith("/static/")) return next();
    // koa-send refuses paths that escape root, hidden files, and non-existent files (404).
    const path = ctx.path.slice("/static/".length);
    // A fingerprinted name never changes content, so it may be cached for a year.
    await send(
      ctx,
      path,
      FINGERPRINTED.test(path) ? { root, maxage: 365 * 24 * 3600_000, immutable: true } : { root, maxage: 3600_000 },
    );
  };
}

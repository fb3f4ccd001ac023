import { join } from "node:path";
import type { Middleware } from "koa";
import send from "koa-send";
import { VIEWS_DIR } from "../views.js";

export const STATIC_DIR = join(VIEWS_DIR, "static");

/**
 * Serves `/static/*` when the app is reached without nginx (development, tests). Behind
 * nginx the same files are served by nginx itself and never reach the app.
 */
export function staticFiles(root: string = STATIC_DIR): Middleware {
  return async (ctx, next) => {
    if ((ctx.method !== "GET" && ctx.method !== "HEAD") || !ctx.path.startsWith("/static/")) return next();
    // koa-send refuses paths that escape root, hidden files, and non-existent files (404).
    await send(ctx, ctx.path.slice("/static/".length), { root, maxage: 60 * 60 * 1000 });
  };
}

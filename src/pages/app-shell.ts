/**
 * What makes Duet an installable app: the web app manifest, the service worker (built from
 * src/client/sw.ts, prefixed here with the list of shell files it keeps) and the offline page.
 * All three are the same for everyone and hold nobody's data: the worker caches only these and
 * the static files, never a signed-in page or an API answer.
 */
import { createHash } from "node:crypto";
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import type Router from "@koa/router";
import { createRouter } from "../http/router.js";
import { STATIC_DIR } from "../http/static-files.js";
import { assetPath, type Views } from "../views.js";

export const THEME_COLOUR = "#5b5bd6";
export const OFFLINE_PATH = "/offline";
const SHELL_FILES = [
  "css/duet.css",
  "js/site.js",
  "js/chat.js",
  "js/theme.js",
  "img/logo.svg",
  "img/icon-192.png",
  "img/icon-512.png",
];

export function appShellRoutes(views: Views): Router {
  const router = createRouter();
  const assets = SHELL_FILES.map(assetPath);
  const workerFile = join(STATIC_DIR, "js", "sw.js");
  // Read once: a new build restarts the app, and the new list changes the worker, so browsers update.
  const code = existsSync(workerFile) ? readFileSync(workerFile, "utf8") : "";
  const shell = { offline: OFFLINE_PATH, icon: assetPath("img/icon-192.png"), assets };
  const version = createHash("sha256").update(JSON.stringify(shell)).update(code).digest("hex").slice(0, 12);
  const worker = `self.DUET_SHELL=${JSON.stringify({ ...shell, version })};\n${code}`;

  router.get("/sw.js", (ctx) => {
    ctx.type = "text/javascript";
    // Browsers check the worker for updates; it must never be served stale.
    ctx.set("Cache-Control", "no-cache");
    ctx.body = worker;
  });

  router.get("/manifest.webmanifest", (ctx) => {
    ctx.type = "application/manifest+json";
    ctx.set("Cache-Control", "public, max-age=3600");
    ctx.body = {
      name: "Duet",
      short_name: "Duet",
      description: "Private one-to-one conversations on your own server",
      id: "/chat",
      start_url: "/chat",
      scope: "/",
      display: "standalone",
      theme_color: THEME_COLOUR,
      background_color: "#ffffff",
      icons: [
        { src: assetPath("img/icon-192.png"), sizes: "192x192", type: "image/png", purpose: "any" },
        { src: assetPath("img/icon-512.png"), sizes: "512x512", type: "image/png", purpose: "any" },
        { src: assetPath("img/icon-512.png"), sizes: "512x512", type: "image/png", purpose: "maskable" },
      ],
    };
  });

  // Rendered without any session data: it is cached and shown to whoever opens the app offline.
  router.get(OFFLINE_PATH, (ctx) => {
    ctx.type = "html";
    ctx.set("Cache-Control", "no-cache");
    ctx.body = views.render("offline", { title: "Offline", offline: true });
  });

  return router;
}

import type Router from "@koa/router";
import { createRouter } from "../http/router.js";
import { renderPage } from "../http/render.js";
import type { Views } from "../views.js";

/** Public pages that need no account. */
export function pageRoutes(views: Views): Router {
  const router = createRouter();
  router.get("/", (ctx) => {
    renderPage(ctx, views, "home", { title: "Private conversations on your own server" });
  });
  return router;
}

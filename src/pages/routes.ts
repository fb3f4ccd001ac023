import Router from "@koa/router";
import type { Views } from "../views.js";

/** Public pages that need no account. */
export function pageRoutes(views: Views): Router {
  const router = new Router();
  router.get("/", (ctx) => {
    ctx.type = "html";
    ctx.body = views.render("home", { title: "Private conversations on your own server" });
  });
  return router;
}

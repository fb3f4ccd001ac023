import type { Context } from "koa";
import type { Views } from "../views.js";

/** Renders a page with what every layout needs: the signed-in user and the form token. */
export function renderPage(ctx: Context, views: Views, page: string, data: Record<string, unknown> = {}): void {
  const user = ctx.state.user;
  ctx.type = "html";
  ctx.set("Cache-Control", "no-store");
  ctx.body = views.render(page, {
    ...data,
    user: user ? { id: String(user._id), displayName: user.displayName, avatarVersion: user.avatarVersion ?? 0 } : undefined,
    csrf: ctx.state.csrfToken(),
  });
}

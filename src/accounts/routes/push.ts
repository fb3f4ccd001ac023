import type Router from "@koa/router";
import type { Context } from "koa";
import { AppError, badRequest, notFound } from "../../errors.js";
import { createRouter } from "../../http/router.js";
import { listUserSessions } from "../../http/session-store.js";
import { requireUser, signedInUserId } from "../current-user.js";
import { parseSubscription, removeSubscription, saveSubscription, subscribedDevices } from "../push-subscriptions.js";
import { sessionOf, type AccountRoutesDeps } from "./context.js";

/**
 * Notifications for this browser (Web Push): the key browsers subscribe with, this browser's
 * subscription (one per browser, by its device cookie), and turning them off for any browser
 * from the sessions list. Absent (404) when no VAPID keys are configured.
 */
export function pushRoutes(deps: AccountRoutesDeps): Router {
  const router = createRouter();
  const push = deps.config.push;
  const deviceOf = (ctx: Context) => {
    const device = sessionOf(ctx).device;
    // Sessions from before device cookies: a new sign-in gives the browser one.
    if (!device) throw new AppError(409, "no_device", "Sign out and in again to turn on notifications in this browser.");
    return device;
  };
  if (!push) return router;

  router.get("/api/push", requireUser, async (ctx) => {
    const device = sessionOf(ctx).device;
    ctx.set("Cache-Control", "no-store");
    ctx.body = {
      publicKey: push.publicKey,
      subscribed: device ? (await subscribedDevices(signedInUserId(ctx))).has(device) : false,
    };
  });

  router.post("/api/push/subscription", requireUser, async (ctx) => {
    const parsed = parseSubscription(ctx.request.body, push.serviceHosts);
    if (!parsed.ok) throw badRequest("bad_subscription", parsed.message);
    await saveSubscription(deps.masterKeys, signedInUserId(ctx), deviceOf(ctx), parsed.value);
    ctx.status = 201;
    ctx.body = { subscribed: true };
  });

  router.post("/api/push/subscription/remove", requireUser, async (ctx) => {
    await removeSubscription(signedInUserId(ctx), deviceOf(ctx));
    ctx.body = { subscribed: false };
  });

  // From the sessions list: any of the user's signed-in browsers, by its session.
  router.post("/profile/sessions/:handle/notifications-off", requireUser, async (ctx) => {
    const session = (await listUserSessions(deps.redis, signedInUserId(ctx))).find((s) => s.handle === ctx.params.handle);
    if (!session?.device) throw notFound();
    await removeSubscription(signedInUserId(ctx), session.device);
    ctx.redirect("/profile?notificationsOff=1#sessions");
  });

  return router;
}

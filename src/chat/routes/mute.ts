import type Router from "@koa/router";
import type { Context } from "koa";
import { requireUser, signedInUserId } from "../../accounts/current-user.js";
import { notFound } from "../../errors.js";
import { createRouter } from "../../http/router.js";
import { roomForMember } from "../conversations.js";
import { setMuted } from "../mute.js";

/** Mute and unmute a conversation's notifications, from its header menu (plain forms). */
export function muteRoutes(): Router {
  const router = createRouter();
  const toggle = (muted: boolean) => async (ctx: Context) => {
    const userId = signedInUserId(ctx);
    const room = await roomForMember(String(ctx.params.room ?? ""), userId);
    if (!room) throw notFound();
    await setMuted(room._id, userId, muted);
    ctx.redirect(`/chat/${room._id}`);
  };
  router.post("/chat/:room/mute", requireUser, toggle(true));
  router.post("/chat/:room/unmute", requireUser, toggle(false));
  return router;
}

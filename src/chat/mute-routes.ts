import type Router from "@koa/router";
import { requireUser, signedInUser } from "../accounts/current-user.js";
import { notFound } from "../errors.js";
import { createRouter } from "../http/router.js";
import { roomForMember } from "./conversations.js";
import { setMuted } from "./mute.js";

/** Mute and unmute a conversation's notifications, from its header menu (plain forms). */
export function muteRoutes(): Router {
  const router = createRouter();
  for (const action of ["mute", "unmute"] as const) {
    router.post(`/chat/:room/${action}`, requireUser, async (ctx) => {
      const userId = String(signedInUser(ctx)._id);
      const room = await roomForMember(ctx.params.room ?? "", userId);
      if (!room) throw notFound();
      await setMuted(room._id, userId, action === "mute");
      ctx.redirect(`/chat/${room._id}`);
    });
  }
  return router;
}

/** `POST /chat/:room/archive` and `/unarchive`: members only; the member's other open lists refresh. */
import type Router from "@koa/router";
import { requireUser, signedInUserId } from "../../accounts/current-user.js";
import { notFound } from "../../errors.js";
import { createRouter } from "../../http/router.js";
import { setArchived } from "../archive.js";
import { roomForMember } from "../conversations.js";
import type { Hub } from "../hub.js";
import { announceRoom } from "../inbox-socket.js";

export function archiveRoutes(deps: { hub: Hub }): Router {
  const router = createRouter();
  for (const action of ["archive", "unarchive"] as const) {
    router.post(`/chat/:room/${action}`, requireUser, async (ctx) => {
      const userId = signedInUserId(ctx);
      const room = await roomForMember(ctx.params.room ?? "", userId);
      if (!room) throw notFound();
      await setArchived(room._id, userId, action === "archive");
      // Only this member's lists (in other tabs) need to know; the other member sees nothing.
      await announceRoom(deps.hub, userId, room._id);
      // From a row of the list (?back=list), back to the list; from the conversation's menu, archiving
      // leaves it and unarchiving stays in it.
      ctx.redirect(action === "archive" || ctx.query.back === "list" ? "/chat" : `/chat/${room._id}`);
    });
  }
  return router;
}

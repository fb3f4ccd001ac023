import type Router from "@koa/router";
import { createRouter } from "../http/router.js";
import type { Context } from "koa";
import { z } from "zod";
import type { Config } from "../config.js";
import { badRequest, notFound } from "../errors.js";
import { requireUser, signedInUser, signedInUserId } from "../accounts/current-user.js";
import { retryIn, spend, take, type Limiter } from "../http/rate-limit.js";
import { renderPage } from "../http/render.js";
import { keep, parseForm } from "../http/forms.js";
import type { Mailer } from "../mail/mailer.js";
import type { Views } from "../views.js";
import type { Logger } from "../logger.js";
import type { Redis } from "ioredis";
import { listConversations, roomForMember, startConversation } from "./conversations.js";
import { applyRoomAction } from "./blocks.js";
import { isMutedBy } from "./mute.js";
import { announceRoom } from "./inbox-socket.js";
import { currentPeer, PEER_DELETED_MESSAGE } from "./deleted-peers.js";
import { readMessages, type Unreadable } from "./history.js";
import { deleteConversation } from "./room-deletion.js";
import type { Hub } from "./hub.js";
import { MAX_MESSAGE_LENGTH } from "./protocol.js";
import type { RoomKey } from "./rooms.js";
import type { Sequencer } from "./sequencer.js";
import type { Summaries } from "./summaries.js";

export type ChatRoutesDeps = {
  config: Config;
  views: Views;
  log: Logger;
  redis: Redis;
  mailer: Mailer;
  hub: Hub;
  sequencer: Sequencer;
  keyFor(roomId: string): Promise<RoomKey>;
  unreadable: Unreadable;
  /** Open chat sockets per user (presence.ts). */
  socketCounts(userIds: readonly string[]): Promise<number[]>;
  /** What the list shows of each room (summaries.ts). */
  summaries: Summaries;
  inviteLimiter: Limiter;
  /** Address lookups (starting a conversation by email) per user. */
  lookupLimiter: Limiter;
};

const startForm = z.object({
  email: z
    .string({ error: "Enter their email address." })
    .trim()
    .min(1, "Enter their email address.")
    .max(254)
    .pipe(z.email("Enter an email address like name@example.com.")),
});
const pageQuery = z.object({
  before: z.coerce.number().int().positive().optional(),
  /** Newer than this number, oldest first (paging back down after older pages were dropped). */
  after: z.coerce.number().int().min(0).optional(),
  limit: z.coerce.number().int().min(1).max(100).default(50),
});

export function chatRoutes(deps: ChatRoutesDeps): Router {
  const { views, config } = deps;
  const router = createRouter();

  async function showList(ctx: Context, extra: Record<string, unknown> = {}) {
    const all = await listConversations(deps, signedInUserId(ctx));
    const conversations = all.filter((c) => !c.archived);
    const archived = all.filter((c) => c.archived);
    renderPage(ctx, views, "chat/list", {
      title: "Chats",
      conversations,
      archived,
      empty: all.length === 0,
      welcome: ctx.query.welcome === "1",
      styles: ["css/conversation-tools.css"],
      ...extra,
    });
  }

  router.get("/chat", requireUser, (ctx) => showList(ctx));

  router.post("/chat/start", requireUser, async (ctx) => {
    const form = parseForm(ctx, startForm);
    const typed = keep(form.body, ["email"], 254);
    if (!form.ok) {
      ctx.status = 422;
      return showList(ctx, { values: typed, errors: form.errors });
    }
    // Opening the chat at once is the product, and it tells the starter that the address has an
    // account; this per-user limit is what keeps that answer from becoming a directory.
    const wait = await take(deps.lookupLimiter, signedInUserId(ctx));
    if (wait !== undefined) {
      ctx.status = 429;
      const limit = deps.lookupLimiter.points;
      return showList(ctx, {
        values: typed,
        errors: { email: `You've looked up ${limit} addresses in the last hour. ${retryIn(wait)}` },
      });
    }
    const master = config.masterKeys[0];
    if (!master) throw new Error("no master key configured");
    const result = await startConversation(master, signedInUserId(ctx), form.values.email);
    if (result.ok) {
      // Both members' open lists start listening to the room (a new one is in neither yet).
      const userId = signedInUserId(ctx);
      await Promise.all([userId, result.peerId].map((id) => announceRoom(deps.hub, id, result.roomId)));
      return ctx.redirect(`/chat/${result.roomId}`);
    }
    ctx.status = 422;
    if (result.reason === "self")
      return showList(ctx, { values: typed, errors: { email: "That's you! Enter the other person's address." } });
    return showList(ctx, { values: typed, invite: form.values.email });
  });

  router.post("/chat/invite", requireUser, async (ctx) => {
    const form = parseForm(ctx, startForm);
    if (!form.ok) {
      ctx.status = 422;
      return showList(ctx, { values: keep(form.body, ["email"], 254), errors: form.errors });
    }
    await spend(deps.inviteLimiter, signedInUserId(ctx));
    // An address that signed up in the meantime gets the same invitation: nothing is revealed.
    deps.mailer
      .send(form.values.email, "invite", { inviterName: signedInUser(ctx).displayName, link: `${config.publicUrl}/signup` })
      .catch((err: unknown) => deps.log.error({ err }, "invitation not sent"));
    return showList(ctx, { notice: `Invitation sent to ${form.values.email}. You can chat as soon as they sign up.` });
  });

  router.get("/chat/:room", requireUser, async (ctx) => {
    const userId = signedInUserId(ctx);
    const room = await roomForMember(ctx.params.room ?? "", userId);
    if (!room) throw notFound();
    const peerId = room.members.map(String).find((m) => m !== userId) ?? userId;
    const peer = await currentPeer(peerId);
    renderPage(ctx, views, "chat/room", {
      title: `Chat with ${peer.displayName}`,
      room: {
        id: room._id,
        blockedByMe: room.blockedBy.map(String).includes(userId),
        blockedByPeer: room.blockedBy.map(String).includes(peerId),
        muted: isMutedBy(room, userId),
        archived: (room.archivedBy ?? []).map(String).includes(userId),
      },
      peer,
      closedReason: peer.deleted ? PEER_DELETED_MESSAGE : undefined,
      me: { id: userId },
      // The page's own notifications (tab in the back) show the text only if the user opted in.
      notifyText: Boolean(signedInUser(ctx).notificationText),
      // Where "new messages" begins when the page opens (the first of the other member's after it).
      readUpTo: ((room.readUpTo ?? {}) as Record<string, number>)[userId] ?? 0,
      maxLength: MAX_MESSAGE_LENGTH,
      maxFileBytes: config.attachments.maxBytes,
      scripts: ["js/chat.js"],
      bodyClass: "app-page",
      styles: ["css/attachments.css", "css/replies-reactions.css", "css/conversation-tools.css"],
    });
  });

  router.get("/api/rooms/:room/messages", requireUser, async (ctx) => {
    const room = await roomForMember(ctx.params.room ?? "", signedInUserId(ctx));
    if (!room) throw notFound("No such conversation.");
    const query = pageQuery.safeParse(ctx.query);
    if (!query.success) throw badRequest("bad_query", "before, after and limit must be whole numbers (limit 1 to 100).");
    const { before, after, limit } = query.data;
    const newestFirst = after === undefined;
    const messages = await readMessages(
      await deps.keyFor(room._id),
      room._id,
      { before, after, limit: limit + 1, newestFirst },
      deps.unreadable,
    );
    // hasMore: older messages beyond this page (with `after`: newer ones).
    const hasMore = messages.length > limit;
    ctx.set("Cache-Control", "no-store");
    const upTo = Math.max(room.seq, (await deps.sequencer.head(room._id)) ?? 0);
    const page = hasMore ? (newestFirst ? messages.slice(1) : messages.slice(0, limit)) : messages;
    ctx.body = { messages: page, hasMore, upTo };
  });

  for (const action of ["block", "unblock", "hide"] as const) {
    router.post(`/chat/:room/${action}`, requireUser, async (ctx) => {
      const userId = signedInUserId(ctx);
      const room = await roomForMember(ctx.params.room ?? "", userId);
      if (!room) throw notFound();
      await applyRoomAction(deps.redis, room._id, userId, action);
      if (action !== "hide") void deps.hub.publish({ type: "block", roomId: room._id, by: userId, blocked: action === "block" });
      ctx.redirect(action === "hide" ? "/chat" : `/chat/${room._id}`);
    });
  }

  router.get("/chat/:room/delete", requireUser, async (ctx) => {
    const userId = signedInUserId(ctx);
    const room = await roomForMember(ctx.params.room ?? "", userId);
    if (!room) throw notFound();
    const peer = await currentPeer(room.members.map(String).find((m) => m !== userId) ?? userId);
    renderPage(ctx, views, "chat/delete", { title: "Delete the conversation", room: { id: room._id }, peer });
  });

  router.post("/chat/:room/delete", requireUser, async (ctx) => {
    const userId = signedInUserId(ctx);
    const room = await roomForMember(ctx.params.room ?? "", userId);
    if (!room) throw notFound();
    await deleteConversation(deps.hub, room._id, userId);
    deps.log.info({ roomId: room._id }, "conversation deleted by a member");
    return showList(ctx, { notice: "The conversation was deleted for both of you." });
  });

  return router;
}

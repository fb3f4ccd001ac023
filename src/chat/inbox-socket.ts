/**
 * `wss /ws/inbox`: one socket per open conversation list, telling the page which of the user's
 * conversations changed (a message, an edit or delete, a read, a block), so badges, previews and
 * order update without a reload. It carries room ids only, never content: the page then fetches
 * the list as it fetches any page, through the session that renders it.
 *
 * It listens on the hub's room channels of every room the user is in, plus the user's own inbox
 * channel, on which a newly opened conversation is announced so the socket joins that room too,
 * and the presence channel of every other member (presence.ts), so each row's dot follows its
 * person whichever of their conversations they open.
 * Same gate as the chat socket: the site's Origin and a live session, else a plain 403 or 401.
 */
import type { IncomingMessage } from "node:http";
import type { Redis } from "ioredis";
import mongoose from "mongoose";
import type { WebSocket } from "ws";
import type { Config } from "../config.js";
import { UserModel } from "../accounts/user.model.js";
import { AppError } from "../errors.js";
import { sessionFromCookieHeader } from "../http/session.js";
import type { Logger } from "../logger.js";
import type { UpgradeRoute } from "../realtime/upgrade.js";
import type { SessionSockets } from "../realtime/session-sockets.js";
import type { Hub, HubEvent, HubListener } from "./hub.js";
import type { Visibility } from "./notify/visibility.js";
import { presenceChannel } from "./presence.js";
import { parseClientFrame } from "./frame-parser.js";
import type { InboxFrame } from "./protocol.js";
import { RoomModel } from "./room.model.js";

/** The hub channel (a pseudo room id) on which new conversations of `userId` are announced. */
export const inboxChannel = (userId: string) => `inbox:${userId}`;

/** Tells `userId`'s open lists that `roomId` is theirs now (started by them or by the other member). */
export async function announceRoom(hub: Hub, userId: string, roomId: string): Promise<void> {
  await hub.publish({ type: "room-opened", roomId: inboxChannel(userId), room: roomId });
}

// Changes inside this window are told in one frame: a burst of 50 messages is one refresh.
const COALESCE_MS = 150;
const PING_MS = 25_000;
/** Open lists per user on one instance; more are refused (a list is one tab). */
const MAX_PER_USER = 20;
// The list shows at most this many conversations (conversations.ts).
const MAX_ROOMS = 200;

export function inboxSocketRoute(
  config: Config,
  redis: Redis,
  deps: { hub: Hub; log: Logger; visibility?: Pick<Visibility, "opened"> },
  sessions: SessionSockets,
): UpgradeRoute {
  const openPerUser = new Map<string, number>();
  return {
    pattern: /^\/ws\/inbox$/,
    async handle(req: IncomingMessage, _match, accept) {
      if (req.headers.origin !== config.publicUrl) throw new AppError(403, "bad_origin", "WebSocket from another origin");
      const session = await sessionFromCookieHeader(config, redis, req.headers.cookie);
      if (!session) throw new AppError(401, "unauthorized", "no session");
      const userId = session.uid;
      const user = await UserModel.findById(userId, { emailVerified: 1 }).lean();
      if (!user?.emailVerified) throw new AppError(401, "unauthorized", "no such user");
      if ((openPerUser.get(userId) ?? 0) >= MAX_PER_USER) throw new AppError(429, "too_many_sockets", "too many open lists");
      const rooms = await RoomModel.find({ members: new mongoose.Types.ObjectId(userId) }, { _id: 1, members: 1 })
        .sort({ lastMessageAt: -1 })
        .limit(MAX_ROOMS)
        .lean();
      const ws = await accept();
      sessions.add(ws, session);
      openPerUser.set(userId, (openPerUser.get(userId) ?? 0) + 1);
      // A list in front holds notifications back (chat/notify/): counted across instances. The
      // page says when its tab goes to the back or the front; it sends no other frame.
      const visible = deps.visibility?.opened(userId);
      ws.on("message", (data: Buffer, isBinary: boolean) => {
        const parsed = isBinary ? undefined : parseClientFrame(data.toString());
        if (parsed?.ok && parsed.frame.type === "visibility") visible?.set(parsed.frame.visible);
      });
      ws.once("close", () => visible?.closed());
      await serveInbox(deps, ws, userId, [inboxChannel(userId), ...rooms.map((r) => String(r._id))], rooms).catch(
        (err: unknown) => {
          deps.log.error({ err }, "inbox socket failed");
          ws.close(1011, "server error; reconnect");
        },
      );
      ws.once("close", () => {
        const left = (openPerUser.get(userId) ?? 1) - 1;
        if (left > 0) openPerUser.set(userId, left);
        else openPerUser.delete(userId);
      });
    },
  };
}

type Membership = { _id: string; members: unknown[] };

async function serveInbox(
  deps: { hub: Hub; log: Logger },
  ws: WebSocket,
  userId: string,
  channels: string[],
  rooms: Membership[],
) {
  const joined = new Set<string>();
  /** The other member of each room, and each other member's rooms with me (one, unless a room was remade). */
  const roomsOf = new Map<string, string[]>();
  const addPeer = (room: Membership): string | undefined => {
    const peer = room.members.map(String).find((m) => m !== userId);
    if (!peer) return undefined;
    const known = roomsOf.get(peer) ?? [];
    if (!known.includes(String(room._id))) roomsOf.set(peer, [...known, String(room._id)]);
    return peer;
  };
  for (const room of rooms) addPeer(room);
  const sendPresence = (room: string, online: boolean) => {
    if (!closed && ws.readyState === ws.OPEN) ws.send(JSON.stringify({ type: "presence", room, online } satisfies InboxFrame));
  };
  const changed = new Set<string>();
  let timer: NodeJS.Timeout | undefined;
  let closed = false;

  const tell = (roomId: string) => {
    changed.add(roomId);
    timer ??= setTimeout(() => {
      timer = undefined;
      const frame: InboxFrame = { type: "inbox", rooms: [...changed] };
      changed.clear();
      if (!closed && ws.readyState === ws.OPEN) ws.send(JSON.stringify(frame));
    }, COALESCE_MS);
  };
  const join = async (channel: string) => {
    if (joined.has(channel) || closed) return;
    joined.add(channel);
    await deps.hub.join(channel, listener);
  };
  const listener: HubListener = {
    onEvent(event: HubEvent) {
      switch (event.type) {
        case "room-opened":
          void join(event.room).then(() => tell(event.room));
          void RoomModel.findById(event.room, { _id: 1, members: 1 })
            .lean()
            .then((room) => {
              const peer = room ? addPeer(room) : undefined;
              return peer ? join(presenceChannel(peer)) : undefined;
            })
            .catch((err: unknown) =>
              deps.log.warn({ err: err instanceof Error ? err.message : err }, "presence of a new room not followed"),
            );
          return;
        case "message":
        case "edited":
        case "deleted":
        case "block":
        case "room-deleted":
          return tell(event.roomId);
        case "presence":
          // The other member came or went: told at once, and the page moves the dot without
          // fetching the list again (a fetch costs a query per conversation). On their presence
          // channel the event names no room of mine: it is told for each of my rooms with them.
          if (event.userId === userId) return;
          if (event.roomId !== presenceChannel(event.userId)) return sendPresence(event.roomId, event.online);
          for (const room of roomsOf.get(event.userId) ?? []) sendPresence(room, event.online);
          return;
        case "read":
          // Only my own reads change my list (the unread badge); the other member's change nothing here.
          if (event.from === userId) tell(event.roomId);
          return;
        default:
          return;
      }
    },
    // Redis was away: anything may have changed meanwhile.
    onResync: () => tell("*"),
  };

  // Anything the page sends but its visibility (above) is ignored.
  let alive = true;
  ws.on("pong", () => (alive = true));
  const heartbeat = setInterval(() => {
    if (!alive) return ws.terminate();
    alive = false;
    ws.ping();
  }, PING_MS);
  ws.once("close", () => {
    closed = true;
    clearTimeout(timer);
    clearInterval(heartbeat);
    for (const channel of joined) void deps.hub.leave(channel, listener);
    joined.clear();
  });
  for (const channel of [...channels, ...[...roomsOf.keys()].map(presenceChannel)]) await join(channel);
  if (!closed) ws.send(JSON.stringify({ type: "inbox", rooms: [] } satisfies InboxFrame));
}

/**
 * `wss /ws/chat/:room`: who may open a chat socket, decided before the upgrade completes.
 * The Origin must be the site's own (no cross-site WebSocket hijacking), the session cookie must
 * name a live session, and the user must be a member of the room; otherwise the answer is a
 * plain 403, 401 or 404 (404 for non-members too, so room ids reveal nothing). A room whose other
 * member deleted their account is read-only: the socket gets one `peer_deleted` error and is closed.
 */
import type { IncomingMessage } from "node:http";
import type { Redis } from "ioredis";
import type { Config } from "../config.js";
import { UserModel } from "../accounts/user.model.js";
import { AppError } from "../errors.js";
import { sessionFromCookieHeader } from "../http/session.js";
import type { UpgradeRoute } from "../realtime/upgrade.js";
import type { SessionSockets } from "../realtime/session-sockets.js";
import { serveConnection, type ChatDeps } from "./connection.js";
import { accountIsGone, PEER_DELETED_MESSAGE } from "./deleted-peers.js";
import type { ServerFrame } from "./protocol.js";
import { RoomModel } from "./room.model.js";
import { ROOM_ID } from "./rooms.js";
import { MAX_SOCKETS_PER_USER } from "./limits.js";

export function chatSocketRoute(config: Config, redis: Redis, deps: ChatDeps, sessions: SessionSockets): UpgradeRoute {
  return {
    pattern: new RegExp(`^/ws/chat/(${ROOM_ID})$`),
    async handle(req: IncomingMessage, match, accept) {
      if (req.headers.origin !== config.publicUrl) throw new AppError(403, "bad_origin", "WebSocket from another origin");
      const session = await sessionFromCookieHeader(config, redis, req.headers.cookie);
      if (!session) throw new AppError(401, "unauthorized", "no session");
      const userId = session.uid;
      const roomId = match[1] ?? "";
      const [room, user] = await Promise.all([
        RoomModel.findOne({ _id: roomId, deletedAt: { $exists: false } }, { members: 1 }).lean(),
        UserModel.findById(userId, { emailVerified: 1 }).lean(),
      ]);
      if (!user?.emailVerified) throw new AppError(401, "unauthorized", "no such user");
      const members = (room?.members ?? []).map(String);
      if (!members.includes(userId)) throw new AppError(404, "not_found", "no such room");
      const peerId = members.find((m) => m !== userId) ?? userId;
      // Both at once: each is a round trip every connect waits for (a reconnecting crowd, most).
      const [gone, [open = 0]] = await Promise.all([
        accountIsGone(peerId),
        deps.presence.socketCounts([userId]).catch(() => [0]),
      ]);
      if (gone) {
        // An answer in the protocol, not an HTTP refusal: the page would retry that forever.
        const ws = await accept();
        const refusal: ServerFrame = { type: "error", code: "peer_deleted", message: PEER_DELETED_MESSAGE };
        ws.send(JSON.stringify(refusal));
        ws.close(1008, "the other account was deleted");
        return;
      }

      if (open >= MAX_SOCKETS_PER_USER) throw new AppError(429, "too_many_sockets", "too many open chats");

      const after = Number(new URL(req.url ?? "/", "http://internal").searchParams.get("after") ?? 0);
      const ws = await accept();
      sessions.add(ws, session);
      // From here on the connection is a WebSocket: failures close it (1011), they are not HTTP answers.
      await serveConnection(deps, ws, {
        roomId,
        userId,
        peerId,
        after: Number.isSafeInteger(after) && after > 0 ? after : 0,
      }).catch((err: unknown) => {
        deps.log.error({ err, roomId }, "chat connection failed");
        ws.close(1011, "server error; reconnect");
      });
    },
  };
}

/**
 * One chat WebSocket: catch-up from MongoDB, live events from the hub, and the client's frames.
 * Every frame is validated; bad ones get an error frame (repeated abuse closes with 1008). A
 * client that stops reading is cut off with 1013 rather than allowed to grow server memory, and
 * catches up when it reconnects. Dead peers are dropped by ping/pong.
 */
import type { Redis } from "ioredis";
import mongoose from "mongoose";
import type { WebSocket } from "ws";
import { RateLimiterRes } from "rate-limiter-flexible";
import type { Logger } from "../logger.js";
import type { Limiter } from "../http/rate-limit.js";
import { UserModel } from "../accounts/user.model.js";
import { openMessage, sealMessage, type SealedMessage } from "./cipher.js";
import { openOrUnreadable, readMessages, type PlainMessage, type Unreadable } from "./history.js";
import type { Hub, HubEvent, HubListener, SealedWire } from "./hub.js";
import { MessageModel } from "./message.model.js";
import type { MessageStore } from "./message-store.js";
import { parseClientFrame, type ClientFrame, type ErrorCode, type ServerFrame } from "./protocol.js";
import { RoomModel } from "./room.model.js";
import type { RoomKey } from "./rooms.js";
import type { Sequencer } from "./sequencer.js";

export type ChatDeps = {
  log: Logger;
  unreadable: Unreadable;
  redis: Redis;
  hub: Hub;
  store: MessageStore;
  sequencer: Sequencer;
  keyFor(roomId: string): Promise<RoomKey>;
  sendLimiter: Limiter;
  pingIntervalMs: number;
  /** A socket with more than this waiting to be sent is too slow and is closed (1013). */
  maxBufferedBytes: number;
  /** Messages sent on connect at most; older ones come from the history API. */
  catchUpLimit: number;
};

export type ConnectionPlace = { roomId: string; userId: string; peerId: string; after: number };

const MAX_BAD_FRAMES = 10;
const TYPING_EVERY_MS = 1500;
const ONLINE_TTL_S = 90;

export const onlineKey = (userId: string) => `duet:online:${userId}`;

const toWire = (s: SealedMessage): SealedWire => ({
  v: s.v,
  keyId: s.keyId,
  iv: s.iv.toString("base64"),
  ct: s.ct.toString("base64"),
  mac: s.mac.toString("base64"),
});
const fromWire = (w: SealedWire): SealedMessage => ({
  v: w.v,
  keyId: w.keyId,
  iv: Buffer.from(w.iv, "base64"),
  ct: Buffer.from(w.ct, "base64"),
  mac: Buffer.from(w.mac, "base64"),
});

export async function serveConnection(deps: ChatDeps, ws: WebSocket, place: ConnectionPlace): Promise<void> {
  const { roomId, userId, peerId } = place;
  const log = deps.log.child({ roomId, userId });
  const key = await deps.keyFor(roomId);
  const sent = new Set<number>();
  let highest = place.after;
  let live = false;
  const early: HubEvent[] = [];
  let badFrames = 0;
  const blockedBy = new Set<string>();
  let alive = true;
  let lastTyping = 0;
  // Set once the socket is live; the close handler may run before that.
  let heartbeat: NodeJS.Timeout | undefined = undefined;
  let online = false;

  const send = (frame: ServerFrame): void => {
    if (ws.readyState !== ws.OPEN) return;
    if (ws.bufferedAmount > deps.maxBufferedBytes) {
      ws.close(1013, "not reading; reconnect to catch up");
      return;
    }
    ws.send(JSON.stringify(frame));
  };

  const deliver = (message: PlainMessage): void => {
    if (message.seq <= place.after || sent.has(message.seq)) return;
    sent.add(message.seq);
    // Bounded: a long-lived socket must not remember every number forever.
    if (sent.size > 5000) for (const seq of [...sent].slice(0, 1000)) sent.delete(seq);
    highest = Math.max(highest, message.seq);
    send({ type: "message", ...message });
  };

  const catchUp = async (after: number): Promise<void> => {
    // Reading stored messages is the costly part of a connect; skip it when nothing newer exists.
    const head = await deps.sequencer.head(roomId);
    if (head !== undefined && head <= after) return;
    for (const message of await readMessages(key, roomId, { after, limit: deps.catchUpLimit }, deps.unreadable)) deliver(message);
  };

  const open = (seq: number, sealed: SealedWire) =>
    openOrUnreadable(() => openMessage(key.dataKey, { roomId, seq }, fromWire(sealed)), { roomId, seq }, deps.unreadable);

  const onEvent = (event: HubEvent): void => {
    if (!live) {
      early.push(event);
      return;
    }
    try {
      switch (event.type) {
        case "message":
          // Already here (our own send, acknowledged, or a catch-up): skip it before decrypting.
          if (event.seq <= place.after || sent.has(event.seq)) return;
          return deliver({
            seq: event.seq,
            from: event.from,
            clientId: event.clientId,
            at: event.at,
            ...open(event.seq, event.sealed),
          });
        case "edited":
          return send({ type: "edited", seq: event.seq, at: event.at, ...open(event.seq, event.sealed) });
        case "deleted":
          return send({ type: "deleted", seq: event.seq });
        case "typing":
          if (event.from !== userId) send({ type: "typing", from: event.from });
          return;
        case "read":
          return send({ type: "read", from: event.from, seq: event.seq });
        case "block":
          if (event.blocked) blockedBy.add(event.by);
          else blockedBy.delete(event.by);
          return send({ type: "block", by: event.by, blocked: event.blocked });
        case "presence":
          if (event.userId !== userId)
            send({ type: "presence", userId: event.userId, online: event.online, lastSeenAt: event.lastSeenAt });
          return;
      }
    } catch (err) {
      log.error({ err }, "could not deliver a hub event");
    }
  };
  const listener: HubListener = {
    onEvent,
    onResync: () => void catchUp(highest).catch((err: unknown) => log.warn({ err }, "resync failed")),
  };

  // Frames that arrive during catch-up wait until the socket is live, so none is lost.
  const waiting: Array<{ data: Buffer | ArrayBuffer | Buffer[]; isBinary: boolean }> = [];
  let accepting = false;
  const onFrame = (data: Buffer | ArrayBuffer | Buffer[], isBinary: boolean): void => {
    if (!accepting) {
      waiting.push({ data, isBinary });
      return;
    }
    if (isBinary) return void refuse({ code: "bad_frame", message: "frames must be text" });
    const parsed = parseClientFrame(
      Buffer.isBuffer(data)
        ? data.toString()
        : Array.isArray(data)
          ? Buffer.concat(data).toString()
          : Buffer.from(data).toString(),
    );
    if (!parsed.ok) return void refuse(parsed);
    handle(parsed.frame).catch((err: unknown) => {
      log.error({ err }, "frame failed");
      send({
        type: "error",
        code: "unavailable",
        message: "That didn't go through. It will be retried.",
        ...(parsed.frame.type === "send" ? { clientId: parsed.frame.clientId } : {}),
      });
    });
  };
  ws.on("message", onFrame);

  // Subscribe first, then read MongoDB: nothing stored in between can be missed, and anything
  // seen twice is dropped by `deliver`.
  await deps.hub.join(roomId, listener);
  ws.once("close", () => void closed());
  await catchUp(place.after);
  live = true;
  for (const event of early.splice(0)) onEvent(event);

  if (ws.readyState !== ws.OPEN) return;
  const [room, head] = await Promise.all([
    RoomModel.findById(roomId, { seq: 1, readUpTo: 1, blockedBy: 1 }).lean(),
    deps.sequencer.head(roomId),
  ]);
  for (const id of room?.blockedBy ?? []) blockedBy.add(String(id));
  const reads = (room?.readUpTo ?? {}) as Record<string, number>;
  send({
    type: "ready",
    upTo: Math.max(room?.seq ?? 0, head ?? 0, highest),
    readUpTo: reads[userId] ?? 0,
    peerReadUpTo: reads[peerId] ?? 0,
  });
  await goOnline();
  accepting = true;
  for (const frame of waiting.splice(0)) onFrame(frame.data, frame.isBinary);

  heartbeat = setInterval(() => {
    if (!alive) {
      ws.terminate();
      return;
    }
    alive = false;
    ws.ping();
    deps.redis.expire(onlineKey(userId), ONLINE_TTL_S).catch(() => undefined);
  }, deps.pingIntervalMs);
  ws.on("pong", () => (alive = true));

  function refuse(error: { code: ErrorCode; message: string; clientId?: string }): void {
    send({ type: "error", code: error.code, message: error.message, ...(error.clientId ? { clientId: error.clientId } : {}) });
    badFrames++;
    if (badFrames >= MAX_BAD_FRAMES) ws.close(1008, "too many invalid frames");
  }

  async function handle(frame: ClientFrame): Promise<void> {
    switch (frame.type) {
      case "send": {
        if (blockedBy.size > 0) {
          const message = blockedBy.has(userId)
            ? "You blocked this person. Unblock them to send messages."
            : "You can't send messages in this conversation.";
          return send({ type: "error", code: "blocked", message, clientId: frame.clientId });
        }
        try {
          await deps.sendLimiter.consume(userId);
        } catch (err) {
          if (err instanceof RateLimiterRes)
            return send({
              type: "error",
              code: "rate_limited",
              message: "You're sending too fast. Wait a moment.",
              clientId: frame.clientId,
            });
          // Redis down: keep chatting; the limit comes back with Redis.
        }
        let stored;
        try {
          stored = await deps.store.store({ roomId, senderId: userId, clientId: frame.clientId, text: frame.text });
        } catch (err) {
          log.warn({ err: err instanceof Error ? err.message : err }, "message not stored");
          return send({
            type: "error",
            code: "unavailable",
            message: "Not sent yet: the server can't store messages right now. It will be retried.",
            clientId: frame.clientId,
          });
        }
        const at = stored.createdAt.toISOString();
        send({ type: "ack", clientId: frame.clientId, seq: stored.seq, at });
        // The ack carries all this socket needs of its own message; the echo goes to the
        // sender's other tabs only. `highest` stays: a peer's lower number may still be coming.
        sent.add(stored.seq);
        if (!stored.duplicate && stored.sealed) {
          deps.hub.publish({
            type: "message",
            roomId,
            seq: stored.seq,
            from: userId,
            clientId: frame.clientId,
            at,
            sealed: toWire(stored.sealed),
          });
        }
        return;
      }
      case "read": {
        await RoomModel.updateOne({ _id: roomId }, { $max: { [`readUpTo.${userId}`]: frame.seq } });
        deps.hub.publish({ type: "read", roomId, from: userId, seq: frame.seq });
        return;
      }
      case "typing": {
        const now = Date.now();
        if (now - lastTyping < TYPING_EVERY_MS) return;
        lastTyping = now;
        deps.hub.publish({ type: "typing", roomId, from: userId });
        return;
      }
      case "edit": {
        const sealed = sealMessage(key.dataKey, { roomId, seq: frame.seq, keyId: key.keyId }, frame.text);
        const at = new Date();
        const updated = await MessageModel.updateOne(
          { roomId, seq: frame.seq, senderId: new mongoose.Types.ObjectId(userId), kind: "text" },
          { $set: { v: sealed.v, keyId: sealed.keyId, iv: sealed.iv, ct: sealed.ct, mac: sealed.mac, editedAt: at } },
        );
        if (updated.matchedCount === 0)
          return send({ type: "error", code: "not_yours", message: "You can only edit your own messages." });
        deps.hub.publish({ type: "edited", roomId, seq: frame.seq, at: at.toISOString(), sealed: toWire(sealed) });
        return;
      }
      case "delete": {
        const updated = await MessageModel.updateOne(
          { roomId, seq: frame.seq, senderId: new mongoose.Types.ObjectId(userId) },
          { $set: { kind: "deleted" }, $unset: { v: 1, keyId: 1, iv: 1, ct: 1, mac: 1 } },
        );
        if (updated.matchedCount === 0)
          return send({ type: "error", code: "not_yours", message: "You can only delete your own messages." });
        deps.hub.publish({ type: "deleted", roomId, seq: frame.seq });
        return;
      }
    }
  }

  async function goOnline(): Promise<void> {
    try {
      await deps.redis.multi().incr(onlineKey(userId)).expire(onlineKey(userId), ONLINE_TTL_S).exec();
      online = true;
      deps.hub.publish({ type: "presence", roomId, userId, online: true, lastSeenAt: null });
      const peerOnline = Number(await deps.redis.get(onlineKey(peerId))) > 0;
      const peer = peerOnline ? null : await UserModel.findById(peerId, { lastSeenAt: 1 }).lean();
      send({ type: "presence", userId: peerId, online: peerOnline, lastSeenAt: peer?.lastSeenAt?.toISOString() ?? null });
    } catch (err) {
      log.warn({ err: err instanceof Error ? err.message : err }, "presence unavailable");
    }
  }

  async function closed(): Promise<void> {
    clearInterval(heartbeat);
    await deps.hub.leave(roomId, listener);
    if (!online) return;
    try {
      const left = await deps.redis.decr(onlineKey(userId));
      if (left > 0) return;
      await deps.redis.del(onlineKey(userId));
      const lastSeenAt = new Date();
      await UserModel.updateOne({ _id: userId }, { $set: { lastSeenAt } });
      deps.hub.publish({ type: "presence", roomId, userId, online: false, lastSeenAt: lastSeenAt.toISOString() });
    } catch (err) {
      log.warn({ err: err instanceof Error ? err.message : err }, "could not record last seen");
    }
  }
}

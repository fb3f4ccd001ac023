/**
 * One chat WebSocket: it parses the client's frames, calls one function of the chat domain for
 * each (messages.ts, reactions.ts) and replies. The room's messages reach it in number order
 * through its delivery (delivery.ts), fed by the room's hub events (event-frames.ts). Every frame
 * is validated; bad ones get an error frame (repeated abuse closes with 1008). A client that stops
 * reading is cut off with 1013 and catches up when it reconnects. Dead peers are dropped by
 * ping/pong. Sends keep the order they were typed in (send-order.ts).
 */
import type { Redis } from "ioredis";
import type { WebSocket } from "ws";
import { lazyChild, type Logger } from "../logger.js";
import type { Heartbeat } from "../realtime/heartbeat.js";
import type { RoomBlocks } from "./blocks.js";
import { attachmentMessage, noteAttachmentSent } from "./attachments/send.js";
import { createDelivery } from "./delivery.js";
import { eventFrames } from "./event-frames.js";
import type { Unreadable } from "./history.js";
import type { Hub } from "./hub.js";
import type { MessageStore } from "./message-store.js";
import { deleteMessage, editMessage, markRead, roomProgress, sendMessage, type MessagesDeps, type Refusal } from "./messages.js";
import type { MessageNotices } from "./notify/notifier.js";
import type { Visibility, VisibleSocket } from "./notify/visibility.js";
import type { Presence } from "./presence.js";
import { parseClientFrame } from "./frame-parser.js";
import type { ClientFrame, ServerFrame } from "./protocol.js";
import { react } from "./reactions.js";
import type { RoomActivity } from "./room-activity.js";
import { RoomSource } from "./room-source.js";
import type { RoomKey } from "./rooms.js";
import { createSendOrder, oneAtATime } from "./send-order.js";
import type { Sequencer } from "./sequencer.js";

export type ChatDeps = {
  log: Logger;
  unreadable: Unreadable;
  redis: Redis;
  hub: Hub;
  store: MessageStore;
  sequencer: Sequencer;
  blocks: RoomBlocks;
  presence: Presence;
  keyFor(roomId: string): Promise<RoomKey>;
  /** Pings every socket of the instance from one timer; drops peers that stopped answering. */
  heartbeat: Heartbeat;
  /** Removes the file of a deleted attachment message. */
  removeAttachmentOf?: (roomId: string, seq: number) => Promise<void>;
  /** Push notifications for the recipient of a send (notify/notifier.ts); absent when off. */
  notices?: MessageNotices;
  /** Whether the page is in front, for the notifier (notify/visibility.ts); absent when off. */
  visibility?: Pick<Visibility, "opened">;
  activity: RoomActivity;
  /** A socket with more than this waiting to be sent is too slow and is closed (1013). */
  maxBufferedBytes: number;
  /** Messages sent on connect at most; older ones come from the history API. */
  catchUpLimit: number;
  /** How long a missing number may be in flight before it is looked up, then settled for good. */
  gapLookupMs: number;
  gapSettleMs: number;
  /** Runs a lookup of missing numbers when the instance's share of them allows (concurrency.ts). */
  gapReads: <T>(read: () => Promise<T>) => Promise<T>;
};

export type ConnectionPlace = { roomId: string; userId: string; peerId: string; after: number };

const MAX_BAD_FRAMES = 10;
const TYPING_EVERY_MS = 1500;

export async function serveConnection(deps: ChatDeps, ws: WebSocket, place: ConnectionPlace): Promise<void> {
  const { roomId, userId, peerId } = place;
  const log = lazyChild(deps.log, { roomId, userId });
  const key = await deps.keyFor(roomId);
  const actor = { roomId, userId, peerId, key };
  const messagesDeps: MessagesDeps = deps;
  let badFrames = 0;
  let lastTyping = 0;
  let online = false;
  // Settles once going online has ended either way (on close, going offline waits for it).
  let goingOnline: Promise<void> = Promise.resolve();
  let closed = false;
  // The socket counts as looking from the start (notify/visibility.ts) until it says otherwise.
  const visible: VisibleSocket | undefined = deps.visibility?.opened(userId);

  const send = (frame: ServerFrame): void => {
    if (ws.readyState !== ws.OPEN) return;
    if (ws.bufferedAmount > deps.maxBufferedBytes) {
      ws.close(1013, "not reading; reconnect to catch up");
      return;
    }
    ws.send(JSON.stringify(frame));
  };

  const delivery = createDelivery({
    after: place.after,
    send,
    log,
    lookupMs: deps.gapLookupMs,
    settleMs: deps.gapSettleMs,
    source: new RoomSource(deps, key, roomId),
  });
  const listener = eventFrames({
    roomId,
    userId,
    key,
    unreadable: deps.unreadable,
    log,
    delivery,
    send,
    socket: ws,
  });

  // --- the client's frames -----------------------------------------------------------------
  // Frames that arrive during catch-up wait until the socket is live, so none is lost.
  const waiting: Array<{ data: Buffer | ArrayBuffer | Buffer[]; isBinary: boolean }> = [];
  let accepting = false;
  const sends = oneAtATime();
  const order = createSendOrder();
  // A socket's reactions are written one after another: each is a compare-and-swap on its
  // message's list, and twenty at once on one message would mostly lose the race to each other.
  const reactions = oneAtATime();

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
    const frame = parsed.frame;
    // Attachments ride in the same queue as texts: they keep their place in the order sent.
    const queued = frame.type === "send" || frame.type === "attach";
    const done = queued
      ? sends(() => handleSend(frame))
      : frame.type === "react"
        ? reactions(() => handle(frame))
        : handle(frame);
    done.catch((err: unknown) => {
      log.error({ err }, "frame failed");
      send({
        type: "error",
        code: "unavailable",
        message: "That didn't go through. It will be retried.",
        ...(queued ? { clientId: frame.clientId } : {}),
      });
    });
  };
  ws.on("message", onFrame);
  // From here every step of the setup is undone on close, whenever the close comes (it may
  // already have come while the room's key was read).
  if (ws.readyState === ws.CLOSED) {
    await onClose();
    return;
  }
  ws.once("close", () => void onClose());

  // Subscribe first, then read MongoDB: nothing stored in between can be missed, and anything
  // seen twice is dropped by the feed.
  await deps.hub.join(roomId, listener);
  // The room's progress is read alongside the catch-up rather than after it: read receipts and
  // numbers that change meanwhile arrive through the hub, joined above.
  const [, room, head] = await Promise.all([delivery.catchUp(place.after), roomProgress(roomId), deps.sequencer.head(roomId)]);
  if (ws.readyState !== ws.OPEN) return;

  // Another instance (or this one before a restart) may have written the room's activity lately.
  if (room.lastMessageAt) deps.activity.seen(roomId, room.lastMessageAt);
  send({
    type: "ready",
    upTo: Math.max(room.seq, head ?? 0, delivery.next() - 1),
    readUpTo: room.readUpTo[userId] ?? 0,
    peerReadUpTo: room.readUpTo[peerId] ?? 0,
  });
  if (closed) return;
  goingOnline = deps.presence.goOnline(place).then(
    (peer) => {
      online = true;
      send({ type: "presence", userId: peerId, ...peer });
    },
    (err: unknown) => log.warn({ err: err instanceof Error ? err.message : err }, "presence unavailable"),
  );
  await goingOnline;
  accepting = true;
  for (const frame of waiting.splice(0)) onFrame(frame.data, frame.isBinary);

  deps.heartbeat.watch(ws);

  /** A frame that is not one: told why, and counted against the socket. */
  function refuse(error: Omit<Refusal, "ok"> & { clientId?: string }): void {
    refused(error, error.clientId);
    badFrames++;
    if (badFrames >= MAX_BAD_FRAMES) ws.close(1008, "too many invalid frames");
  }

  function refused(refusal: Omit<Refusal, "ok">, clientId?: string): void {
    send({
      type: "error",
      code: refusal.code,
      message: refusal.message,
      ...(clientId ? { clientId } : {}),
      ...(refusal.retryAfterMs ? { retryAfterMs: refusal.retryAfterMs } : {}),
    });
  }

  async function handleSend(frame: Extract<ClientFrame, { type: "send" | "attach" }>): Promise<void> {
    // Still waiting for its turn when the socket closed: never acknowledged, so the client sends
    // it again on its next socket. Storing it anyway doubles the work (a resent stored message
    // costs a lookup and a void number), and after a database stall such dead queues kept it busy
    // for minutes (docs/decisions/003).
    if (closed) return;
    if (order.mustWait(frame.clientId))
      return refused(
        { code: "out_of_order", message: "Waiting for an earlier message to go first.", retryAfterMs: 250 },
        frame.clientId,
      );
    delivery.sendStarted(frame.clientId);
    try {
      const prepared = frame.type === "attach" ? await attachmentMessage(actor, frame) : { ok: true as const, send: frame };
      if (!prepared.ok) return refused(prepared, frame.clientId);
      const result = await sendMessage(messagesDeps, actor, prepared.send);
      if (!result.ok) {
        if (result.retryAfterMs !== undefined) order.refused(frame.clientId);
        return refused(result, frame.clientId);
      }
      order.stored(frame.clientId);
      if (frame.type === "attach") await noteAttachmentSent(actor, frame.clientId, result.seq);
      delivery.sendStored(result.seq);
      send({ type: "ack", clientId: frame.clientId, seq: result.seq, at: result.at });
    } finally {
      delivery.sendEnded(frame.clientId);
    }
  }

  async function handle(frame: Exclude<ClientFrame, { type: "send" | "attach" }>): Promise<void> {
    switch (frame.type) {
      case "read":
        return markRead(messagesDeps, actor, frame.seq);
      case "typing": {
        const now = Date.now();
        if (now - lastTyping < TYPING_EVERY_MS) return;
        lastTyping = now;
        void deps.hub.publish({ type: "typing", roomId, from: userId });
        return;
      }
      case "edit": {
        const result = await editMessage(messagesDeps, actor, frame);
        if (!result.ok) refused(result);
        return;
      }
      case "delete": {
        const result = await deleteMessage(messagesDeps, actor, frame);
        if (!result.ok) refused(result);
        return;
      }
      case "react": {
        const result = await react({ ...messagesDeps, redis: deps.redis }, actor, frame);
        if (!result.ok) refused(result);
        return;
      }
      case "visibility":
        return visible?.set(frame.visible);
    }
  }

  async function onClose(): Promise<void> {
    closed = true;
    visible?.closed();
    delivery.stop();
    await deps.hub.leave(roomId, listener);
    // Seen offline means no longer counted as looking: a message sent on seeing it is pushed.
    await Promise.all([goingOnline, visible?.settled()]);
    if (online) await deps.presence.goOffline(place);
  }
}

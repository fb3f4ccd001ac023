/**
 * One chat WebSocket: it parses the client's frames and calls messages.ts, and it feeds the
 * room's messages to the client strictly in number order (feed.ts), from the catch-up read, live
 * hub events and resyncs, settling missing numbers from MongoDB (gaps.ts). Every frame is
 * validated; bad ones get an error frame (repeated abuse closes with 1008). A client that stops
 * reading is cut off with 1013 and catches up when it reconnects. Dead peers are dropped by
 * ping/pong.
 *
 * Sends on one socket are handled one after another, and once one is refused (rate limit, store
 * unavailable) every later send is refused too until the client sends the refused one again: the
 * client resends its queue in order, so its messages keep the order they were typed in.
 */
import type { Redis } from "ioredis";
import type { WebSocket } from "ws";
import type { Logger } from "../logger.js";
import type { Heartbeat } from "../realtime/heartbeat.js";
import type { RoomBlocks } from "./blocks.js";
import { attachmentMessage, noteAttachmentSent } from "./attachments/send.js";
import { openMessage } from "./cipher.js";
import { createFeed } from "./feed.js";
import { LONGEST_GAP, settleNumbers } from "./gaps.js";
import { addQuotes, openOrUnreadable, readMessages, type PlainMessage, type Unreadable } from "./history.js";
import type { Hub, HubEvent, HubListener, SealedWire } from "./hub.js";
import type { MessageStore } from "./message-store.js";
import { deleteMessage, editMessage, markRead, roomProgress, sendMessage, type MessagesDeps, type Refusal } from "./messages.js";
import type { MessageNotices } from "./notify/notifier.js";
import type { Visibility, VisibleSocket } from "./notify/visibility.js";
import type { Presence } from "./presence.js";
import { parseClientFrame, ROOM_DELETED_CLOSE, type ClientFrame, type ErrorCode, type ServerFrame } from "./protocol.js";
import { openReaction } from "./reaction-cipher.js";
import { react } from "./reactions.js";
import type { RoomActivity } from "./room-activity.js";
import { openingKey, type RoomKey } from "./rooms.js";
import type { Sequencer } from "./sequencer.js";
import { fromWire } from "./wire.js";

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
};

export type ConnectionPlace = { roomId: string; userId: string; peerId: string; after: number };

const MAX_BAD_FRAMES = 10;
const TYPING_EVERY_MS = 1500;

export async function serveConnection(deps: ChatDeps, ws: WebSocket, place: ConnectionPlace): Promise<void> {
  const { roomId, userId, peerId } = place;
  const log = deps.log.child({ roomId, userId });
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

  // --- the room's messages, in order -------------------------------------------------------
  // Edits and deletions of a message this socket has not been given yet wait for it.
  const laterChanges = new Map<number, ServerFrame[]>();
  let gapTimer: NodeJS.Timeout | undefined;
  let gapSince: number | undefined;
  const feed = createFeed<PlainMessage>({
    after: place.after,
    emit(message) {
      send({ type: "message", ...message });
      for (const frame of laterChanges.get(message.seq) ?? []) send(frame);
      laterChanges.delete(message.seq);
    },
    onGap() {
      gapSince ??= Date.now();
      if (!gapTimer && !closed) gapTimer = setTimeout(() => void settleGap(), deps.gapLookupMs);
    },
  });

  async function settleGap(): Promise<void> {
    gapTimer = undefined;
    const missing = feed.missing();
    if (!missing || closed) {
      gapSince = undefined;
      return;
    }
    const claim = Date.now() - (gapSince ?? Date.now()) >= deps.gapSettleMs;
    try {
      const { settled, skipTo } = await settleNumbers(key, roomId, missing, claim, deps.unreadable);
      if (skipTo !== undefined) {
        log.warn({ from: missing.from, to: skipTo - 1 }, "skipped a span of numbers no message can fill");
        feed.skipTo(skipTo);
      }
      for (const [seq, message] of settled) feed.settle(seq, message);
    } catch (err) {
      log.warn({ err: err instanceof Error ? err.message : err }, "could not look up missing messages; will retry");
    }
    if (!feed.missing()) gapSince = undefined;
    else if (!gapTimer && !closed) gapTimer = setTimeout(() => void settleGap(), deps.gapLookupMs);
  }

  const catchUp = async (after: number): Promise<void> => {
    // Reading stored messages is the costly part of a connect; skip it when nothing newer exists.
    const head = await deps.sequencer.head(roomId);
    if (head !== undefined && head <= after) return;
    for (const message of await readMessages(key, roomId, { after, limit: deps.catchUpLimit }, deps.unreadable)) {
      // A stored number far beyond what the counter has handed out was put there by damage: the
      // history shows it (unreadable: the MAC binds the number); the live feed must not wait for
      // the span below it. (Numbers handed out since `head` was read are at most a few batches.)
      if (head !== undefined && message.seq > head + LONGEST_GAP) {
        deps.unreadable({ roomId, seq: message.seq });
        continue;
      }
      feed.push(message);
    }
  };

  const open = (seq: number, senderId: string, sealed: SealedWire, editedAt?: string, kind?: string) =>
    openOrUnreadable(
      () =>
        openMessage(
          openingKey(key, sealed.keyId),
          { roomId, seq, senderId, ...(editedAt ? { editedAt: Date.parse(editedAt) } : {}), ...(kind ? { kind } : {}) },
          fromWire(sealed),
        ),
      { roomId, seq },
      deps.unreadable,
      kind,
    );

  const hasKey = (keyId: number) => key.versions.some((v) => v.keyId === keyId);
  // Sealed with a key this instance has not read yet (the room was re-keyed): the room's keys
  // are read again, then the event is delivered (the feed keeps the order whenever it comes). A
  // key id still unknown after that is damage: `open` marks the message unreadable.
  const afterKeysRead = (deliver: () => void): void =>
    void key
      .refresh()
      .catch((err: unknown) => log.warn({ err: err instanceof Error ? err.message : err }, "could not read the room's keys"))
      .then(() => {
        if (!closed) deliver();
      });

  // Client ids of this socket's sends in flight: their hub echo keeps their place in the feed
  // (the ack tells the client) instead of being sent back.
  const ownInFlight = new Set<string>();

  const changeOf = (seq: number, frame: ServerFrame): void => {
    if (seq < feed.next) return send(frame);
    laterChanges.set(seq, [...(laterChanges.get(seq) ?? []), frame]);
  };

  const onEvent = (event: HubEvent, keysRead = false): void => {
    try {
      switch (event.type) {
        case "message":
          if (event.seq < feed.next) return;
          if (event.from === userId && ownInFlight.has(event.clientId)) return feed.pass(event.seq);
          if (!keysRead && !hasKey(event.sealed.keyId)) return afterKeysRead(() => onEvent(event, true));
          return arrived({
            seq: event.seq,
            from: event.from,
            clientId: event.clientId,
            at: event.at,
            ...open(event.seq, event.from, event.sealed, undefined, event.kind),
            ...(event.replyTo !== undefined ? { replyTo: { seq: event.replyTo } } : {}),
          });
        case "edited":
          if (!keysRead && !hasKey(event.sealed.keyId)) return afterKeysRead(() => onEvent(event, true));
          return changeOf(event.seq, {
            type: "edited",
            seq: event.seq,
            at: event.at,
            ...open(event.seq, event.from, event.sealed, event.at),
          });
        case "deleted":
          return changeOf(event.seq, { type: "deleted", seq: event.seq });
        case "reaction": {
          if (!keysRead && !hasKey(event.sealed.keyId)) return afterKeysRead(() => onEvent(event, true));
          const emoji = openReaction(key, { roomId, seq: event.seq, userId: event.from }, fromWire(event.sealed));
          if (!emoji) return deps.unreadable({ roomId, seq: event.seq });
          return changeOf(event.seq, { type: "reaction", seq: event.seq, from: event.from, emoji, on: event.on });
        }
        case "typing":
          if (event.from !== userId) send({ type: "typing", from: event.from });
          return;
        case "read":
          return send({ type: "read", from: event.from, seq: event.seq });
        case "block":
          return send({ type: "block", by: event.by, blocked: event.blocked });
        case "room-deleted":
          ws.close(ROOM_DELETED_CLOSE, "the conversation was deleted");
          return;
        case "presence":
          if (event.userId !== userId)
            send({ type: "presence", userId: event.userId, online: event.online, lastSeenAt: event.lastSeenAt });
          return;
      }
    } catch (err) {
      log.error({ err }, "could not deliver a hub event");
    }
  };
  // A live reply goes out with its quote, read from the original first (the feed keeps the order
  // while it is looked up). If the lookup fails it goes with the bare number: the page shows what
  // it knows of that message.
  function arrived(message: PlainMessage): void {
    if (!message.replyTo) return feed.push(message);
    void addQuotes(key, roomId, [message], deps.unreadable)
      .catch((err: unknown) => log.warn({ err: err instanceof Error ? err.message : err }, "could not read a quoted message"))
      .finally(() => feed.push(message));
  }

  const listener: HubListener = {
    onEvent,
    onResync: () => void catchUp(feed.next - 1).catch((err: unknown) => log.warn({ err }, "resync failed")),
  };

  // --- the client's frames -----------------------------------------------------------------
  // Frames that arrive during catch-up wait until the socket is live, so none is lost.
  const waiting: Array<{ data: Buffer | ArrayBuffer | Buffer[]; isBinary: boolean }> = [];
  let accepting = false;
  let sends: Promise<void> = Promise.resolve();
  // A socket's reactions are written one after another: each is a compare-and-swap on its
  // message's list, and twenty at once on one message would mostly lose the race to each other.
  let reactions: Promise<void> = Promise.resolve();
  let refusedFrom: string | undefined;

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
      ? sends.then(() => handleSend(frame))
      : frame.type === "react"
        ? reactions.then(() => handle(frame))
        : handle(frame);
    if (frame.type === "react") reactions = done.catch(() => undefined);
    if (queued) sends = done.catch(() => undefined);
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
  await catchUp(place.after);
  if (ws.readyState !== ws.OPEN) return;

  const [room, head] = await Promise.all([roomProgress(roomId), deps.sequencer.head(roomId)]);
  // Another instance (or this one before a restart) may have written the room's activity lately.
  if (room.lastMessageAt) deps.activity.seen(roomId, room.lastMessageAt);
  send({
    type: "ready",
    upTo: Math.max(room.seq, head ?? 0, feed.next - 1),
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

  function refuse(error: { code: ErrorCode; message: string; clientId?: string }): void {
    send({ type: "error", code: error.code, message: error.message, ...(error.clientId ? { clientId: error.clientId } : {}) });
    badFrames++;
    if (badFrames >= MAX_BAD_FRAMES) ws.close(1008, "too many invalid frames");
  }

  function refused(refusal: Refusal, clientId?: string): void {
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
    if (refusedFrom !== undefined && refusedFrom !== frame.clientId)
      return refused(
        { ok: false, code: "out_of_order", message: "Waiting for an earlier message to go first.", retryAfterMs: 250 },
        frame.clientId,
      );
    ownInFlight.add(frame.clientId);
    try {
      const prepared = frame.type === "attach" ? await attachmentMessage(actor, frame) : { ok: true as const, send: frame };
      if (!prepared.ok) return refused(prepared, frame.clientId);
      const result = await sendMessage(messagesDeps, actor, prepared.send);
      if (!result.ok) {
        if (result.retryAfterMs !== undefined) refusedFrom ??= frame.clientId;
        return refused(result, frame.clientId);
      }
      if (refusedFrom === frame.clientId) refusedFrom = undefined;
      if (frame.type === "attach") await noteAttachmentSent(actor, frame.clientId, result.seq);
      feed.pass(result.seq);
      send({ type: "ack", clientId: frame.clientId, seq: result.seq, at: result.at });
    } finally {
      ownInFlight.delete(frame.clientId);
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
    clearTimeout(gapTimer);
    await deps.hub.leave(roomId, listener);
    // Seen offline means no longer counted as looking: a message sent on seeing it is pushed.
    await Promise.all([goingOnline, visible?.settled()]);
    if (online) await deps.presence.goOffline(place);
  }
}

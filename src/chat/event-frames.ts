/**
 * What a room's hub events become on one socket. Messages, edits and reactions are opened with
 * the room's key and go through the socket's delivery, in number order (delivery.ts); typing,
 * read receipts, presence and blocks are sent as they come; a deleted room closes the socket. What
 * fails authentication is reported as unreadable (history.ts), as it is when read from the store.
 */
import type { SocketLog } from "../logger.js";
import { openMessage } from "./cipher.js";
import type { Delivery } from "./delivery.js";
import { addQuotes, openOrUnreadable, type PlainMessage, type Unreadable } from "./history.js";
import type { HubEvent, HubListener, SealedWire } from "./hub.js";
import { ROOM_DELETED_CLOSE, type ServerFrame } from "./protocol.js";
import { openReaction } from "./reaction-cipher.js";
import { openingKey, type RoomKey } from "./rooms.js";
import { fromWire } from "./wire.js";

export type EventFramesContext = {
  roomId: string;
  /** The socket's user: their own typing and presence are not sent back to them. */
  userId: string;
  key: RoomKey;
  unreadable: Unreadable;
  log: SocketLog;
  delivery: Delivery;
  /** Sends a frame that needs no place in the order. */
  send(frame: ServerFrame): void;
  /** Closed when the room is deleted. */
  socket: { close(code: number, reason: string): void };
};

/** The socket's listener on its room's hub channel. */
export function eventFrames(context: EventFramesContext): HubListener {
  return new EventFrames(context);
}

/** A class, not closures: one per socket, its methods shared by all of them (decision 023). */
class EventFrames implements HubListener {
  constructor(private readonly context: EventFramesContext) {}

  onEvent(event: HubEvent, keysRead = false): void {
    const { userId, delivery, send } = this.context;
    try {
      switch (event.type) {
        case "message":
          if (event.seq < delivery.next()) return;
          if (event.from === userId && delivery.ownEcho(event.clientId, event.seq)) return;
          if (!keysRead && !this.hasKey(event.sealed.keyId)) return this.afterKeysRead(event);
          return this.arrived({
            seq: event.seq,
            from: event.from,
            clientId: event.clientId,
            at: event.at,
            ...this.open(event.seq, event.from, event.sealed, undefined, event.kind),
            ...(event.replyTo !== undefined ? { replyTo: { seq: event.replyTo } } : {}),
          });
        case "edited":
          if (!keysRead && !this.hasKey(event.sealed.keyId)) return this.afterKeysRead(event);
          return delivery.change(event.seq, {
            type: "edited",
            seq: event.seq,
            at: event.at,
            ...this.open(event.seq, event.from, event.sealed, event.at),
          });
        case "deleted":
          return delivery.change(event.seq, { type: "deleted", seq: event.seq });
        case "reaction": {
          if (!keysRead && !this.hasKey(event.sealed.keyId)) return this.afterKeysRead(event);
          const { key, roomId } = this.context;
          const emoji = openReaction(key, { roomId, seq: event.seq, userId: event.from }, fromWire(event.sealed));
          if (!emoji) return this.context.unreadable({ roomId, seq: event.seq });
          return delivery.change(event.seq, { type: "reaction", seq: event.seq, from: event.from, emoji, on: event.on });
        }
        case "typing":
          if (event.from !== userId) send({ type: "typing", from: event.from });
          return;
        case "read":
          return send({ type: "read", from: event.from, seq: event.seq });
        case "block":
          return send({ type: "block", by: event.by, blocked: event.blocked });
        case "room-deleted":
          return this.context.socket.close(ROOM_DELETED_CLOSE, "the conversation was deleted");
        case "presence":
          if (event.userId !== userId)
            send({ type: "presence", userId: event.userId, online: event.online, lastSeenAt: event.lastSeenAt });
          return;
      }
    } catch (err) {
      this.context.log.error({ err }, "could not deliver a hub event");
    }
  }

  /** Redis was away: events may have been missed, so read what is stored past what was delivered. */
  onResync(): void {
    const { delivery, log } = this.context;
    void delivery.catchUp(delivery.next() - 1).catch((err: unknown) => log.warn({ err }, "resync failed"));
  }

  private open(seq: number, senderId: string, sealed: SealedWire, editedAt?: string, kind?: string) {
    const { key, roomId, unreadable } = this.context;
    return openOrUnreadable(
      () =>
        openMessage(
          openingKey(key, sealed.keyId),
          { roomId, seq, senderId, ...(editedAt ? { editedAt: Date.parse(editedAt) } : {}), ...(kind ? { kind } : {}) },
          fromWire(sealed),
        ),
      { roomId, seq },
      unreadable,
      kind,
    );
  }

  private hasKey(keyId: number): boolean {
    return this.context.key.versions.some((v) => v.keyId === keyId);
  }

  // Sealed with a key this instance has not read yet (the room was re-keyed): the room's keys
  // are read again, then the event is delivered (the feed keeps the order whenever it comes). A
  // key id still unknown after that is damage: `open` marks the message unreadable.
  private afterKeysRead(event: HubEvent): void {
    const { key, log, delivery } = this.context;
    void key
      .refresh()
      .catch((err: unknown) => log.warn({ err: err instanceof Error ? err.message : err }, "could not read the room's keys"))
      .then(() => {
        if (!delivery.stopped()) this.onEvent(event, true);
      });
  }

  // A live reply goes out with its quote, read from the original first (the feed keeps the order
  // while it is looked up). If the lookup fails it goes with the bare number: the page shows what
  // it knows of that message.
  private arrived(message: PlainMessage): void {
    const { key, roomId, unreadable, log, delivery } = this.context;
    if (!message.replyTo) return delivery.push(message);
    void addQuotes(key, roomId, [message], unreadable)
      .catch((err: unknown) => log.warn({ err: err instanceof Error ? err.message : err }, "could not read a quoted message"))
      .finally(() => delivery.push(message));
  }
}

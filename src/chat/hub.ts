/**
 * Fan-out between app instances over Redis pub/sub. One subscriber connection per process;
 * a room's channel is subscribed when its first local socket arrives and unsubscribed when the
 * last one leaves (no pattern subscriptions). Events are delivered to local sockets at once and
 * published for the other instances, prefixed with the publisher's id (16 hex characters), so
 * each instance drops its own echoes unparsed. Message events carry only
 * ciphertext: no plaintext ever reaches Redis.
 *
 * If Redis drops, sends still persist (MongoDB) and are acknowledged; when the subscriber is back,
 * every local listener is told to resync, and fetches what it missed from MongoDB.
 */
import { randomBytes } from "node:crypto";
import type { Redis } from "ioredis";
import type { Logger } from "../logger.js";

export type SealedWire = { v: number; keyId: number; iv: string; ct: string; mac: string };

export type HubEvent =
  | {
      type: "message";
      roomId: string;
      seq: number;
      from: string;
      clientId: string;
      at: string;
      sealed: SealedWire;
      /** Absent for text; "attachment" for a file (the MAC binds it). */
      kind?: string;
      /** The number of the message it answers. */
      replyTo?: number;
    }
  | { type: "edited"; roomId: string; seq: number; from: string; at: string; sealed: SealedWire }
  | { type: "deleted"; roomId: string; seq: number }
  /** The emoji is sealed (bound to room, message, member and kind "reaction"), as text is. */
  | { type: "reaction"; roomId: string; seq: number; from: string; on: boolean; sealed: SealedWire }
  | { type: "typing"; roomId: string; from: string }
  | { type: "read"; roomId: string; from: string; seq: number }
  | { type: "presence"; roomId: string; userId: string; online: boolean; lastSeenAt: string | null }
  | { type: "block"; roomId: string; by: string; blocked: boolean }
  | { type: "room-deleted"; roomId: string; by: string }
  /** On a user's inbox channel (inbox-socket.ts): `room` is now in their list. */
  | { type: "room-opened"; roomId: string; room: string };

export type HubListener = { onEvent(event: HubEvent): void; onResync(): void };

export type Hub = {
  join(roomId: string, listener: HubListener): Promise<void>;
  leave(roomId: string, listener: HubListener): Promise<void>;
  /**
   * Delivers locally now and to other instances through Redis. Resolves once Redis has taken it,
   * or it failed (logged: peers catch up); never rejects.
   */
  publish(event: HubEvent): Promise<void>;
  close(): Promise<void>;
};

/** An event as an instance publishes it: the instance's 16-character id, then the event as JSON. */
export const hubPayload = (origin: string, event: HubEvent): string => {
  if (origin.length !== 16) throw new Error("an instance id is 16 characters");
  return origin + JSON.stringify(event);
};

const CHANNEL_PREFIX = "duet:room:";
const channelOf = (roomId: string) => `${CHANNEL_PREFIX}${roomId}`;

export function createHub(publisher: Redis, subscriber: Redis, log: Logger): Hub {
  const origin = randomBytes(8).toString("hex");
  const rooms = new Map<string, Set<HubListener>>();
  let hadOutage = false;

  const deliver = (event: HubEvent) => {
    for (const listener of rooms.get(event.roomId) ?? []) listener.onEvent(event);
  };

  subscriber.on("message", (channel: string, raw: string) => {
    // The subscriber connection is shared with other listeners (ended sessions). This instance's
    // own events were delivered when published: dropped by their prefix, before any parsing.
    if (!channel.startsWith(CHANNEL_PREFIX) || raw.startsWith(origin)) return;
    try {
      deliver(JSON.parse(raw.slice(origin.length)) as HubEvent);
    } catch (err) {
      log.warn({ err }, "unreadable hub event");
    }
  });
  subscriber.on("close", () => (hadOutage = true));
  subscriber.on("ready", () => {
    if (!hadOutage) return;
    hadOutage = false;
    // ioredis re-subscribes by itself; what arrived meanwhile is fetched from MongoDB.
    for (const listeners of rooms.values()) for (const listener of listeners) listener.onResync();
  });

  return {
    async join(roomId, listener) {
      let listeners = rooms.get(roomId);
      if (!listeners) {
        listeners = new Set();
        rooms.set(roomId, listeners);
        await subscriber
          .subscribe(channelOf(roomId))
          .catch((err: unknown) => log.warn({ err }, "subscribe failed; will catch up"));
      }
      listeners.add(listener);
    },
    async leave(roomId, listener) {
      const listeners = rooms.get(roomId);
      if (!listeners) return;
      listeners.delete(listener);
      if (listeners.size === 0) {
        rooms.delete(roomId);
        await subscriber.unsubscribe(channelOf(roomId)).catch(() => undefined);
      }
    },
    publish(event) {
      deliver(event);
      const sent = publisher.publish(channelOf(event.roomId), hubPayload(origin, event)).then(
        () => undefined,
        (err: unknown) => {
          log.warn(
            { err: err instanceof Error ? err.message : err, type: event.type },
            "hub publish failed; peers will catch up",
          );
        },
      );
      // While Redis is away the publish waits in ioredis's offline queue: nobody should wait on
      // it (peers resync from MongoDB when it is back).
      return publisher.status === "ready" ? sent : Promise.resolve();
    },
    async close() {
      rooms.clear();
      await subscriber.quit().catch(() => undefined);
    },
  };
}

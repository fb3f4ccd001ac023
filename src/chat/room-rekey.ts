/**
 * Room re-keying: a new data key for a room's new messages. Master-key rotation (key-rotation.ts)
 * only rewraps the room keys, so a room key that leaked, or an old master key together with an
 * old backup, would go on opening every future message; after a re-key, messages sealed from then
 * on need the new key. Older messages keep naming the version they were sealed with and still
 * open (the room keeps every version until the room is deleted).
 *
 * Instances learn of a re-key from ROOM_KEY_CHANNEL and read the room's keys again at once; one
 * that missed it reads them when a message names a version it lacks, or when its cached copy is
 * older than the cache's limit (rooms.ts).
 */
import type { Redis } from "ioredis";
import type { Logger } from "../logger.js";
import { repeatEvery } from "../repeat.js";
import { generateDataKey, wrapDataKey, type MasterKey } from "./cipher.js";
import { RoomModel } from "./room.model.js";

export const ROOM_KEY_CHANNEL = "duet:room-keys";

/** Adds a new data key to the room; answers its version, or undefined if the room has no keys. */
export async function rekeyRoom(master: MasterKey, roomId: string, now = new Date()): Promise<number | undefined> {
  for (let attempt = 0; attempt < 3; attempt++) {
    const room = await RoomModel.findById(roomId, { key: 1, keyId: 1, keys: 1 }).lean();
    if (!room?.key) return undefined;
    const newest = Math.max(room.keyId ?? 1, ...(room.keys ?? []).map((v) => v.keyId));
    const keyId = newest + 1;
    // Conditional on no version `keyId` yet: of two re-keys at once, one adds it, the other reads
    // again and adds the next.
    const result = await RoomModel.updateOne(
      { _id: roomId, "keys.keyId": { $ne: keyId } },
      { $push: { keys: { keyId, key: wrapDataKey(master, roomId, generateDataKey()) } }, $set: { keyRotatedAt: now } },
    );
    if (result.modifiedCount === 1) return keyId;
  }
  throw new Error(`room ${roomId} is being re-keyed by someone else; try again`);
}

/**
 * Re-keys up to `limit` rooms whose newest key was made before `olderThan` (rooms made before
 * re-keying existed count from their creation); answers the rooms re-keyed.
 */
export async function rekeyDueRooms(master: MasterKey, olderThan: Date, limit = 100): Promise<string[]> {
  const due = await RoomModel.find(
    {
      key: { $exists: true },
      deletedAt: { $exists: false },
      $or: [{ keyRotatedAt: { $lt: olderThan } }, { keyRotatedAt: { $exists: false }, createdAt: { $lt: olderThan } }],
    },
    { _id: 1 },
  )
    .limit(limit)
    .lean();
  const done: string[] = [];
  for (const room of due) if ((await rekeyRoom(master, room._id)) !== undefined) done.push(room._id);
  return done;
}

/** Tells every instance to read these rooms' keys again. */
export async function announceRekeys(redis: Redis, roomIds: readonly string[]): Promise<void> {
  for (const roomId of roomIds) await redis.publish(ROOM_KEY_CHANNEL, roomId);
}

/** Calls `reload` for each room whose re-key another process announced. */
export function followRekeys(subscriber: Redis, reload: (roomId: string) => Promise<void>, log: Logger): () => Promise<void> {
  const onMessage = (channel: string, roomId: string) => {
    if (channel !== ROOM_KEY_CHANNEL) return;
    reload(roomId).catch((err: unknown) =>
      log.warn({ err: err instanceof Error ? err.message : err, roomId }, "could not read a re-keyed room's keys"),
    );
  };
  subscriber.on("message", onMessage);
  void subscriber
    .subscribe(ROOM_KEY_CHANNEL)
    .catch((err: unknown) => log.warn({ err: err instanceof Error ? err.message : err }, "could not follow re-keys"));
  return async () => {
    subscriber.off("message", onMessage);
    await subscriber.unsubscribe(ROOM_KEY_CHANNEL).catch(() => undefined);
  };
}

/**
 * Re-keys due rooms every `everyMs` on this instance (several instances may run it: each room is
 * re-keyed once, by whoever gets there first) and announces them.
 */
export function scheduleRekeys(options: {
  master: MasterKey;
  maxAgeMs: number;
  everyMs: number;
  redis: Redis;
  log: Logger;
}): () => void {
  const { master, maxAgeMs, everyMs, redis, log } = options;
  return repeatEvery(
    everyMs,
    async () => {
      const done = await rekeyDueRooms(master, new Date(Date.now() - maxAgeMs));
      if (done.length > 0) {
        await announceRekeys(redis, done);
        log.info({ rooms: done.length }, "re-keyed rooms whose key had reached its age");
      }
    },
    (err) => log.warn({ err: err instanceof Error ? err.message : err }, "scheduled re-keying failed; will try again"),
  );
}
